// The aws target's files under .deploy/ENV/ (pipeline/targets/aws/state-files.ts): a missing
// file is "nothing applied yet", a corrupt one is a StateFileError naming the file, never
// treated as missing. And an explanation that cannot be read is said, not dropped.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeInstanceRefreshesCommand } from '@aws-sdk/client-auto-scaling';
import * as assert from 'uvu/assert';
import { DeployError, StateFileError } from '../../pipeline/errors.ts';
import { waitForRefresh } from '../../pipeline/targets/aws/refresh.ts';
import { localStateHasResources, readInputs } from '../../pipeline/targets/aws/state-files.ts';
import { mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Files = suite<{ dir: string }>('aws state files');

Files.before.each(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-aws-files-'));
});

Files.after.each(async (context) => {
  await rm(context.dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<StateFileError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(error, StateFileError);
  return error as StateFileError;
}

Files('missing inputs are undefined; a corrupt or foreign file is an error naming it', async ({ dir }) => {
  const file = join(dir, 'terraform.tfvars.json');
  assert.is(await readInputs(file), undefined);
  await writeFile(file, '{"image": {"id": "ami-1"');
  const corrupt = await failure(readInputs(file));
  assert.match(corrupt.message, new RegExp(`^the Terraform inputs ${file} is not valid JSON: `));
  assert.match(corrupt.details.join('\n'), /remove it: the next deploy writes it again/);
  await writeFile(file, '{"name": "x"}');
  assert.match((await failure(readInputs(file))).message, /lack image\.id: it was not written by bakery/);
  await writeFile(file, JSON.stringify({ image: { id: 'ami-1', root_device_name: '/dev/xvda' } }));
  assert.is((await readInputs(file))?.image.id, 'ami-1');
});

Files('a corrupt local state is an error, not "no resources" (destroy would skip them)', async ({ dir }) => {
  const file = join(dir, 'terraform.tfstate');
  assert.is(await localStateHasResources(file), false);
  await writeFile(file, '');
  assert.is(await localStateHasResources(file), false, 'an empty file is what Terraform leaves before its first write');
  await writeFile(file, '{"version": 4, "resources": [{"mode": "managed"');
  const error = await failure(localStateHasResources(file));
  assert.match(error.message, /the Terraform state .* is not valid JSON/);
  assert.match(error.details.join('\n'), /terraform\.tfstate\.backup/);
  await writeFile(file, '{"version": 4, "resources": {}}');
  assert.match((await failure(localStateHasResources(file))).message, /has no resources list/);
});

Files('a state file that cannot be read is an error, not missing', async ({ dir }) => {
  // A directory where the file should be: reading it fails with EISDIR, not ENOENT.
  const error = await failure(readInputs(dir));
  assert.match(error.message, /^cannot read the Terraform inputs .*EISDIR/);
});

Files('a refresh failure whose target health cannot be read says so', async () => {
  const mocks = mockedClients();
  try {
    mocks.autoscaling
      .on(DescribeInstanceRefreshesCommand)
      .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'r1', Status: 'Failed', StatusReason: 'boom' }] });
    const error = await waitForRefresh(recordingIO(), {
      clients: mocks.clients,
      asgName: 'g',
      refreshId: 'r1',
      pollMs: 1,
      deadlineMs: 5_000,
      explain: () => Promise.reject(new Error('elasticloadbalancing:DescribeTargetHealth failed: AccessDenied')),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(error, DeployError);
    assert.ok(
      (error as DeployError).details.includes(
        'target health could not be read: elasticloadbalancing:DescribeTargetHealth failed: AccessDenied',
      ),
      (error as DeployError).details.join('\n'),
    );
  } finally {
    mocks.restore();
  }
});

Files.run();
