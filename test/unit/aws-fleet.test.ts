// What the Auto Scaling group really runs (pipeline/targets/aws/fleet.ts) and what the aws
// target does with it: verify fails naming the instances that do not run the release and
// the refresh that did not succeed; a deploy after a cancelled refresh starts a refresh;
// a refresh that was running before the apply is never adopted.

import {
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  type InstanceRefresh,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as assert from 'uvu/assert';
import type { RunContext } from '../../pipeline/context.ts';
import { DeployError } from '../../pipeline/errors.ts';
import { checkFleet, describeFleet, outdatedInstances } from '../../pipeline/targets/aws/fleet.ts';
import { createAwsTarget, type AwsStack } from '../../pipeline/targets/aws/index.ts';
import { refreshToWatch } from '../../pipeline/targets/aws/refresh.ts';
import { awsEnvironment, awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

type Mocks = ReturnType<typeof mockedClients>;
const Fleet = suite<{ mocks: Mocks }>('the fleet runs the release');

Fleet.before.each((context) => {
  context.mocks = mockedClients();
});

Fleet.after.each((context) => {
  context.mocks.restore();
});

const ASG = 'demo-staging';
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo/0123456789abcdef';

/** The group on launch template version 4, with instance → [version, AMI]. */
function answerFleet(mocks: Mocks, instances: Record<string, [string, string]>, lifecycle = 'InService'): void {
  mocks.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: ASG,
        LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '4' },
        MinSize: 2,
        MaxSize: 4,
        DesiredCapacity: 2,
        DefaultCooldown: 300,
        AvailabilityZones: ['eu-west-1a'],
        HealthCheckType: 'ELB',
        CreatedTime: new Date(),
        Instances: Object.entries(instances).map(([id, [version]]) => ({
          InstanceId: id,
          LifecycleState: lifecycle as 'InService',
          HealthStatus: 'Healthy',
          AvailabilityZone: 'eu-west-1a',
          ProtectedFromScaleIn: false,
          LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: version },
        })),
      },
    ],
  });
  mocks.ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      { Instances: Object.entries(instances).map(([id, [, imageId]]) => ({ InstanceId: id, ImageId: imageId })) },
    ],
  });
  mocks.elbv2.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: Object.keys(instances).map((id) => ({
      Target: { Id: id, Port: 8080 },
      TargetHealth: { State: 'healthy' },
    })),
  });
}

function target(mocks: Mocks) {
  const context = {
    processEnv: { BAKERY_AWS_POLL_MS: '10' },
    stateDir: '/nonexistent',
    root: '/',
  } as unknown as RunContext;
  return createAwsTarget(context, awsEnvironment(), { clients: mocks.clients, env: { BAKERY_AWS_POLL_MS: '10' } });
}

function stack(overrides: Partial<AwsStack> = {}): AwsStack {
  return {
    url: 'http://demo.example',
    outputs: {
      url: 'http://demo.example',
      asgName: ASG,
      targetGroupArn: TG,
      alarmNames: ['demo-staging-target-5xx-rate'],
    },
    refreshesBefore: new Set(['r-old']),
    applyStartedAt: new Date(Date.now() - 60_000),
    createdGroup: false,
    imageId: 'ami-new',
    ...overrides,
  } as AwsStack;
}

async function failure(promise: Promise<unknown>): Promise<DeployError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(error, DeployError);
  return error as DeployError;
}

Fleet('an instance on an older launch template version or AMI is named', async ({ mocks }) => {
  answerFleet(mocks, { 'i-new': ['4', 'ami-new'], 'i-old': ['3', 'ami-old'] });
  const fleet = await describeFleet(mocks.clients, ASG, recordingIO());
  assert.ok(fleet);
  assert.equal(outdatedInstances(fleet, 'ami-new'), [
    'i-old runs ami-old from launch template version 3 (want ami-new, version 4)',
  ]);
  assert.equal(outdatedInstances(fleet, 'ami-old').length, 2, 'the group pins version 4: i-old is outdated too');
});

Fleet(
  'verify: a mixed fleet fails with exit 1 naming the instances, though every target is healthy',
  async ({ mocks }) => {
    answerFleet(mocks, { 'i-new': ['4', 'ami-new'], 'i-old': ['3', 'ami-old'] });
    const error = await failure(target(mocks).waitForBackends(recordingIO(), stack(), Date.now() + 5_000));
    assert.is(error.exitCode, 1);
    assert.is(error.message, '1 of 2 InService instance(s) of demo-staging do not run the release ami-new');
    assert.ok(error.details.includes('i-old runs ami-old from launch template version 3 (want ami-new, version 4)'));
  },
);

Fleet('verify: the refresh this run started must have ended Successful, its reason is shown', async ({ mocks }) => {
  answerFleet(mocks, { 'i-a': ['4', 'ami-new'], 'i-b': ['4', 'ami-new'] });
  mocks.autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
    InstanceRefreshes: [
      { InstanceRefreshId: 'r-mine', Status: 'Cancelled', StatusReason: 'Cancelled by user arn:aws:iam::1:user/ops' },
    ],
  });
  const error = await failure(
    target(mocks).waitForBackends(recordingIO(), stack({ refreshId: 'r-mine' }), Date.now() + 5_000),
  );
  assert.match(
    error.details.join('\n'),
    /instance refresh r-mine is Cancelled: Cancelled by user arn:aws:iam::1:user\/ops/,
  );
  assert.match(error.details.join('\n'), /the deployment record is not updated/);
});

