// Every AWS call the aws target makes, each answered by aws-sdk-client-mock with access
// denied, throttling and an HTML 500 page: the error names the call, the resource and
// AWS's code; throttling is retried until the call succeeds; an HTML page on every
// attempt ends in the clear message; nothing of the SDK's message or stack shows.

import { DescribeInstanceRefreshesCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeRegionsCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import * as assert from 'uvu/assert';
import { PreflightError } from '../../pipeline/errors.ts';
import { describeAlarms } from '../../pipeline/targets/aws/alarms.ts';
import { AwsCallError } from '../../pipeline/targets/aws/errors.ts';
import { amiStore } from '../../pipeline/targets/aws/images.ts';
import {
  checkCredentials,
  checkInstanceType,
  checkRegion,
  resolveBaseImage,
  resolveNetwork,
} from '../../pipeline/targets/aws/preflight.ts';
import { listRefreshes, waitForRefresh } from '../../pipeline/targets/aws/refresh.ts';
import { describeTargets, waitForHealthyTargets } from '../../pipeline/targets/aws/target-health.ts';
import {
  awsEnvironment,
  awsError,
  everythingSaid,
  FAST_RETRY,
  htmlPageError,
  mockedClients,
  recordingIO,
  type RecordingIO,
} from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

type Mocks = ReturnType<typeof mockedClients>;
type ClientName = 'sts' | 'ec2' | 'autoscaling' | 'elbv2' | 'cloudwatch';

interface CallSite {
  /** The function that makes the call, for the test titles. */
  site: string;
  call: string;
  resource: string;
  client: ClientName;
  /** The SDK command class under test (its client's stub answers it). */
  command: new (...args: never[]) => unknown;
  /** A successful answer of the call under test. */
  ok: object;
  /** The code AWS gives for a missing permission on this service. */
  denied: string;
  /** Answers to the calls the site makes before the one under test. */
  arrange?: (mocks: Mocks) => void;
  run: (mocks: Mocks, io: RecordingIO) => Promise<unknown>;
}

const ENV = awsEnvironment();
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo/0123456789abcdef';
const NETWORK = {
  vpcId: 'vpc-0def',
  isDefaultVpc: true,
  subnets: [
    { id: 'subnet-a', availabilityZone: 'eu-west-1a' },
    { id: 'subnet-b', availabilityZone: 'eu-west-1b' },
  ],
};

const AMI: Image = {
  ImageId: 'ami-07',
  Name: 'demo-staging-07',
  CreationDate: '2026-11-07T00:00:00.000Z',
  State: 'available',
  RootDeviceName: '/dev/xvda',
  BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-07' } }],
  Tags: [
    { Key: 'bakery:app', Value: 'demo' },
    { Key: 'bakery:env', Value: 'staging' },
    { Key: 'bakery:fingerprint', Value: 'fp' },
  ],
};

const store = (mocks: Mocks) => amiStore(mocks.clients, ENV, { intervalMs: 1, deadlineMs: 1_000 });

const SITES: CallSite[] = [
  {
    site: 'checkCredentials',
    call: 'sts:GetCallerIdentity',
    resource: 'the credentials in eu-west-1',
    client: 'sts',
    command: GetCallerIdentityCommand,
    ok: { Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ci' },
    denied: 'AccessDenied',
    run: (mocks, io) => checkCredentials(mocks.clients, io),
  },
  {
    site: 'checkRegion',
    call: 'ec2:DescribeRegions',
    resource: 'eu-west-1',
    client: 'ec2',
    command: DescribeRegionsCommand,
    ok: { Regions: [{ RegionName: 'eu-west-1', OptInStatus: 'opt-in-not-required' }] },
    denied: 'UnauthorizedOperation',
    run: (mocks, io) => checkRegion(mocks.clients, ENV, io),
  },
  {
    site: 'resolveNetwork (VPC)',
    call: 'ec2:DescribeVpcs',
    resource: 'the default VPC of eu-west-1',
    client: 'ec2',
    command: DescribeVpcsCommand,
    ok: { Vpcs: [{ VpcId: 'vpc-0def', IsDefault: true }] },
    denied: 'UnauthorizedOperation',
    arrange: (mocks) =>
      mocks.ec2.on(DescribeSubnetsCommand).resolves({
        Subnets: [
          { SubnetId: 'subnet-a', VpcId: 'vpc-0def', AvailabilityZone: 'eu-west-1a' },
          { SubnetId: 'subnet-b', VpcId: 'vpc-0def', AvailabilityZone: 'eu-west-1b' },
        ],
      }),
    run: (mocks, io) => resolveNetwork(mocks.clients, ENV, io),
  },
  {
    site: 'resolveNetwork (subnets)',
    call: 'ec2:DescribeSubnets',
    resource: 'the default subnets of vpc-0def',
    client: 'ec2',
    command: DescribeSubnetsCommand,
    ok: {
      Subnets: [
        { SubnetId: 'subnet-a', VpcId: 'vpc-0def', AvailabilityZone: 'eu-west-1a' },
        { SubnetId: 'subnet-b', VpcId: 'vpc-0def', AvailabilityZone: 'eu-west-1b' },
      ],
    },
    denied: 'UnauthorizedOperation',
    arrange: (mocks) => mocks.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0def', IsDefault: true }] }),
    run: (mocks, io) => resolveNetwork(mocks.clients, ENV, io),
  },
  {
    site: 'resolveBaseImage',
    call: 'ec2:DescribeImages',
    resource: 'base AMI "debian-12-amd64-*" of owner 136693071363',
    client: 'ec2',
    command: DescribeImagesCommand,
    ok: { Images: [{ ImageId: 'ami-0base', Name: 'debian-12-amd64-1', CreationDate: '2026-11-01T00:00:00.000Z' }] },
    denied: 'UnauthorizedOperation',
    run: (mocks, io) => resolveBaseImage(mocks.clients, ENV, io),
  },
  {
    site: 'checkInstanceType',
    call: 'ec2:DescribeInstanceTypeOfferings',
    resource: 't3.micro in eu-west-1a, eu-west-1b',
    client: 'ec2',
    command: DescribeInstanceTypeOfferingsCommand,
    ok: {
      InstanceTypeOfferings: [
        { InstanceType: 't3.micro', Location: 'eu-west-1a' },
        { InstanceType: 't3.micro', Location: 'eu-west-1b' },
      ],
    },
    denied: 'UnauthorizedOperation',
    run: (mocks, io) => checkInstanceType(mocks.clients, ENV, NETWORK, io),
  },
  {
    site: 'images.findByFingerprint',
    call: 'ec2:DescribeImages',
    resource: 'the AMIs of demo/staging',
    client: 'ec2',
    command: DescribeImagesCommand,
    ok: { Images: [AMI] },
    denied: 'UnauthorizedOperation',
    run: (mocks, io) => store(mocks).findByFingerprint(io, 'fp'),
  },
  {
    site: 'images.resolve',
    call: 'ec2:DescribeImages',
    resource: 'ami-0123456789',
    client: 'ec2',
    command: DescribeImagesCommand,
    ok: { Images: [{ ...AMI, ImageId: 'ami-0123456789' }] },
    denied: 'UnauthorizedOperation',
    run: (mocks, io) => store(mocks).resolve(io, 'ami-0123456789'),
  },
  {
    site: 'images.adopt',
    call: 'ec2:CreateTags',
    resource: 'ami-07',
    client: 'ec2',
    command: CreateTagsCommand,
    ok: {},
    denied: 'UnauthorizedOperation',
    arrange: (mocks) => mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [{ ...AMI, Tags: [] }] }),
    run: (mocks, io) => store(mocks).adopt(io, 'eu-west-1:ami-07', 'fp'),
  },
  {
    site: 'images.prune (deregister)',
    call: 'ec2:DeregisterImage',
    resource: 'ami-07',
    client: 'ec2',
    command: DeregisterImageCommand,
    ok: {},
    denied: 'UnauthorizedOperation',
    arrange: (mocks) => {
      mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [AMI] });
      mocks.ec2.on(DeleteSnapshotCommand).resolves({});
    },
    run: (mocks, io) => store(mocks).prune(io, { keep: 1, inUse: { id: 'ami-other', fingerprint: 'x' }, history: [] }),
  },
  {
    site: 'images.prune (snapshot)',
    call: 'ec2:DeleteSnapshot',
    resource: 'snap-07',
    client: 'ec2',
    command: DeleteSnapshotCommand,
    ok: {},
    denied: 'UnauthorizedOperation',
    arrange: (mocks) => {
      mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [AMI] });
      mocks.ec2.on(DeregisterImageCommand).resolves({});
    },
    run: (mocks, io) => store(mocks).prune(io, { keep: 1, inUse: { id: 'ami-other', fingerprint: 'x' }, history: [] }),
  },
  {
    site: 'images.removeAll (orphaned snapshots)',
    call: 'ec2:DescribeSnapshots',
    resource: 'the snapshots of demo/staging',
    client: 'ec2',
    command: DescribeSnapshotsCommand,
    ok: { Snapshots: [] },
    denied: 'UnauthorizedOperation',
    arrange: (mocks) => mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [] }),
    run: (mocks, io) => store(mocks).removeAll(io),
  },
  {
    site: 'listRefreshes',
    call: 'autoscaling:DescribeInstanceRefreshes',
    resource: 'demo-staging',
    client: 'autoscaling',
    command: DescribeInstanceRefreshesCommand,
    ok: { InstanceRefreshes: [] },
    denied: 'AccessDenied',
    run: (mocks, io) => listRefreshes(mocks.clients, 'demo-staging', io),
  },
  {
    site: 'waitForRefresh',
    call: 'autoscaling:DescribeInstanceRefreshes',
    resource: 'demo-staging (refresh r1)',
    client: 'autoscaling',
    command: DescribeInstanceRefreshesCommand,
    ok: { InstanceRefreshes: [{ InstanceRefreshId: 'r1', Status: 'Successful', PercentageComplete: 100 }] },
    denied: 'AccessDenied',
    run: (mocks, io) =>
      waitForRefresh(io, {
        clients: mocks.clients,
        asgName: 'demo-staging',
        refreshId: 'r1',
        pollMs: 1,
        deadlineMs: 5_000,
      }),
  },
  {
    site: 'describeAlarms',
    call: 'cloudwatch:DescribeAlarms',
    resource: 'demo-staging-target-5xx-rate, demo-staging-unhealthy-hosts',
    client: 'cloudwatch',
    command: DescribeAlarmsCommand,
    ok: { MetricAlarms: [{ AlarmName: 'demo-staging-target-5xx-rate', StateValue: 'OK', StateReason: 'fine' }] },
    denied: 'AccessDenied',
    run: (mocks, io) =>
      describeAlarms(mocks.clients, ['demo-staging-target-5xx-rate', 'demo-staging-unhealthy-hosts'], io),
  },
  {
    site: 'describeTargets',
    call: 'elasticloadbalancing:DescribeTargetHealth',
    resource: ARN,
    client: 'elbv2',
    command: DescribeTargetHealthCommand,
    ok: { TargetHealthDescriptions: [] },
    denied: 'AccessDenied',
    run: (mocks, io) => describeTargets(mocks.clients, ARN, io),
  },
  {
    site: 'waitForHealthyTargets',
    call: 'elasticloadbalancing:DescribeTargetHealth',
    resource: ARN,
    client: 'elbv2',
    command: DescribeTargetHealthCommand,
    ok: { TargetHealthDescriptions: [{ Target: { Id: 'i-1', Port: 8080 }, TargetHealth: { State: 'healthy' } }] },
    denied: 'AccessDenied',
    run: (mocks, io) =>
      waitForHealthyTargets(io, { clients: mocks.clients, targetGroupArn: ARN, want: 1, pollMs: 1, deadlineMs: 5_000 }),
  },
];

