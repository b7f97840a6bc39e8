// Which inputs the aws target applies in provision and which it holds for the rollout
// (pipeline/targets/aws/apply-steps.ts), and what servesAlready answers from the state
// provision leaves (mocked DescribeAutoScalingGroups, the inputs and record on disk).

import { DescribeAutoScalingGroupsCommand, DescribeInstanceRefreshesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { RunContext } from '../../pipeline/context.ts';
import { applySteps } from '../../pipeline/targets/aws/apply-steps.ts';
import { createAwsTarget, type AwsFacts } from '../../pipeline/targets/aws/index.ts';
import { PLACEHOLDER_AMI, terraformInputs, type TerraformInputs } from '../../pipeline/targets/aws/terraform.ts';
import { awsEnvironment, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const inputs = (
  imageId: string,
  env: Record<string, string> = { LOG_LEVEL: 'info' },
  secrets: Record<string, string> = { TOKEN: '/demo/token' },
): TerraformInputs =>
  terraformInputs(
    awsEnvironment(),
    { vpcId: 'vpc-1', subnetIds: ['subnet-a', 'subnet-b'] },
    { id: imageId, rootDeviceName: '/dev/xvda' },
    { variables: env, secretReferences: secrets },
  );

const Steps = suite('the aws applies of a deploy');

Steps('without release commands one apply takes the new image, whatever ran before', () => {
  const wanted = inputs('ami-new');
  const steps = applySteps(wanted, inputs('ami-old'), false);
  assert.is(steps.first, wanted);
  assert.is(steps.then, undefined);
});

Steps('a first deploy (no inputs, or a placeholder image) applies the new image at once', () => {
  const wanted = inputs('ami-new');
  for (const previous of [undefined, inputs(PLACEHOLDER_AMI)]) {
    const steps = applySteps(wanted, previous, true);
    assert.is(steps.first.image.id, 'ami-new');
    assert.is(steps.then, undefined);
    assert.match(steps.why, /first deploy/);
  }
});

Steps('with a release, provision keeps the old image and settings; the rollout applies the new ones', () => {
  const previous = { ...inputs('ami-old', { LOG_LEVEL: 'debug' }), instance_type: 't3.small' };
  const wanted = inputs('ami-new');
  const steps = applySteps(wanted, previous, true);
  assert.equal(steps.first.image, { id: 'ami-old', root_device_name: '/dev/xvda' });
  assert.equal(steps.first.service_env, { LOG_LEVEL: 'debug' });
  // Everything else converges in the first apply (here: the configuration's instance type).
  assert.is(steps.first.instance_type, 't3.micro');
  assert.equal(steps.first.database, wanted.database);
  assert.is(steps.then, wanted);
  assert.match(steps.why, /stays on ami-old/);
});

Steps('a settings-only change with a release is held the same way', () => {
  const steps = applySteps(inputs('ami-same', { LOG_LEVEL: 'warn' }), inputs('ami-same'), true);
  assert.equal(steps.first.service_env, { LOG_LEVEL: 'info' });
  assert.is(steps.then?.service_env.LOG_LEVEL, 'warn');
});

Steps('an unchanged redeploy with a release is one apply', () => {
  const steps = applySteps(inputs('ami-same'), inputs('ami-same'), true);
  assert.is(steps.then, undefined);
});

Steps('a new SSM parameter is granted in the first apply; the image and variables still wait', () => {
  const wanted = inputs('ami-new', { LOG_LEVEL: 'warn' }, { TOKEN: '/demo/token', KEY: '/demo/key' });
  const steps = applySteps(wanted, inputs('ami-old'), true);
  assert.is(steps.first.image.id, 'ami-old');
  assert.equal(steps.first.service_env, { LOG_LEVEL: 'info' });
  assert.equal(steps.first.service_ssm_parameters, { TOKEN: '/demo/token', KEY: '/demo/key' });
  assert.match(steps.why, /\/demo\/key/);
  // A parameter dropped or renamed to one already granted is held like the variables.
  const dropped = applySteps(inputs('ami-new', {}, {}), inputs('ami-old'), true);
  assert.equal(dropped.first.service_ssm_parameters, { TOKEN: '/demo/token' });
});

Steps.run();

type Mocks = ReturnType<typeof mockedClients>;
const Serves = suite<{ mocks: Mocks; dir: string }>('the aws target serves an image already');

Serves.before.each(async (context) => {
  context.mocks = mockedClients();
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-apply-steps-'));
});

Serves.after.each(async (context) => {
  context.mocks.restore();
  await rm(context.dir, { recursive: true, force: true });
});

/** The state provision leaves: the inputs it applied, the record of the last finished deploy. */
async function state(dir: string, applied: string, recorded: string | undefined): Promise<void> {
  await writeFile(join(dir, 'terraform.tfvars.json'), JSON.stringify(inputs(applied, {}, {})));
  if (recorded) await writeFile(join(dir, 'deployment.json'), JSON.stringify({ image: recorded }));
}

function target(mocks: Mocks, dir: string) {
  mocks.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: 'demo-staging',
        LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '3' },
        Instances: ['i-1', 'i-2'].map((id) => ({
          InstanceId: id,
          AvailabilityZone: 'eu-west-1a',
          LifecycleState: 'InService',
          HealthStatus: 'Healthy',
          ProtectedFromScaleIn: false,
          LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '3' },
        })),
        MinSize: 2,
        MaxSize: 4,
        DesiredCapacity: 2,
        DefaultCooldown: 300,
        AvailabilityZones: [],
        HealthCheckType: 'ELB',
        CreatedTime: new Date(),
      },
    ],
  });
  const context = { processEnv: {}, stateDir: dir, root: dir } as unknown as RunContext;
  return createAwsTarget(context, awsEnvironment(), { clients: mocks.clients, env: { BAKERY_AWS_POLL_MS: '10' } });
}

