// status.ts on the aws target (pipeline/targets/aws/status.ts) against mocked AWS answers:
// instances with the AMI they booted and their target health with reason, the ALB's
// state, the deployed AMI's tags, drift from the record; console output for --logs.

import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeImagesCommand, DescribeInstancesCommand, GetConsoleOutputCommand } from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import * as assert from 'uvu/assert';
import { InputError, UsageError } from '../../pipeline/errors.ts';
import { findDrift } from '../../pipeline/operate/drift.ts';
import type { DeploymentRecord } from '../../pipeline/state/record.ts';
import { awsLogs, awsStatus } from '../../pipeline/targets/aws/status.ts';
import { awsEnvironment, awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const ENV = awsEnvironment();
const NAME = 'demo-staging';
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo/0123456789abcdef';
const RECORD: DeploymentRecord = {
  env: 'staging',
  target: 'aws',
  image: 'ami-new',
  fingerprint: 'f'.repeat(64),
  url: 'http://demo-staging.example/',
  deployed_at: '2026-12-02T10:00:00.000Z',
};

type Mocks = ReturnType<typeof mockedClients>;

function answerFleet(mocks: Mocks, images: Record<string, string>, health: Record<string, [string, string?, string?]>) {
  mocks.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: NAME,
        DesiredCapacity: 2,
        MinSize: 2,
        MaxSize: 4,
        AvailabilityZones: [],
        HealthCheckType: 'ELB',
        DefaultCooldown: 300,
        CreatedTime: new Date(),
        TargetGroupARNs: [TG],
        Instances: Object.keys(images).map((id) => ({
          InstanceId: id,
          LifecycleState: 'InService',
          HealthStatus: 'Healthy',
          AvailabilityZone: 'eu-west-1a',
          ProtectedFromScaleIn: false,
        })),
      },
    ],
  });
  mocks.ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [{ Instances: Object.entries(images).map(([InstanceId, ImageId]) => ({ InstanceId, ImageId })) }],
  });
  mocks.elbv2.on(DescribeTargetHealthCommand, { TargetGroupArn: TG }).resolves({
    TargetHealthDescriptions: Object.entries(health).map(
      ([Id, [State, Reason, Description]]) =>
        ({ Target: { Id, Port: 8080 }, TargetHealth: { State, Reason, Description } }) as TargetHealthDescription,
    ),
  });
  // The stack's alarms, all quiet unless a test says otherwise.
  mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: [
      { AlarmName: `${NAME}-target-5xx-rate`, StateValue: 'OK', StateReason: 'Threshold not crossed' },
      { AlarmName: `${NAME}-unhealthy-hosts`, StateValue: 'OK', StateReason: 'Threshold not crossed' },
    ],
  });
  mocks.ec2.on(DescribeImagesCommand).resolves({
    Images: [
      {
        ImageId: 'ami-new',
        Name: 'demo-staging-ffffffffffff-20261202100000',
        State: 'available',
        Tags: [
          { Key: 'bakery:fingerprint', Value: 'f'.repeat(64) },
          { Key: 'bakery:git_revision', Value: '0a1b2c3d4e5f' },
          { Key: 'bakery:baked_at', Value: '2026-12-02T09:58:00Z' },
        ],
      },
    ],
  });
}

const Status = suite<{ mocks: Mocks }>('aws status');

Status.before.each((context) => {
  context.mocks = mockedClients();
});

Status.after.each((context) => {
  context.mocks.restore();
});

Status('a healthy fleet on the deployed AMI is as deployed', async ({ mocks }) => {
  answerFleet(mocks, { 'i-1': 'ami-new', 'i-2': 'ami-new' }, { 'i-1': ['healthy'], 'i-2': ['healthy'] });
  mocks.elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ State: { Code: 'active' } }] });
  const status = await awsStatus(recordingIO(), mocks.clients, ENV, RECORD);
  assert.equal(status.image, {
    id: 'ami-new',
    exists: true,
    name: 'demo-staging-ffffffffffff-20261202100000',
    fingerprint: 'f'.repeat(64),
    gitRevision: '0a1b2c3d4e5f',
    bakedAt: '2026-12-02T09:58:00Z',
    layer: 'app',
  });
  assert.equal(
    status.instances.map((instance) => [instance.name, instance.image, instance.health, instance.healthy]),
    [
      ['i-1', 'ami-new', 'healthy', true],
      ['i-2', 'ami-new', 'healthy', true],
    ],
  );
  assert.equal(status.loadBalancer, { name: NAME, state: 'active', up: true });
  assert.equal(status.alarms, []);
  assert.equal(findDrift(RECORD, status, { url: `${RECORD.url}health`, result: '200', ok: true }), []);
});