// The table mixes commands of five clients; the stub of each row's client takes its command.
const answersTo = (mocks: Mocks, site: CallSite) => mocks[site.client].on(site.command as never);
const callsOf = (mocks: Mocks, site: CallSite): number => mocks[site.client].commandCalls(site.command as never).length;

const Sites = suite<{ mocks: Mocks }>('every AWS call site');

Sites.before.each((context) => {
  context.mocks = mockedClients();
});

Sites.after.each((context) => {
  context.mocks.restore();
});

/** The output nobody should see: the SDK's parser complaint, its hint at hidden fields, a stack frame. */
const SDK_NOISE = /@aws-sdk|XML parse error|Deserialization error|\$response|\n\s+at /;

function assertNoSdkNoise(error: Error & { details?: string[] }, io: RecordingIO): void {
  for (const text of [error.message, ...(error.details ?? []), everythingSaid(io)]) assert.not.match(text, SDK_NOISE);
}

async function failureOf(site: CallSite, mocks: Mocks, io: RecordingIO): Promise<Error & { details: string[] }> {
  const error = await site.run(mocks, io).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof Error, `${site.site} should have failed`);
  return error as Error & { details: string[] };
}

for (const site of SITES) {
  Sites(`${site.site}: access denied names ${site.call}, the resource and the code`, async ({ mocks }) => {
    site.arrange?.(mocks);
    answersTo(mocks, site).rejects(awsError(site.denied, 'You are not authorized to perform this operation.', 403));
    const io = recordingIO();
    const error = await failureOf(site, mocks, io);
    if (site.client === 'sts') {
      // Denied at the credentials check means the credentials are bad, not a missing permission.
      assert.instance(error, PreflightError);
      assert.match(error.message, /^AWS rejected the credentials \(AccessDenied\)/);
    } else {
      assert.instance(error, AwsCallError);
      assert.is(
        error.message,
        `${site.call} for ${site.resource} failed: ${site.denied}: You are not authorized to perform this operation.`,
      );
      assert.match(
        error.details.join('\n'),
        new RegExp(`not allowed ${site.call}: iam/deploy-policy\\.json lists every permission bakery needs`),
      );
    }
    assert.is(callsOf(mocks, site), 1, 'a denial is not retried');
    assertNoSdkNoise(error, io);
  });

  Sites(`${site.site}: throttling is retried and the call succeeds`, async ({ mocks }) => {
    site.arrange?.(mocks);
    answersTo(mocks, site)
      .rejectsOnce(awsError(site.client === 'ec2' ? 'RequestLimitExceeded' : 'Throttling', 'Rate exceeded', 400))
      .resolves(site.ok);
    const io = recordingIO();
    await site.run(mocks, io);
    assert.is(callsOf(mocks, site), 2);
    assert.ok(
      io.debugs.some((line) => line.startsWith(`${site.call} for ${site.resource}: attempt 1 failed:`)),
      io.debugs.join('\n'),
    );
  });

  Sites(
    `${site.site}: an HTML 500 on every attempt ends in a message naming the call and what answered`,
    async ({ mocks }) => {
      site.arrange?.(mocks);
      answersTo(mocks, site).rejects(htmlPageError(500));
      const io = recordingIO();
      const error = await failureOf(site, mocks, io);
      assert.instance(error, AwsCallError);
      assert.is(
        error.message,
        `${site.call} for ${site.resource} failed after ${FAST_RETRY.attempts} attempts: HTTP 500: an HTML page instead of an AWS response ("500 Internal Server Error")`,
      );
      assert.is(callsOf(mocks, site), FAST_RETRY.attempts);
      assertNoSdkNoise(error, io);
    },
  );
}

Sites.run();
