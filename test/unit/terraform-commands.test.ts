// The aws target's terraform calls as data (pipeline/targets/aws/terraform-commands.ts)
// and how terraform.ts runs them: the exact argv, built without running Terraform.

import * as assert from 'uvu/assert';
import {
  LOCK_TIMEOUT,
  terraformApply,
  terraformDestroy,
  terraformInit,
  terraformOutput,
  terraformPlan,
  terraformShowPlan,
  terraformStateList,
} from '../../pipeline/targets/aws/terraform-commands.ts';
import { backendConfig, inWorkDir, terraformLayout } from '../../pipeline/targets/aws/terraform.ts';
import { awsEnvironment } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const layout = terraformLayout('/opt/bakery/terraform', '/project/.deploy/staging');

const Argv = suite('terraform argv');

Argv('init passes the local backend path as -backend-config', () => {
  assert.equal(terraformInit({ path: layout.localState }), {
    tool: 'terraform',
    args: [
      'init',
      '-input=false',
      '-no-color',
      '-lock-timeout=5m',
      '-backend-config=path=/project/.deploy/staging/terraform.tfstate',
    ],
  });
});

Argv('init renders every s3 backend setting, in order', () => {
  const backend = backendConfig(
    awsEnvironment({ state: { backend: 's3', bucket: 'demo-state', key: 'demo/staging.tfstate' } }),
    layout,
  );
  const args = terraformInit(backend.settings).args;
  assert.equal(args.slice(0, 4), ['init', '-input=false', '-no-color', '-lock-timeout=5m']);
  assert.ok(args.includes('-backend-config=bucket=demo-state'));
  assert.ok(args.includes('-backend-config=use_lockfile=true'));
  assert.ok(args.slice(4).every((arg) => arg.startsWith('-backend-config=')));
});

Argv('a real plan waits for the lock; a dry-run plan takes none', () => {
  assert.equal(terraformPlan({ varFile: layout.varFile, planFile: layout.planFile, lock: true }).args, [
    'plan',
    '-input=false',
    '-no-color',
    `-lock-timeout=${LOCK_TIMEOUT}`,
    '-var-file=/project/.deploy/staging/terraform.tfvars.json',
    '-out=/project/.deploy/staging/terraform/tfplan',
  ]);
  assert.equal(terraformPlan({ varFile: layout.dryRunVarFile, planFile: layout.dryRunPlanFile, lock: false }).args, [
    'plan',
    '-input=false',
    '-no-color',
    '-lock=false',
    '-var-file=/project/.deploy/staging/terraform.dry-run.tfvars.json',
    '-out=/project/.deploy/staging/terraform-dry-run/tfplan',
  ]);
});

Argv('apply applies exactly the saved plan; show reads it as JSON', () => {
  assert.equal(terraformShowPlan(layout.planFile).args, [
    'show',
    '-json',
    '-no-color',
    '/project/.deploy/staging/terraform/tfplan',
  ]);
  assert.equal(terraformApply(layout.planFile).args, [
    'apply',
    '-input=false',
    '-no-color',
    '-lock-timeout=5m',
    '/project/.deploy/staging/terraform/tfplan',
  ]);
});

Argv('destroy, outputs and the state list', () => {
  assert.equal(terraformDestroy(layout.varFile).args, [
    'destroy',
    '-auto-approve',
    '-input=false',
    '-no-color',
    '-lock-timeout=5m',
    '-var-file=/project/.deploy/staging/terraform.tfvars.json',
  ]);
  assert.equal(terraformOutput().args, ['output', '-json', '-no-color']);
  assert.equal(terraformStateList().args, ['state', 'list', '-no-color']);
});

Argv('inputs travel in the var file, never as -var values on the command line', () => {
  const commands = [
    terraformPlan({ varFile: layout.varFile, planFile: layout.planFile, lock: true }),
    terraformDestroy(layout.varFile),
  ];
  for (const command of commands) assert.not.ok(command.args.some((arg) => arg === '-var' || arg.startsWith('-var=')));
});

Argv.run();

const Run = suite('terraform runs in the staged working directory');

Run('the command runs in the work dir, non-interactively, without update checks', () => {
  const run = inWorkDir(layout.workDir, terraformOutput());
  assert.is(run.tool, 'terraform');
  assert.equal(run.args, ['output', '-json', '-no-color']);
  assert.is(run.cwd, '/project/.deploy/staging/terraform');
  assert.equal(run.env, { TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' });
  assert.is(run.progress?.('aws_lb.this: Creating...'), 'aws_lb.this: Creating...');
  assert.is(run.progress?.('some detail line'), undefined);
});

Run.run();
