// Old run logs are pruned, newest kept.

import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { pruneRunLogs } from '../../pipeline/state/run-logs.ts';
import { suite } from '../support/suite.ts';

const Retention = suite<{ dir: string }>('pruneRunLogs');

Retention.before.each(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-logs-'));
  for (const stamp of [
    '2026-11-22T10-00-03Z',
    '2026-11-22T10-00-01Z',
    '2026-11-22T10-00-02Z',
    '2026-11-21T09-00-00Z',
  ]) {
    await mkdir(join(context.dir, stamp));
  }
});

Retention.after.each(async (context) => {
  await rm(context.dir, { recursive: true, force: true });
});

Retention('keeps the newest runs by their timestamp names and removes the rest', async (context) => {
  const removed = await pruneRunLogs(context.dir, 2);
  assert.equal(removed, ['2026-11-21T09-00-00Z', '2026-11-22T10-00-01Z']);
  assert.equal((await readdir(context.dir)).sort(), ['2026-11-22T10-00-02Z', '2026-11-22T10-00-03Z']);
});

Retention('does nothing when there are fewer runs than kept, or no logs directory', async (context) => {
  assert.equal(await pruneRunLogs(context.dir, 10), []);
  assert.equal(await pruneRunLogs(join(context.dir, 'missing'), 1), []);
});

Retention.run();
