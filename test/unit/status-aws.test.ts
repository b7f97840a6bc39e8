// status.ts on the aws target (pipeline/targets/aws/status.ts) against mocked AWS answers:
// instances with the AMI they booted and their target health with reason, the ALB's
// state, the deployed AMI's tags, drift from the record; console output for --logs.

import { DescribeAutoScalingGroupsCommand, DescribeScalingActivitiesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeImagesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import * as assert from 'uvu/assert';
import { InputError } from '../../pipeline/errors.ts';
import { findDrift } from '../../pipeline/operate/drift.ts';
import { formatStatus } from '../../pipeline/operate/format.ts';
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
  mocks.autoscaling.on(DescribeScalingActivitiesCommand).resolves({
    Activities: [
      {
        ActivityId: 'a-1',
        AutoScalingGroupName: NAME,
        Cause: 'At 2026-12-02T10:00:00Z a user request update of AutoScalingGroup constraints...',
        StartTime: new Date('2026-12-02T10:00:00.000Z'),
        StatusCode: 'Successful',
        Description: 'Launching a new EC2 instance: i-2',
      },
    ],
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
  assert.equal(status.scaling, {
    min: 2,
    desired: 2,
    max: 4,
    lastActivity:
      '2026-12-02T10:00:00.000Z Successful: Launching a new EC2 instance: i-2 (At 2026-12-02T10:00:00Z a user request update of AutoScalingGroup constraints...)',
  });
  assert.ok(
    formatStatus('staging', RECORD, status, undefined, []).includes('scaling:  min 2, desired 2, max 4'),
    'status prints the group size',
  );
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

const GROUP = '/bakery/demo/staging';
const T0 = Date.parse('2026-12-07T22:00:00.000Z');

Logs(
  "prints each instance's journal from CloudWatch Logs, prefixed with its id, then the target-health reasons",
  async ({ mocks }) => {
    answerFleet(
      mocks,
      { 'i-1': 'ami-new', 'i-2': 'ami-new' },
      { 'i-1': ['healthy'], 'i-2': ['unhealthy', 'Target.Timeout', 'Request timed out'] },
    );
    mocks.logs
      .on(GetLogEventsCommand, { logStreamName: 'i-1' })
      .resolves({
        events: [
          { timestamp: T0, message: 'demo[412]: Serving on http://0.0.0.0:8080' },
          { timestamp: T0 + 1000, message: 'demo[412]: method=GET path=/health status=200\n' },
        ],
      })
      .on(GetLogEventsCommand, { logStreamName: 'i-2' })
      .rejects(awsError('ResourceNotFoundException', 'The specified log stream does not exist.'));
    const lines: string[] = [];
    await awsLogs(recordingIO(), mocks.clients, ENV, { lines: 100, follow: false }, (line) => lines.push(line));
    assert.equal(lines, [
      'i-1 | 2026-12-07T22:00:00.000Z demo[412]: Serving on http://0.0.0.0:8080',
      'i-1 | 2026-12-07T22:00:01.000Z demo[412]: method=GET path=/health status=200',
      `i-2 | (no journal lines in ${GROUP} yet)`,
      'target-health | i-1:8080 healthy',
      'target-health | i-2:8080 unhealthy Target.Timeout (Request timed out)',
    ]);
    const asked = mocks.logs.commandCalls(GetLogEventsCommand).map((call) => call.args[0].input);
    assert.equal(asked, [
      { logGroupName: GROUP, logStreamName: 'i-1', startFromHead: false, limit: 100 },
      { logGroupName: GROUP, logStreamName: 'i-2', startFromHead: false, limit: 100 },
    ]);
  },
);

Logs('--since reads every instance from that time on, in time order across instances', async ({ mocks }) => {
  answerFleet(mocks, { 'i-1': 'ami-new', 'i-2': 'ami-new' }, { 'i-1': ['healthy'], 'i-2': ['healthy'] });
  mocks.logs
    .on(FilterLogEventsCommand)
    .resolvesOnce({
      events: [{ logStreamName: 'i-2', timestamp: T0 + 2000, message: 'demo[7]: second', eventId: 'b' }],
      nextToken: 'page-2',
    })
    .resolvesOnce({
      events: [{ logStreamName: 'i-1', timestamp: T0 + 1000, message: 'demo[6]: first', eventId: 'a' }],
    });
  const lines: string[] = [];
  const now = Date.now();
  await awsLogs(recordingIO(), mocks.clients, ENV, { lines: 100, follow: false, sinceSeconds: 600 }, (line) =>
    lines.push(line),
  );
  assert.equal(lines.slice(0, 2), [
    'i-1 | 2026-12-07T22:00:01.000Z demo[6]: first',
    'i-2 | 2026-12-07T22:00:02.000Z demo[7]: second',
  ]);
  const [first] = mocks.logs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input);
  assert.equal(first?.logStreamNames, ['i-1', 'i-2']);
  assert.ok(Math.abs((first?.startTime ?? 0) - (now - 600_000)) < 5_000, `startTime ${first?.startTime}`);
});

Logs('--follow prints new lines once each until the run is interrupted', async ({ mocks }) => {
  answerFleet(mocks, { 'i-1': 'ami-new' }, { 'i-1': ['healthy'] });
  mocks.logs.on(GetLogEventsCommand).resolves({ events: [{ timestamp: T0, message: 'demo[1]: old' }] });
  const io = recordingIO();
  let polls = 0;
  // The same new line on every poll; the third poll interrupts the run, as Ctrl-C would.
  mocks.logs.on(FilterLogEventsCommand).callsFake(() => {
    polls += 1;
    if (polls >= 3) io.abort();
    return { events: [{ logStreamName: 'i-1', timestamp: T0 + 5000, message: 'demo[1]: new', eventId: 'n' }] };
  });
  const lines: string[] = [];
  await awsLogs(io, mocks.clients, ENV, { lines: 1, follow: true }, (line) => lines.push(line), 1);
  assert.equal(polls, 3);
  assert.equal(lines, ['i-1 | 2026-12-07T22:00:00.000Z demo[1]: old', 'i-1 | 2026-12-07T22:00:05.000Z demo[1]: new']);
});

Logs('--instance picks one, also a gone one with a stream; an unknown one is bad input', async ({ mocks }) => {
  answerFleet(mocks, { 'i-1': 'ami-new' }, { 'i-1': ['healthy'] });
  mocks.logs.on(GetLogEventsCommand).resolves({ events: [{ timestamp: T0, message: 'one line' }] });
  mocks.logs
    .on(DescribeLogStreamsCommand, { logStreamNamePrefix: 'i-gone' })
    .resolves({ logStreams: [{ logStreamName: 'i-gone' }] })
    .on(DescribeLogStreamsCommand, { logStreamNamePrefix: 'i-9' })
    .resolves({ logStreams: [] });
  const lines: string[] = [];
  await awsLogs(recordingIO(), mocks.clients, ENV, { lines: 100, follow: false, instance: 'i-1' }, (line) =>
    lines.push(line),
  );
  assert.equal(lines, ['i-1 | 2026-12-07T22:00:00.000Z one line', 'target-health | i-1:8080 healthy']);
  const gone: string[] = [];
  await awsLogs(recordingIO(), mocks.clients, ENV, { lines: 100, follow: false, instance: 'i-gone' }, (line) =>
    gone.push(line),
  );
  assert.equal(gone, ['i-gone | 2026-12-07T22:00:00.000Z one line']);
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
  assert.match(
    (missing as Error).message,
    `--instance "i-9": no such instance in the Auto Scaling group demo-staging, and no log stream of that name in ${GROUP}`,
  );
});

Logs('a missing log group is said as such (a stack from before logs shipping)', async ({ mocks }) => {
  answerFleet(mocks, { 'i-1': 'ami-new' }, { 'i-1': ['healthy'] });
  mocks.logs
    .on(FilterLogEventsCommand)
    .rejects(awsError('ResourceNotFoundException', 'The specified log group does not exist.'));
  const error = await awsLogs(
    recordingIO(),
    mocks.clients,
    ENV,
    { lines: 1, follow: false, sinceSeconds: 60 },
    () => {},
  )
    .then(() => undefined)
    .catch((caught: unknown) => caught);
  assert.instance(error, InputError);
  assert.match((error as Error).message, `the log group ${GROUP} does not exist`);
});

Logs.run();
