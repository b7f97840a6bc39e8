// Which runner bin/bakery.js starts: the compiled one in dist/ (made by `npm run build`;
// `npm pack` runs it), unless this is a checkout whose pipeline/ sources changed after
// that build, which then runs from its sources through tsx, so that an edit is never
// shadowed by a stale build. Plain JavaScript: it runs before anything is compiled.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Modification time of a path in ms, or undefined when it is not there. */
function mtimeOf(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Whether some .ts file under dir changed after `since` (ms); false when dir is not there (an installed package). */
function changedSince(dir, since) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  return entries.some((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return changedSince(path, since);
    return entry.name.endsWith('.ts') && (mtimeOf(path) ?? 0) > since;
  });
}

/** 'compiled' or 'sources', for the installation at `root`. */
export function chooseRunner(root) {
  const built = mtimeOf(join(root, 'dist', '.built'));
  return built !== undefined && !changedSince(join(root, 'pipeline'), built) ? 'compiled' : 'sources';
}