Status("an alarm of the stack in ALARM is drift, with CloudWatch's reason", async ({ mocks }) => {
  answerFleet(mocks, { 'i-1': 'ami-new', 'i-2': 'ami-new' }, { 'i-1': ['healthy'], 'i-2': ['healthy'] });
  mocks.elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ State: { Code: 'active' } }] });
  const reason = 'Threshold Crossed: 1 datapoint [0.2] was greater than the threshold (0.01).';
  mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: [
      { AlarmName: `${NAME}-target-5xx-rate`, StateValue: 'ALARM', StateReason: reason },
      { AlarmName: `${NAME}-unhealthy-hosts`, StateValue: 'OK', StateReason: 'Threshold not crossed' },
    ],
  });
  const status = await awsStatus(recordingIO(), mocks.clients, ENV, RECORD);
  const asked = mocks.cloudwatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input.AlarmNames;
  assert.equal(asked, [`${NAME}-target-5xx-rate`, `${NAME}-unhealthy-hosts`, `${NAME}-target-p99`]);
  assert.equal(findDrift(RECORD, status, { url: `${RECORD.url}health`, result: '200', ok: true }), [
    `alarm ${NAME}-target-5xx-rate is in ALARM: ${reason}`,
  ]);
});

Status(
  'an instance on another AMI, an unhealthy target with its reason and a missing ALB are drift',
  async ({ mocks }) => {
    answerFleet(
      mocks,
      { 'i-1': 'ami-new', 'i-2': 'ami-old' },
      { 'i-1': ['unhealthy', 'Target.FailedHealthChecks', 'Health checks failed'], 'i-2': ['healthy'] },
    );
    mocks.elbv2.on(DescribeLoadBalancersCommand).rejects(awsError('LoadBalancerNotFoundException', 'not found'));
    const status = await awsStatus(recordingIO(), mocks.clients, ENV, RECORD);
    assert.is(status.instances[0]?.reason, 'Target.FailedHealthChecks (Health checks failed)');
    assert.equal(status.loadBalancer, { name: NAME, state: 'missing', up: false });
    assert.equal(findDrift(RECORD, status, undefined), [
      `load balancer ${NAME} is missing`,
      'instance i-2 runs image ami-old, not the deployed ami-new',
      '0 of 2 desired instance(s) serve the deployed image',
    ]);
    // With the load balancer up, the unhealthy target is named with AWS's reason.
    mocks.elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ State: { Code: 'active' } }] });
    const again = await awsStatus(recordingIO(), mocks.clients, ENV, RECORD);
    assert.ok(
      findDrift(RECORD, again, undefined).includes(
        'instance i-1 is unhealthy in the load balancer: Target.FailedHealthChecks (Health checks failed)',
      ),
    );
  },
);

Status('a mixed fleet (a refresh cancelled half way) is drift, though every instance is healthy', async ({ mocks }) => {
  answerFleet(mocks, { 'i-1': 'ami-new', 'i-2': 'ami-new' }, { 'i-1': ['healthy'], 'i-2': ['healthy'] });
  // The group pins version 5; i-2 was launched from version 4 (same AMI, older settings).
  const group = {
    AutoScalingGroupName: NAME,
    DesiredCapacity: 2,
    MinSize: 2,
    MaxSize: 4,
    AvailabilityZones: [],
    HealthCheckType: 'ELB',
    DefaultCooldown: 300,
    CreatedTime: new Date(),
    TargetGroupARNs: [TG],
    LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '5' },
    Instances: [
      { InstanceId: 'i-1', Version: '5' },
      { InstanceId: 'i-2', Version: '4' },
    ].map(({ InstanceId, Version }) => ({
      InstanceId,
      LifecycleState: 'InService' as const,
      HealthStatus: 'Healthy',
      AvailabilityZone: 'eu-west-1a',
      ProtectedFromScaleIn: false,
      LaunchTemplate: { LaunchTemplateId: 'lt-1', Version },
    })),
  };
  mocks.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group] });
  mocks.elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ State: { Code: 'active' } }] });
  const status = await awsStatus(recordingIO(), mocks.clients, ENV, RECORD);
  assert.equal(findDrift(RECORD, status, undefined), [
    "instance i-2 runs launch template version 4, not the group's 5",
  ]);
});

