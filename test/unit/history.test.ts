// The deploy history: appended one line per run, read back oldest first, and the
// released images (what retention keeps and rollback goes back to) taken from it.

import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { StateFileError } from '../../pipeline/errors.ts';
import {
  appendHistory,
  currentActor,
  historyPath,
  readHistory,
  releasedImages,
  type HistoryEntry,
} from '../../pipeline/state/history.ts';
import { suite } from '../support/suite.ts';

const History = suite<{ dir: string }>('history');

History.before.each(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-history-'));
});

History.after.each(async (context) => {
  await chmod(context.dir, 0o755).catch(() => {});
  await rm(context.dir, { recursive: true, force: true });
});

const entry = (overrides: Partial<HistoryEntry>): HistoryEntry => ({
  command: 'deploy',
  env: 'local',
  target: 'local',
  started_at: '2026-12-02T10:00:00.000Z',
  seconds: 12.5,
  who: 'ops@laptop',
  outcome: 'succeeded',
  exit_code: 0,
  ...overrides,
});

History('appends one line per run and reads them back oldest first', async ({ dir }) => {
  await appendHistory(dir, entry({ image: 'sha256:a' }));
  await appendHistory(dir, entry({ image: 'sha256:b', outcome: 'failed', exit_code: 1, error: 'verify timed out' }));
  const text = await readFile(historyPath(dir), 'utf8');
  assert.is(text.split('\n').filter(Boolean).length, 2);
  const read = await readHistory(dir);
  assert.equal(
    read.map((e) => [e.image, e.outcome]),
    [
      ['sha256:a', 'succeeded'],
      ['sha256:b', 'failed'],
    ],
  );
});

History('a missing file is an empty history; a cut-off line is skipped, the others count', async ({ dir }) => {
  assert.equal(await readHistory(dir), []);
  await writeFile(historyPath(dir), `${JSON.stringify(entry({ image: 'sha256:a' }))}\n{"command":"dep`);
  assert.equal(
    (await readHistory(dir)).map((e) => e.image),
    ['sha256:a'],
  );
});

History('an unwritable history is a StateFileError naming the file', async ({ dir }) => {
  if (process.getuid?.() === 0) {
    // root ignores permission bits: make the path a directory instead.
    await rm(historyPath(dir), { force: true });
    await chmod(dir, 0o755);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(historyPath(dir));
  } else {
    await chmod(dir, 0o500);
  }
  try {
    await appendHistory(dir, entry({}));
    assert.unreachable('expected a StateFileError');
  } catch (error) {
    assert.instance(error, StateFileError);
    assert.match((error as StateFileError).details.join('\n'), historyPath(dir));
  }
});

History('released images: successful deploys and rollbacks, newest first, each once', () => {
  const history = [
    entry({ image: 'a' }),
    entry({ image: 'b' }),
    entry({ image: 'c', outcome: 'failed', exit_code: 1 }),
    entry({ image: 'a', command: 'rollback' }),
    entry({ command: 'destroy' }),
    entry({ image: 'd', outcome: 'interrupted', exit_code: 130 }),
  ];
  assert.equal(releasedImages(history), ['a', 'b']);
});

History('who: user@host outside CI, the job in CI', () => {
  assert.match(currentActor({ USER: 'ops' }), /^ops@/);
  assert.match(
    currentActor({ USER: 'jenkins', CI: 'true', BUILD_URL: 'https://ci/job/7/' }),
    /^ci: https:\/\/ci\/job\/7\/ \(jenkins@/,
  );
  assert.match(
    currentActor({ USER: 'runner', CI: 'true', GITHUB_RUN_ID: '99', GITHUB_REPOSITORY: 'o/r' }),
    /^ci: github o\/r run 99/,
  );
});

History.run();
