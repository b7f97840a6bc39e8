import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { isCi } from '../../pipeline/ci.ts';
import { assertRemoteStateInCi } from '../../pipeline/config/ci-guard.ts';
import { chooseOutputMode } from '../../pipeline/output/reporters.ts';
import type { AwsEnvironment, Environment } from '../../pipeline/config/schema.ts';
import { UsageError } from '../../pipeline/errors.ts';
import { awsEnvironment as awsEnvironmentOf } from '../helpers/aws-io.ts';
import { thrownBy } from '../support/fakes.ts';
import { makeTempDir, removeDir, runCli } from '../support/files.ts';
import { suite } from '../support/suite.ts';

function awsEnvironment(backend: 'local' | 's3'): AwsEnvironment {
  const state =
    backend === 's3' ? { backend: 's3' as const, bucket: 'demo-terraform-state' } : { backend: 'local' as const };
  return awsEnvironmentOf({ state }, { name: 'prod' });
}

const localEnvironment = {
  ...awsEnvironment('local'),
  name: 'local',
  target: 'local',
  local: { port: 8080, base_image: 'debian:bookworm' },
} as unknown as Environment;

const refusal = (run: () => void): UsageError => thrownBy(UsageError, run);

const guard = suite('assertRemoteStateInCi refuses local Terraform state in CI');

guard('refuses an aws environment with backend local when CI is set, naming the field', () => {
  const error = refusal(() => assertRemoteStateInCi(awsEnvironment('local'), { CI: 'true' }));
  assert.is(error.exitCode, 2);
  assert.is(error.message.split(':')[0], 'environments.prod.aws.state.backend');
  assert.match(error.message, 'environments.prod.aws.state.backend: "local" cannot be used from CI: ');
  assert.match(error.details.join('\n'), 'set backend: s3');
});

guard('allows backend s3 in CI', () => {
  assertRemoteStateInCi(awsEnvironment('s3'), { CI: 'true' });
});

guard('allows local state outside CI, where .deploy/ persists', () => {
  assertRemoteStateInCi(awsEnvironment('local'), {});
  assertRemoteStateInCi(awsEnvironment('local'), { CI: 'false' });
  assertRemoteStateInCi(awsEnvironment('local'), { CI: '' });
});

guard('does not concern the local target', () => {
  assertRemoteStateInCi(localEnvironment, { CI: 'true' });
});

guard('reads CI as set for any value but empty or false', () => {
  assert.ok(isCi({ CI: 'true' }));
  assert.ok(isCi({ CI: '1' }));
  assert.not.ok(isCi({ CI: 'FALSE' }));
  assert.not.ok(isCi({}));
});

guard('agrees with the output mode on what counts as CI', () => {
  for (const value of ['true', '1', 'yes', 'False', 'FALSE', 'false', '', undefined]) {
    const env = value === undefined ? {} : { CI: value };
    const plainOutput = chooseOutputMode({ json: false, isTTY: true, env }) === 'plain';
    let refused = false;
    try {
      assertRemoteStateInCi(awsEnvironment('local'), env);
    } catch (error) {
      assert.instance(error, UsageError);
      refused = true;
    }
    assert.is(plainOutput, refused, `CI=${String(value)}: plain output ${plainOutput}, local state refused ${refused}`);
  }
});

guard.run();

const cli = suite<{ dir: string; config: string }>(
  'deploy.ts and destroy.ts stop at the CI guard before anything starts',
);

cli.before.each((context) => {
  context.dir = makeTempDir('bakery-ci-guard-');
  context.config = join(context.dir, 'deploy.yaml');
  writeFileSync(
    context.config,
    [
      'app: demo',
      'environments:',
      '  prod:',
      '    target: aws',
      '    aws:',
      '      region: eu-west-1',
      '      state: { backend: local }',
      '',
    ].join('\n'),
  );
});
cli.after.each((context) => removeDir(context.dir));

cli('deploy exits 2 with the field path, even for a dry run', async (context) => {
  const result = await runCli('deploy.ts', ['prod', '--dry-run', '--config', context.config], { CI: 'true' });
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'environments.prod.aws.state.backend: "local" cannot be used from CI');
});

cli('destroy exits 2 too: it would find no state and remove nothing', async (context) => {
  const result = await runCli('destroy.ts', ['prod', '--yes', '--config', context.config], { CI: 'true' });
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'environments.prod.aws.state.backend: "local" cannot be used from CI');
});

cli.run();
