// Each run's logs live in .deploy/ENV/logs/STAMP/, one file per stage. A run's directory
// is created first, unique even when two runs start in the same second, and only then
// are old runs pruned, so a failure never leaves an environment with fewer logs.

import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeStateDir, stateFileError } from './files.ts';

/** Runs whose logs are kept per environment, this one included. */
export const KEPT_RUNS = 20;

/** A timestamp that sorts and is safe in a path: 2026-11-22T10-04-05Z. */
export function runStamp(date = new Date()): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

/** Creates this run's log directory and prunes the oldest beyond KEPT_RUNS; returns the directory. */
export async function openRunLogs(stateDir: string, options: { prune: boolean; now?: Date }): Promise<string> {
  const logsDir = join(stateDir, 'logs');
  await makeStateDir(logsDir, 'the logs directory');
  const stamp = runStamp(options.now);
  for (let attempt = 1; ; attempt++) {
    // "Z" sorts before "Z-2", so a second run in the same second still sorts after the first.
    const dir = join(logsDir, attempt === 1 ? stamp : `${stamp}-${attempt}`);
    try {
      await mkdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
      throw stateFileError(error, dir, "this run's log directory");
    }
    if (options.prune) await pruneRunLogs(logsDir, KEPT_RUNS);
    return dir;
  }
}

/** Removes all but the newest `keep` run directories; returns what was removed. A directory that cannot be removed stays. */
export async function pruneRunLogs(logsDir: string, keep = KEPT_RUNS): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(logsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const runs = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const old = runs.slice(0, Math.max(0, runs.length - keep));
  const removed: string[] = [];
  for (const name of old) {
    // Old logs are a convenience: one that cannot be removed (immutable, permissions) is kept, not fatal.
    await rm(join(logsDir, name), { recursive: true, force: true }).then(
      () => removed.push(name),
      () => {},
    );
  }
  return removed;
}
