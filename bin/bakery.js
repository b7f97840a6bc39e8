#!/usr/bin/env node
// bakery's executable: `bakery COMMAND [ENV] [flags]`. ./deploy.ts, ./destroy.ts,
// ./status.ts and ./run.ts are links to this file; started through one of them, the
// link's name is the command.
//
// It runs the compiled runner (dist/, made by `npm run build`, which `npm ci` and
// `npm pack` run). In a checkout whose pipeline/ sources changed after the last build,
// it runs those sources through tsx instead, so an edit is never shadowed by a stale
// build. Plain JavaScript, so that nothing has to be compiled to start it.

import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ALIASES = { 'deploy.ts': 'deploy', 'destroy.ts': 'destroy', 'status.ts': 'status', 'run.ts': 'run' };

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

async function loadCli() {
  const built = mtimeOf(join(root, 'dist', '.built'));
  if (built !== undefined && !changedSince(join(root, 'pipeline'), built)) {
    // Error positions and stack traces point at the .ts files, through dist's source maps.
    process.setSourceMapsEnabled(true);
    return import('../dist/pipeline/cli/main.js');
  }
  // Started with tsx's loader already (the tooling container does that): no second one.
  if (!process.execArgv.some((arg) => arg.includes('tsx'))) (await import('tsx/esm/api')).register();
  return import('../pipeline/cli/main.ts');
}

const alias = ALIASES[basename(process.argv[1] ?? '')];
const argv = alias ? [alias, ...process.argv.slice(2)] : process.argv.slice(2);
const { startBakery } = await loadCli();
await startBakery(argv);
