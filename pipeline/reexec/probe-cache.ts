// Tool versions do not change between runs unless the binary does, and asking
// `ansible-playbook --version` costs over a second: the answers are cached per user,
// keyed by the executable's path, size and modification time.

import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { findExecutable } from '../process/which.ts';
import type { VersionProbe } from './tools.ts';

type Cache = Record<string, string>;

export function defaultCacheFile(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bakery', 'tool-versions.json');
}

function readCache(file: string): Cache {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Cache;
  } catch {
    return {};
  }
}

/** Wraps a probe so that an unchanged executable (found on `searchPath`, the probe's PATH) is not run again. */
export function cachedProbe(probe: VersionProbe, searchPath: string | undefined, file: string): VersionProbe {
  return async (tool, args) => {
    const path = findExecutable(tool, searchPath);
    if (!path) return probe(tool, args);
    const info = statSync(path);
    const key = `${path}|${info.size}|${info.mtimeMs}|${args.join(' ')}`;
    const cache = readCache(file);
    const hit = cache[key];
    if (hit !== undefined) return hit;
    const output = await probe(tool, args);
    if (output === undefined) return output;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ ...readCache(file), [key]: output }));
    } catch {
      // A cache that cannot be written only costs time.
    }
    return output;
  };
}
