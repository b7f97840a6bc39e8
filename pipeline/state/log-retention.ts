// Logs of old runs are pruned so .deploy/ENV/logs does not grow without bound: the
// newest runs are kept (their directory names are timestamps, which sort by time).

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const KEPT_RUNS = 20;

/** Removes all but the newest `keep` run directories; returns what was removed. */
export async function pruneRunLogs(logsDir: string, keep = KEPT_RUNS): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(logsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const runs = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  const old = runs.slice(0, Math.max(0, runs.length - keep));
  await Promise.all(old.map((name) => rm(join(logsDir, name), { recursive: true, force: true })));
  return old;
}
