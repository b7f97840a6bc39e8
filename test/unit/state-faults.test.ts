// Filesystem faults under .deploy/: the record is written whole or not at all and a
// failure names the path; a log the disk cannot take is reported as incomplete.

import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { StateFileError } from '../../pipeline/errors.ts';
import { Interrupts } from '../../pipeline/process/interrupts.ts';
import { Redactor } from '../../pipeline/process/redact.ts';
import { ProcessRunner } from '../../pipeline/process/runner.ts';
import { readDeploymentRecord, recordPath, writeDeploymentRecord } from '../../pipeline/state/record.ts';
import { RecordingReporter } from '../support/fakes.ts';
import { suite } from '../support/suite.ts';

const Faults = suite<{ dir: string }>('state file faults');

Faults.before.each(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-faults-'));
});

Faults.after.each(async (context) => {
  await rm(context.dir, { recursive: true, force: true });
});

const record = {
  env: 'local',
  target: 'local',
  image: 'sha256:new',
  fingerprint: 'f',
  url: 'http://127.0.0.1:1/',
  deployed_at: '2026-12-02T00:00:00.000Z',
};

Faults('a record that cannot be written is a StateFileError naming the path, and leaves no draft', async ({ dir }) => {
  // A directory where the record belongs: rename() cannot replace it.
  await mkdir(recordPath(dir));
  const error = await writeDeploymentRecord(dir, record).catch((e: unknown) => e);
  assert.instance(error, StateFileError);
  assert.match((error as StateFileError).message, /^could not write the deployment record: .*\(EISDIR\)$/);
  assert.equal((error as StateFileError).details, [`path: ${recordPath(dir)}`]);
  assert.equal(await readdir(dir), ['deployment.json']);
});

Faults('a record is written whole and read back', async ({ dir }) => {
  await writeDeploymentRecord(dir, record);
  assert.equal(await readDeploymentRecord(dir), record);
  assert.equal(await readdir(dir), ['deployment.json']);
});

Faults('a log the disk cannot take is reported as incomplete when the runner closes', async ({ dir }) => {
  const reporter = new RecordingReporter();
  const runner = new ProcessRunner({
    logDir: dir,
    reporter,
    redactor: new Redactor({ PATH: '/usr/bin' }),
    interrupts: new Interrupts(),
  });
  // /dev/full answers every write with ENOSPC, like a full disk.
  await symlink('/dev/full', runner.logPath('bake'));
  const result = await runner.run('bake', { tool: 'bash', args: ['-c', 'echo baking; echo more'] });
  assert.is(result.exitCode, 0);
  const warnings = await runner.close();
  assert.equal(warnings, [`log ${runner.logPath('bake')} is incomplete: the disk is full (ENOSPC)`]);
  // A complete log is not mentioned.
  const other = new ProcessRunner({
    logDir: dir,
    reporter,
    redactor: new Redactor({ PATH: '/usr/bin' }),
    interrupts: new Interrupts(),
  });
  await other.run('verify', { tool: 'bash', args: ['-c', 'echo fine'] });
  assert.equal(await other.close(), []);
});

Faults.run();
