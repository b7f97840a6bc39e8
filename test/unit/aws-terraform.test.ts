// Terraform plumbing of the aws target (pipeline/targets/aws/terraform.ts): state layout,
// backend settings, the staged working copy, inputs, and reading plan, output and errors.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { resolveRuntimeSettings } from '../../pipeline/config/runtime-settings.ts';
import { DeployError, PreflightError, StateFileError } from '../../pipeline/errors.ts';
import {
  backendConfig,
  formatPlan,
  localStateHasResources,
  parseOutputs,
  parsePlanJson,
  releaseSafetyInputs,
  stackName,
  stageModule,
  terraformErrorLines,
  terraformInputs,
  terraformLayout,
  terraformProgress,
  type TerraformInputs,
} from '../../pipeline/targets/aws/terraform.ts';
import { parseConfig, selectEnvironment } from '../../pipeline/config/load.ts';
import type { AwsEnvironment } from '../../pipeline/config/schema.ts';
import { awsEnvironment } from '../helpers/aws-io.ts';
import { loadStack } from '../helpers/terraform.ts';
import { suite } from '../support/suite.ts';

const Terraform = suite('terraform plumbing');

const layout = terraformLayout('/opt/bakery/terraform', '/project/.deploy/staging');

Terraform('everything lives under .deploy/ENV, the working copy included', () => {
  assert.equal(layout, {
    moduleDir: '/opt/bakery/terraform',
    workDir: '/project/.deploy/staging/terraform',
    varFile: '/project/.deploy/staging/terraform.tfvars.json',
    planFile: '/project/.deploy/staging/terraform/tfplan',
    // A dry run has a working copy of its own: it takes no lock, so it must never
    // re-stage the directory a running deploy applies from.
    dryRunWorkDir: '/project/.deploy/staging/terraform-dry-run',
    dryRunVarFile: '/project/.deploy/staging/terraform.dry-run.tfvars.json',
    dryRunPlanFile: '/project/.deploy/staging/terraform-dry-run/tfplan',
    localState: '/project/.deploy/staging/terraform.tfstate',
  });
});

Terraform('local state goes to .deploy/ENV/terraform.tfstate', () => {
  assert.equal(backendConfig(awsEnvironment(), layout), {
    type: 'local',
    settings: { path: '/project/.deploy/staging/terraform.tfstate' },
  });
});

Terraform('S3 state uses a lock file, encryption, and a per app and environment key by default', () => {
  const s3 = backendConfig(awsEnvironment({ state: { backend: 's3', bucket: 'tf-state' } }), layout);
  assert.equal(s3, {
    type: 's3',
    settings: {
      bucket: 'tf-state',
      key: 'bakery/demo/staging/terraform.tfstate',
      region: 'eu-west-1',
      use_lockfile: 'true',
      encrypt: 'true',
    },
  });
  const custom = backendConfig(
    awsEnvironment({ state: { backend: 's3', bucket: 'tf-state', key: 'x/y.tfstate', region: 'us-east-1' } }),
    layout,
  );
  assert.is(custom.settings.key, 'x/y.tfstate');
  assert.is(custom.settings.region, 'us-east-1');
});

Terraform('the stack name is app-env, computed from an environment deploy.yaml validation has already accepted', () => {
  assert.is(stackName(awsEnvironment()), 'demo-staging');
  // The 32-character limit is deploy.yaml's rule (test/unit/config.test.ts): the name is only computed here.
  assert.is(
    stackName(awsEnvironment({}, { app: 'shop-frontend-eu', name: 'production-blue' })),
    'shop-frontend-eu-production-blue',
  );
});