Status('a deregistered AMI is drift', async ({ mocks }) => {
  answerFleet(mocks, { 'i-1': 'ami-new', 'i-2': 'ami-new' }, { 'i-1': ['healthy'], 'i-2': ['healthy'] });
  mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  mocks.elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ State: { Code: 'active' } }] });
  const status = await awsStatus(recordingIO(), mocks.clients, ENV, RECORD);
  assert.equal(findDrift(RECORD, status, undefined), ['the deployed image ami-new no longer exists']);
});

Status.run();

const Logs = suite<{ mocks: Mocks }>('aws logs');

Logs.before.each((context) => {
  context.mocks = mockedClients();
});

Logs.after.each((context) => {
  context.mocks.restore();
});

Logs('prints each instance console output prefixed with its id, then the target-health reasons', async ({ mocks }) => {
  answerFleet(
    mocks,
    { 'i-1': 'ami-new', 'i-2': 'ami-new' },
    { 'i-1': ['healthy'], 'i-2': ['unhealthy', 'Target.Timeout', 'Request timed out'] },
  );
  mocks.ec2
    .on(GetConsoleOutputCommand, { InstanceId: 'i-1' })
    .resolves({ Output: Buffer.from('boot\r\nsystemd[1]: Started demo.service.\r\n').toString('base64') })
    .on(GetConsoleOutputCommand, { InstanceId: 'i-2' })
    .resolves({});
  const lines: string[] = [];
  await awsLogs(recordingIO(), mocks.clients, ENV, { lines: 100, follow: false }, (line) => lines.push(line));
  assert.equal(lines, [
    'i-1 | boot',
    'i-1 | systemd[1]: Started demo.service.',
    'i-2 | (no console output yet)',
    'target-health | i-1:8080 healthy',
    'target-health | i-2:8080 unhealthy Target.Timeout (Request timed out)',
  ]);
  const asked = mocks.ec2.commandCalls(GetConsoleOutputCommand).map((call) => call.args[0].input);
  assert.equal(asked, [
    { InstanceId: 'i-1', Latest: true },
    { InstanceId: 'i-2', Latest: true },
  ]);
});

Logs('--instance picks one; an unknown one is bad input; --follow is local only', async ({ mocks }) => {
  answerFleet(mocks, { 'i-1': 'ami-new' }, { 'i-1': ['healthy'] });
  mocks.ec2.on(GetConsoleOutputCommand).resolves({ Output: Buffer.from('one line').toString('base64') });
  const lines: string[] = [];
  await awsLogs(recordingIO(), mocks.clients, ENV, { lines: 100, follow: false, instance: 'i-1' }, (line) =>
    lines.push(line),
  );
  assert.equal(lines, ['i-1 | one line', 'target-health | i-1:8080 healthy']);
  const missing = await awsLogs(
    recordingIO(),
    mocks.clients,
    ENV,
    { lines: 1, follow: false, instance: 'i-9' },
    () => {},
  )
    .then(() => undefined)
    .catch((error: unknown) => error);
  assert.instance(missing, InputError);
  assert.match((missing as Error).message, '--instance "i-9": no such instance in the Auto Scaling group demo-staging');
  const follow = await awsLogs(recordingIO(), mocks.clients, ENV, { lines: 1, follow: true }, () => {})
    .then(() => undefined)
    .catch((error: unknown) => error);
  assert.instance(follow, UsageError);
});

Logs.run();