const SETTINGS = { variables: {}, secretValues: [], secretReferences: {} };
const image = (id: string) => ({ id, fingerprint: 'f' });

Serves('after a provision that held the old image, a new image is not served yet', async ({ mocks, dir }) => {
  await state(dir, 'ami-old', 'ami-old');
  assert.is(await target(mocks, dir).servesAlready(recordingIO(), image('ami-new'), SETTINGS), false);
});

Serves('an unchanged redeploy is served already', async ({ mocks, dir }) => {
  await state(dir, 'ami-same', 'ami-same');
  assert.is(await target(mocks, dir).servesAlready(recordingIO(), image('ami-same'), SETTINGS), true);
});

Serves("a first deploy's new group runs the image, yet its release has not run", async ({ mocks, dir }) => {
  await state(dir, 'ami-new', undefined);
  assert.is(await target(mocks, dir).servesAlready(recordingIO(), image('ami-new'), SETTINGS), false);
});

Serves.run();

const Order = suite<{ mocks: Mocks; dir: string }>('the aws target applies the image after the release');

Order.before.each(async (context) => {
  context.mocks = mockedClients();
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-apply-order-'));
});

Order.after.each(async (context) => {
  context.mocks.restore();
  await rm(context.dir, { recursive: true, force: true });
});

/** A StageIO whose terraform records the image of each plan's var file and of each apply. */
function terraformIO() {
  const planned: string[] = [];
  const applied: string[] = [];
  const io = recordingIO((spec) => {
    const args = spec.args ?? [];
    if (spec.tool !== 'terraform') return {};
    if (args[0] === 'plan') {
      const varFile = args.find((arg) => arg.startsWith('-var-file='))?.slice('-var-file='.length) ?? '';
      planned.push((JSON.parse(readFileSync(varFile, 'utf8')) as TerraformInputs).image.id);
    }
    if (args[0] === 'show')
      return {
        stdout: JSON.stringify({
          resource_changes: [{ address: 'aws_launch_template.this', mode: 'managed', change: { actions: ['update'] } }],
        }),
      };
    if (args[0] === 'apply') applied.push(planned[planned.length - 1] ?? '');
    if (args[0] === 'output')
      return {
        stdout: JSON.stringify({
          url: { value: 'http://demo.example/' },
          asg_name: { value: 'demo-staging' },
          target_group_arn: { value: 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/demo/1' },
        }),
      };
    return {};
  });
  return { io, planned, applied };
}

function releasingTarget(mocks: Mocks, dir: string, release: string[]) {
  mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-new', RootDeviceName: '/dev/xvda' }] });
  mocks.autoscaling.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [] });
  const env = awsEnvironment({}, {});
  const context = { processEnv: {}, stateDir: dir, root: dir } as unknown as RunContext;
  return createAwsTarget(
    context,
    { ...env, service: { ...env.service, release } },
    { clients: mocks.clients, env: { BAKERY_AWS_POLL_MS: '10' } },
  );
}

const FACTS = {
  network: { vpcId: 'vpc-1', isDefaultVpc: true, subnets: [{ id: 'subnet-a', availabilityZone: 'eu-west-1a' }] },
  baseImage: { id: 'ami-base', name: 'debian' },
} as unknown as AwsFacts;

Order('with a release, provision applies the image in service and rollout the new one', async ({ mocks, dir }) => {
  await state(dir, 'ami-old', 'ami-old');
  const aws = releasingTarget(mocks, dir, ['python manage.py migrate']);
  const { io, applied } = terraformIO();
  const stack = await aws.provision(io, image('ami-new'), FACTS, SETTINGS);
  assert.equal(applied, ['ami-old']);
  assert.is(await aws.servesAlready(io, image('ami-new'), SETTINGS), false);
  assert.is(stack.heldInputs?.image.id, 'ami-new');
  // What follows the second apply (watching the refresh, reading the fleet) is not under test here.
  await aws.rollout(io, stack, image('ami-new'), 'rolling', SETTINGS).catch(() => undefined);
  assert.equal(applied, ['ami-old', 'ami-new']);
});

Order('without a release, provision applies the new image at once', async ({ mocks, dir }) => {
  await state(dir, 'ami-old', 'ami-old');
  const aws = releasingTarget(mocks, dir, []);
  const { io, applied } = terraformIO();
  const stack = await aws.provision(io, image('ami-new'), FACTS, SETTINGS);
  assert.equal(applied, ['ami-new']);
  assert.is(stack.heldInputs, undefined);
});

Order('the dry run says the launch template waits for the release', async ({ mocks, dir }) => {
  await state(dir, 'ami-old', 'ami-old');
  const aws = releasingTarget(mocks, dir, ['python manage.py migrate']);
  const { io, planned } = terraformIO();
  const plan = await aws.plan(io, image('ami-new'), FACTS, SETTINGS);
  assert.equal(planned, ['ami-old']);
  assert.match(plan.provision, /launch template held on ami-old/);
  assert.match(plan.rollout, /after the release, a second apply sets the launch template to ami-new/);
});

Order.run();