Terraform('inputs carry the config, the resolved network and the image, and nothing secret', () => {
  const inputs = terraformInputs(
    awsEnvironment({ certificate_arn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' }),
    { vpcId: 'vpc-1', subnetIds: ['subnet-a', 'subnet-b'] },
    { id: 'ami-1', rootDeviceName: '/dev/sda1' },
    { variables: {} },
  );
  assert.equal(inputs, {
    name: 'demo-staging',
    app: 'demo',
    environment: 'staging',
    region: 'eu-west-1',
    vpc_id: 'vpc-1',
    subnet_ids: ['subnet-a', 'subnet-b'],
    image: { id: 'ami-1', root_device_name: '/dev/sda1' },
    instance_type: 't3.micro',
    instances: { min: 2, desired: 2, max: 4 },
    service: { port: 8080, health_path: '/health' },
    service_env: {},
    service_ssm_parameters: {},
    health: { interval_s: 10, healthy_threshold: 2, unhealthy_threshold: 2, timeout_s: 5 },
    certificate_arn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
    release_safety: {
      canary_percent: 50,
      bake_s: 180,
      max_error_rate: 0.01,
      min_requests: 20,
      max_p99_ms: null,
      alarm_email: null,
    },
    database: null,
    logs: { retention_days: 30 },
    scaling: null,
    root_volume_size_gb: 8,
    idle_timeout_s: 60,
    deregistration_delay_s: 30,
    instance_warmup_s: 30,
    deletion_protection: true,
    tags: {},
    egress: [],
  });
});

Terraform(
  "release safety: the canary becomes its share of desired capacity and bakes for the checkpoint's delay",
  () => {
    const rollout = (settings: Partial<AwsEnvironment['rollout']>): AwsEnvironment['rollout'] => ({
      canary: { instances: 1, bake_s: 30 },
      max_error_rate: 0.02,
      min_requests: 20,
      ...settings,
    });
    assert.equal(releaseSafetyInputs(rollout({ max_p99_ms: 800, alarm_email: 'ops@example.com' }), 4), {
      canary_percent: 25,
      bake_s: 180,
      max_error_rate: 0.02,
      min_requests: 20,
      max_p99_ms: 800,
      alarm_email: 'ops@example.com',
    });
    assert.is(releaseSafetyInputs(rollout({}), 3).canary_percent, 33);
    // One instance of a big group is still a checkpoint, and a canary as big as the group stops before 100 %.
    assert.is(releaseSafetyInputs(rollout({}), 500).canary_percent, 1);
    assert.is(releaseSafetyInputs(rollout({ canary: { instances: 2, bake_s: 30 } }), 2).canary_percent, 99);
  },
);

Terraform('release safety: canary off means no checkpoint, while the alarms still guard the refresh', () => {
  const off = releaseSafetyInputs(
    { canary: { instances: 0, bake_s: 0 }, max_error_rate: 0.05, min_requests: 20, max_p99_ms: 500 },
    2,
  );
  assert.equal(off, {
    canary_percent: 0,
    bake_s: 0,
    max_error_rate: 0.05,
    min_requests: 20,
    max_p99_ms: 500,
    alarm_email: null,
  });
});

Terraform('release safety: the written tfvars come from deploy.yaml rollout settings', () => {
  const config = parseConfig(
    [
      'app: demo',
      'environments:',
      '  prod:',
      '    target: aws',
      '    instances: { min: 4, desired: 4, max: 8 }',
      '    rollout:',
      '      canary: { instances: 1, bake_s: 45 }',
      '      max_error_rate: 0.005',
      '      max_p99_ms: 750',
      '      alarm_email: ops@example.com',
      '    aws: { region: eu-west-1 }',
      '  quick:',
      '    target: aws',
      '    rollout: { canary: null }',
      '    aws: { region: eu-west-1 }',
    ].join('\n'),
  );
  const inputs = (name: string): TerraformInputs =>
    terraformInputs(
      selectEnvironment(config, name) as AwsEnvironment,
      { vpcId: null, subnetIds: [] },
      { id: 'ami-1' },
      { variables: {} },
    );
  assert.equal(inputs('prod').release_safety, {
    canary_percent: 25,
    // 45 s is shorter than three one-minute alarm periods: the checkpoint waits 180 s.
    bake_s: 180,
    max_error_rate: 0.005,
    min_requests: 20,
    max_p99_ms: 750,
    alarm_email: 'ops@example.com',
  });
  assert.equal(inputs('quick').release_safety, {
    canary_percent: 0,
    bake_s: 0,
    max_error_rate: 0.01,
    min_requests: 20,
    max_p99_ms: null,
    alarm_email: null,
  });
});

Terraform("service.env and the secrets' parameter names reach the stack; a secret value never can", () => {
  const config = parseConfig(
    [
      'app: shop',
      'environments:',
      '  prod:',
      '    target: aws',
      '    aws: { region: eu-west-1 }',
      '    service:',
      '      env: { GREETING_STYLE: formal }',
      '      secrets: { API_TOKEN: /shop/prod/api-token }',
    ].join('\n'),
  );
  const env = selectEnvironment(config, 'prod') as AwsEnvironment;
  const inputs = terraformInputs(
    env,
    { vpcId: null, subnetIds: [] },
    { id: 'ami-1' },
    resolveRuntimeSettings(env, 'deploy.yaml', {}),
  );
  assert.equal(inputs.service_env, { GREETING_STYLE: 'formal' });
  assert.equal(inputs.service_ssm_parameters, { API_TOKEN: '/shop/prod/api-token' });
});

Terraform('the runner writes every input the stack requires, and only inputs it declares', async () => {
  const stack = await loadStack();
  const written = Object.keys(
    terraformInputs(awsEnvironment(), { vpcId: null, subnetIds: [] }, { id: 'ami-1' }, { variables: {} }),
  );
  for (const name of written) assert.ok(stack.variables.has(name), `terraform/variables.tf has no variable "${name}"`);
  const required = [...stack.variables].filter(([, declaration]) => !('default' in declaration)).map(([name]) => name);
  for (const name of required)
    assert.ok(written.includes(name), `the runner does not write the required variable "${name}"`);
});

Terraform(
  'the staged copy has the stack, a generated backend and the project lock file, and no stale files',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'bakery-tf-stage-'));
    try {
      const staged = terraformLayout(join(root, 'terraform'), join(root, '.deploy', 'staging'));
      await mkdir(staged.moduleDir, { recursive: true });
      await writeFile(join(staged.moduleDir, 'main.tf'), '# main\n');
      await writeFile(join(staged.moduleDir, 'README.md'), 'docs\n');
      await writeFile(join(staged.moduleDir, '.terraform.lock.hcl'), '# lock\n');
      await mkdir(staged.workDir, { recursive: true });
      await writeFile(join(staged.workDir, 'removed.tf'), '# gone from terraform/\n');
      await stageModule(staged, { type: 's3', settings: {} });
      assert.equal((await readdir(staged.workDir)).sort(), ['.terraform.lock.hcl', 'backend.tf', 'main.tf']);
      assert.match(
        await readFile(join(staged.workDir, 'backend.tf'), 'utf8'),
        /terraform \{\n {2}backend "s3" \{\}\n\}/,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
);

Terraform('a working copy that cannot be written is a StateFileError naming it, not a raw errno', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bakery-tf-stage-'));
  try {
    const staged = terraformLayout(join(root, 'terraform'), join(root, '.deploy', 'staging'));
    await mkdir(staged.moduleDir, { recursive: true });
    await writeFile(join(staged.moduleDir, 'main.tf'), '# main\n');
    // .deploy/staging is a file: nothing can be created under it (ENOTDIR), as on a broken mount.
    await mkdir(join(root, '.deploy'));
    await writeFile(join(root, '.deploy', 'staging'), '');
    const error = await stageModule(staged, { type: 'local', settings: {} }).catch((e: unknown) => e);
    assert.instance(error, StateFileError);
    assert.match((error as StateFileError).message, /could not write Terraform's working copy of the stack/);
    assert.ok((error as StateFileError).details.includes(`path: ${staged.workDir}`));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

Terraform('an installation without terraform/ says so', async () => {
  const error = await stageModule(terraformLayout('/nonexistent/terraform', '/nonexistent/.deploy/x'), {
    type: 'local',
    settings: {},
  }).catch((e: unknown) => e);
  assert.instance(error, PreflightError);
  assert.match((error as Error).message, /has no Terraform files: this bakery installation is incomplete/);
});

Terraform('a local state counts only managed resources', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bakery-tf-state-'));
  try {
    const path = join(dir, 'terraform.tfstate');
    assert.is(await localStateHasResources(path), false);
    await writeFile(path, JSON.stringify({ version: 4, resources: [{ mode: 'data', type: 'aws_vpc' }] }));
    assert.is(await localStateHasResources(path), false);
    await writeFile(path, JSON.stringify({ version: 4, resources: [{ mode: 'managed', type: 'aws_lb' }] }));
    assert.is(await localStateHasResources(path), true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Terraform(
  'a plan is read from terraform show -json: counts as Terraform counts, data sources and no-ops left out',
  () => {
    const change = (address: string, actions: string[], mode = 'managed') => ({ address, mode, change: { actions } });
    const plan = parsePlanJson(
      JSON.stringify({
        format_version: '1.2',
        resource_changes: [
          change('aws_launch_template.this', ['update']),
          change('aws_lb_target_group.this', ['create', 'delete']),
          change('aws_lb.this', ['create']),
          change('aws_security_group.old', ['delete']),
          change('aws_instance.kept', ['delete', 'create']),
          change('aws_vpc.this', ['no-op']),
          change('data.aws_subnet.this["a"]', ['read'], 'data'),
        ],
      }),
    );
    assert.equal(plan, {
      changes: true,
      add: 3,
      change: 1,
      destroy: 3,
      actions: [
        'update aws_launch_template.this',
        'replace aws_lb_target_group.this',
        'create aws_lb.this',
        'destroy aws_security_group.old',
        'replace aws_instance.kept',
      ],
    });
    assert.is(
      formatPlan({ ...plan, actions: plan.actions.slice(0, 2) }),
      '3 to add, 1 to change, 3 to destroy (update aws_launch_template.this, replace aws_lb_target_group.this)',
    );
    const none = parsePlanJson(
      '{"format_version":"1.2","resource_changes":[{"address":"a.b","mode":"managed","change":{"actions":["no-op"]}}]}',
    );
    assert.is(none.changes, false);
    assert.is(formatPlan(none), 'no infrastructure changes');
    assert.throws(
      () => parsePlanJson('Plan: 1 to add'),
      (error: unknown) => error instanceof DeployError,
    );
  },
);

/** Runs the real terraform (1.11 on PATH) in `dir`; the built-in terraform_data needs no provider download. */
function terraform(dir: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      'terraform',
      args,
      { cwd: dir, env: { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' } },
      (error, stdout, stderr) =>
        error ? reject(new Error(`terraform ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
    ),
  );
}

Terraform('the summary of real Terraform plans: create, update in place, replace, destroy', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bakery-tf-plan-'));
  const planWith = async (body: string) => {
    await writeFile(join(dir, 'main.tf'), body);
    await terraform(dir, 'plan', '-input=false', '-no-color', '-out=tfplan');
    return parsePlanJson(await terraform(dir, 'show', '-json', '-no-color', 'tfplan'));
  };
  try {
    await terraform(dir, 'init', '-input=false', '-no-color');
    const v1 =
      'resource "terraform_data" "kept" { input = "v1" }\nresource "terraform_data" "swapped" { triggers_replace = ["v1"] }\nresource "terraform_data" "dropped" {}\n';
    assert.equal((await planWith(v1)).actions, [
      'create terraform_data.dropped',
      'create terraform_data.kept',
      'create terraform_data.swapped',
    ]);
    await terraform(dir, 'apply', '-input=false', '-no-color', 'tfplan');
    assert.is((await planWith(v1)).changes, false, 'an applied plan has nothing left to do');
    const v2 =
      'resource "terraform_data" "kept" { input = "v2" }\nresource "terraform_data" "swapped" { triggers_replace = ["v2"] }\n';
    const plan = await planWith(v2);
    assert.equal([...plan.actions].sort(), [
      'destroy terraform_data.dropped',
      'replace terraform_data.swapped',
      'update terraform_data.kept',
    ]);
    assert.equal([plan.add, plan.change, plan.destroy], [1, 1, 2]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Terraform('only resource progress and summaries become progress lines', () => {
  assert.is(
    terraformProgress('aws_lb.this: Still creating... [10s elapsed]'),
    'aws_lb.this: Still creating... [10s elapsed]',
  );
  assert.is(
    terraformProgress('Apply complete! Resources: 1 added, 0 changed, 0 destroyed.'),
    'Apply complete! Resources: 1 added, 0 changed, 0 destroyed.',
  );
  assert.is(terraformProgress('Initializing provider plugins...'), undefined);
});

Terraform("a failure shows terraform's error boxes, not warnings", () => {
  const lines = [
    '╷',
    '│ Warning: Argument is deprecated',
    '│ ',
    '│ something old',
    '╵',
    '╷',
    '│ Error: creating Auto Scaling Group (demo-staging): ValidationError: You must use a valid fully-formed launch template.',
    '│ ',
    '│   with aws_autoscaling_group.this,',
    '│   on compute.tf line 74, in resource "aws_autoscaling_group" "this":',
    '╵',
  ];
  assert.equal(terraformErrorLines(lines), [
    'Error: creating Auto Scaling Group (demo-staging): ValidationError: You must use a valid fully-formed launch template.',
    '  with aws_autoscaling_group.this,',
    '  on compute.tf line 74, in resource "aws_autoscaling_group" "this":',
  ]);
});

Terraform('outputs give the URL, the group and the target group, or nothing when the stack is missing', () => {
  const outputs = parseOutputs(
    JSON.stringify({
      url: { value: 'http://demo-1.eu-west-1.elb.amazonaws.com' },
      asg_name: { value: 'demo-staging' },
      target_group_arn: { value: 'arn:tg' },
      launch_template_version: { value: 3 },
      alarm_names: { value: ['demo-staging-target-5xx-rate', 'demo-staging-unhealthy-hosts'] },
    }),
  );
  assert.equal(outputs, {
    url: 'http://demo-1.eu-west-1.elb.amazonaws.com',
    albDnsName: 'demo-1.eu-west-1.elb.amazonaws.com',
    asgName: 'demo-staging',
    targetGroupArn: 'arn:tg',
    launchTemplateVersion: 3,
    alarmNames: ['demo-staging-target-5xx-rate', 'demo-staging-unhealthy-hosts'],
  });
  // A stack applied before the alarms existed has no alarm_names output: nothing to watch.
  assert.equal(
    parseOutputs(
      JSON.stringify({ url: { value: 'http://x' }, asg_name: { value: 'g' }, target_group_arn: { value: 't' } }),
    )?.alarmNames,
    [],
  );
  assert.is(parseOutputs('{}'), undefined);
  assert.throws(
    () => parseOutputs('not json'),
    (error: unknown) => error instanceof DeployError,
  );
});

Terraform.run();