Fleet('verify: every InService instance on the release and a Successful refresh pass', async ({ mocks }) => {
  answerFleet(mocks, { 'i-a': ['4', 'ami-new'], 'i-b': ['4', 'ami-new'] });
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'r-mine', Status: 'Successful' }] });
  await target(mocks).waitForBackends(recordingIO(), stack({ refreshId: 'r-mine' }), Date.now() + 5_000);
  // Pending and Terminating instances are not judged: only InService ones serve.
  assert.not.throws(() =>
    checkFleet(
      {
        asgName: ASG,
        launchTemplateVersion: '4',
        instances: [
          { id: 'i-a', lifecycle: 'InService', launchTemplateVersion: '4', imageId: 'ami-new' },
          { id: 'i-x', lifecycle: 'Terminating', launchTemplateVersion: '3', imageId: 'ami-old' },
        ],
      },
      'ami-new',
      undefined,
    ),
  );
});

Fleet('a deploy after a cancelled refresh starts a refresh instead of saying "already runs"', async ({ mocks }) => {
  answerFleet(mocks, { 'i-new': ['4', 'ami-new'], 'i-old': ['3', 'ami-old'] });
  const cancelled: InstanceRefresh = {
    InstanceRefreshId: 'r-old',
    Status: 'Cancelled',
    StartTime: new Date(Date.now() - 3_600_000),
  };
  // The generic answer first: aws-sdk-client-mock lets a later, narrower matcher win.
  mocks.autoscaling.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [cancelled] });
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand, { AutoScalingGroupName: ASG, InstanceRefreshIds: ['r-fix'] })
    .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'r-fix', Status: 'Successful', PercentageComplete: 100 }] });
  mocks.autoscaling.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-fix' });
  const io = recordingIO();
  const s = stack();
  const result = await target(mocks).rollout(io, s, { id: 'ami-new' } as never, 'rolling', {} as never);
  assert.equal(result, { started: ['r-fix'], kept: [], retired: [] });
  assert.is(s.refreshId, 'r-fix', 'verify checks the refresh this run started');
  const start = mocks.autoscaling.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input;
  assert.is(start?.AutoScalingGroupName, ASG);
  assert.is(start?.Preferences?.SkipMatching, true, 'instances already on the release stay');
  assert.is(start?.Preferences?.AutoRollback, true);
  assert.equal(start?.Preferences?.AlarmSpecification?.Alarms, ['demo-staging-target-5xx-rate']);
  assert.match(io.infos.join('\n'), /i-old runs ami-old/);
});

Fleet('a refresh this run did not start is never adopted, even when it blocks the one it needs', async ({ mocks }) => {
  answerFleet(mocks, { 'i-new': ['4', 'ami-new'], 'i-old': ['3', 'ami-old'] });
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'r-old', Status: 'InProgress', StartTime: new Date() }] });
  mocks.autoscaling
    .on(StartInstanceRefreshCommand)
    .rejects(awsError('InstanceRefreshInProgress', 'An Instance Refresh is already in progress'));
  const error = await failure(
    target(mocks).rollout(recordingIO(), stack(), { id: 'ami-new' } as never, 'rolling', {} as never),
  );
  assert.is(error.message, 'an instance refresh of demo-staging that this run did not start is in progress');
  assert.is(mocks.autoscaling.commandCalls(DescribeInstanceRefreshesCommand).length, 1, 'r-old is never waited for');
});

Fleet('a fleet that runs the release needs no refresh', async ({ mocks }) => {
  answerFleet(mocks, { 'i-a': ['4', 'ami-new'], 'i-b': ['4', 'ami-new'] });
  mocks.autoscaling.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [] });
  const result = await target(mocks).rollout(
    recordingIO(),
    stack(),
    { id: 'ami-new' } as never,
    'rolling',
    {} as never,
  );
  assert.equal(result, { skipped: 'no instance refresh needed: demo-staging already runs ami-new' });
  assert.is(mocks.autoscaling.commandCalls(StartInstanceRefreshCommand).length, 0);
});

Fleet('the runner watches only the refresh it started, never one that ran before its apply', () => {
  const theirs: InstanceRefresh = { InstanceRefreshId: 'theirs', Status: 'InProgress', StartTime: new Date() };
  const mine: InstanceRefresh = { InstanceRefreshId: 'mine', Status: 'Pending', StartTime: new Date() };
  assert.is(refreshToWatch([theirs], new Set(['theirs'])), undefined);
  assert.is(refreshToWatch([mine, theirs], new Set(['theirs']))?.InstanceRefreshId, 'mine');
  const since = new Date(Date.now() - 1_000);
  const older: InstanceRefresh = { ...theirs, StartTime: new Date(Date.now() - 60_000) };
  assert.is(refreshToWatch([older], undefined, since), undefined, 'without a list, only refreshes after the apply');
});

Fleet('verify: target health that cannot be read is named in the explanation, not dropped', async ({ mocks }) => {
  mocks.elbv2.on(DescribeTargetHealthCommand).rejects(awsError('AccessDenied', 'no', 403));
  const lines = await target(mocks).explainUnhealthy(recordingIO(), stack());
  assert.equal(lines, [
    `target health could not be read: elasticloadbalancing:DescribeTargetHealth for ${TG} failed: AccessDenied: no`,
  ]);
});

Fleet.run();
