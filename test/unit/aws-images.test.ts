// AMIs as images (pipeline/targets/aws/images.ts): the fingerprint cache, --image,
// adopting Packer's artifact, retention and removal, against mocked EC2 answers.

import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import * as assert from 'uvu/assert';
import { DeployError, UsageError } from '../../pipeline/errors.ts';
import { amiFromArtifact, amiStore, describeAmi } from '../../pipeline/targets/aws/images.ts';
import type { HistoryEntry } from '../../pipeline/state/history.ts';
import type { ImageStore } from '../../pipeline/targets/target.ts';
import { awsEnvironment, awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Images = suite<{ mocks: ReturnType<typeof mockedClients>; store: ImageStore }>('AMI store');

Images.before.each((context) => {
  context.mocks = mockedClients();
  context.store = amiStore(context.mocks.clients, awsEnvironment(), { intervalMs: 1, deadlineMs: 5_000 });
});

Images.after.each((context) => {
  context.mocks.restore();
});

/** An AMI of a layered bake: a base layer, or an app layer baked on `builtFrom`. */
function layered(id: string, created: string, layer: 'base' | 'app', builtFrom = ''): Image {
  const image = ami(id, created);
  return {
    ...image,
    Tags: [
      ...(image.Tags ?? []),
      { Key: 'bakery:layer', Value: layer },
      { Key: 'bakery:built_from', Value: builtFrom },
    ],
  };
}

function ami(id: string, created: string, fingerprint = `fp-${id}`, snapshot = `snap-${id.slice(4)}`): Image {
  return {
    ImageId: id,
    Name: `demo-staging-${id}`,
    CreationDate: created,
    State: 'available',
    RootDeviceName: '/dev/xvda',
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshot } }],
    Tags: [
      { Key: 'bakery:app', Value: 'demo' },
      { Key: 'bakery:env', Value: 'staging' },
      { Key: 'bakery:fingerprint', Value: fingerprint },
    ],
  };
}

Images('the AMI id is taken from the artifact for the deploy region only', () => {
  assert.is(amiFromArtifact('eu-west-1:ami-0abc1234', 'eu-west-1'), 'ami-0abc1234');
  assert.is(amiFromArtifact('us-east-1:ami-0aaa1111,eu-west-1:ami-0bbb2222', 'eu-west-1'), 'ami-0bbb2222');
  assert.is(amiFromArtifact('us-east-1:ami-0aaa1111', 'eu-west-1'), undefined);
  assert.is(amiFromArtifact('sha256:0123', 'eu-west-1'), undefined);
});

Images(
  'the cache finds the newest available AMI of this app, environment and fingerprint',
  async ({ mocks, store }) => {
    mocks.ec2.on(DescribeImagesCommand).resolves({
      Images: [ami('ami-01', '2026-11-01T00:00:00.000Z', 'fp'), ami('ami-02', '2026-11-20T00:00:00.000Z', 'fp')],
    });
    const found = await store.findByFingerprint(recordingIO(), 'fp');
    assert.equal(found, {
      id: 'ami-02',
      fingerprint: 'fp',
      name: 'demo-staging-ami-02',
      createdAt: '2026-11-20T00:00:00.000Z',
    });
    const input = mocks.ec2.commandCalls(DescribeImagesCommand)[0]?.args[0].input;
    assert.equal(input?.Owners, ['self']);
    assert.equal(input?.Filters, [
      { Name: 'tag:bakery:app', Values: ['demo'] },
      { Name: 'tag:bakery:env', Values: ['staging'] },
      { Name: 'tag:bakery:fingerprint', Values: ['fp'] },
      { Name: 'state', Values: ['available'] },
    ]);
  },
);

Images('--image with an unknown AMI is bad input (exit 2)', async ({ mocks, store }) => {
  mocks.ec2
    .on(DescribeImagesCommand)
    .rejects(awsError('InvalidAMIID.NotFound', "The image id '[ami-0123456789]' does not exist"));
  const error = await store.resolve(recordingIO(), 'ami-0123456789').catch((e: unknown) => e);
  assert.instance(error, UsageError);
  assert.match((error as Error).message, /--image ami-0123456789: no such AMI in eu-west-1/);
  const malformed = await store.resolve(recordingIO(), 'image-1').catch((e: unknown) => e);
  assert.instance(malformed, UsageError);
});

Images('--image of another app is deployed with a warning', async ({ mocks, store }) => {
  mocks.ec2.on(DescribeImagesCommand).resolves({
    Images: [{ ...ami('ami-0fedcba98', '2026-11-01T00:00:00.000Z'), Tags: [{ Key: 'bakery:app', Value: 'other' }] }],
  });
  const io = recordingIO();
  const ref = await store.resolve(io, 'ami-0fedcba98');
  assert.is(ref.fingerprint, 'unknown');
  assert.match(io.warnings[0] ?? '', /was not baked for demo\/staging/);
});

Images(
  'adopting an artifact whose tags lack the fingerprint tags the AMI and its snapshots',
  async ({ mocks, store }) => {
    mocks.ec2.on(DescribeImagesCommand).resolves({
      Images: [{ ...ami('ami-0abc', '2026-11-22T00:00:00.000Z'), Tags: [{ Key: 'bakery:app', Value: 'demo' }] }],
    });
    mocks.ec2.on(CreateTagsCommand).resolves({});
    const ref = await store.adopt(recordingIO(), 'eu-west-1:ami-0abc', 'fp-new');
    assert.is(ref.fingerprint, 'fp-new');
    const tagged = mocks.ec2.commandCalls(CreateTagsCommand)[0]?.args[0].input;
    assert.equal(tagged?.Resources, ['ami-0abc', 'snap-0abc']);
    assert.equal(tagged?.Tags, [
      { Key: 'bakery:env', Value: 'staging' },
      { Key: 'bakery:fingerprint', Value: 'fp-new' },
    ]);
  },
);

Images('adopting a fully tagged artifact changes nothing', async ({ mocks, store }) => {
  mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [ami('ami-0abc', '2026-11-22T00:00:00.000Z', 'fp')] });
  await store.adopt(recordingIO(), 'eu-west-1:ami-0abc', 'fp');
  assert.is(mocks.ec2.commandCalls(CreateTagsCommand).length, 0);
});

Images(
  'pruning without history keeps the image in use and the newest images up to image.keep, deregistering the rest before deleting their snapshots',
  async ({ mocks, store }) => {
    const images = [
      ami('ami-05', '2026-11-05T00:00:00.000Z'),
      ami('ami-01', '2026-11-01T00:00:00.000Z'),
      ami('ami-03', '2026-11-03T00:00:00.000Z'),
      ami('ami-04', '2026-11-04T00:00:00.000Z'),
      ami('ami-02', '2026-11-02T00:00:00.000Z'),
    ];
    mocks.ec2.on(DescribeImagesCommand).resolves({ Images: images });
    mocks.ec2.on(DeregisterImageCommand).resolves({});
    mocks.ec2.on(DeleteSnapshotCommand).resolves({});
    // In use: the oldest (a rollback with --image); it must survive although it is not among the newest 2.
    const removed = await store.prune(recordingIO(), {
      keep: 3,
      inUse: { id: 'ami-01', fingerprint: 'fp-ami-01' },
      history: [],
    });
    assert.equal(
      mocks.ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId),
      ['ami-03', 'ami-02'],
    );
    assert.equal(
      mocks.ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId),
      ['snap-03', 'snap-02'],
    );
    assert.equal(removed, [
      'AMI ami-03 (demo-staging-ami-03) and its snapshot snap-03 (unknown to the history)',
      'AMI ami-02 (demo-staging-ami-02) and its snapshot snap-02 (unknown to the history)',
    ]);
    const order = mocks.ec2.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
    assert.ok(
      order.indexOf('DeregisterImageCommand') < order.indexOf('DeleteSnapshotCommand'),
      'deregister first: a snapshot in use by an AMI cannot be deleted',
    );
  },
);

Images('a snapshot AWS still counts as in use is retried until it can be deleted', async ({ mocks, store }) => {
  mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [ami('ami-09', '2026-11-09T00:00:00.000Z')] });
  mocks.ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  mocks.ec2.on(DeregisterImageCommand).resolves({});
  mocks.ec2
    .on(DeleteSnapshotCommand)
    .rejectsOnce(awsError('InvalidSnapshot.InUse', 'The snapshot snap-09 is currently in use by ami-09'))
    .resolves({});
  const removed = await store.removeAll(recordingIO());
  assert.is(mocks.ec2.commandCalls(DeleteSnapshotCommand).length, 2);
  assert.equal(removed, ['AMI ami-09 (demo-staging-ami-09) and its snapshot snap-09']);
});

Images(
  'removing everything tolerates what is already gone and deletes orphaned snapshots',
  async ({ mocks, store }) => {
    mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [ami('ami-07', '2026-11-07T00:00:00.000Z')] });
    mocks.ec2.on(DeregisterImageCommand).rejects(awsError('InvalidAMIID.Unavailable'));
    mocks.ec2
      .on(DescribeSnapshotsCommand)
      .resolves({ Snapshots: [{ SnapshotId: 'snap-07' }, { SnapshotId: 'snap-orphan' }] });
    mocks.ec2.on(DeleteSnapshotCommand, { SnapshotId: 'snap-07' }).rejects(awsError('InvalidSnapshot.NotFound'));
    mocks.ec2.on(DeleteSnapshotCommand, { SnapshotId: 'snap-orphan' }).resolves({});
    const removed = await store.removeAll(recordingIO());
    assert.equal(removed, ['snapshot snap-orphan']);
    const filters = mocks.ec2.commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input;
    assert.equal(filters?.OwnerIds, ['self']);
  },
);

Images('removing nothing returns nothing', async ({ mocks, store }) => {
  mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [] });
  mocks.ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  assert.equal(await store.removeAll(recordingIO()), []);
  assert.is(mocks.ec2.commandCalls(DeregisterImageCommand).length, 0);
});

Images('an image is described afresh by id: its root device name needs no earlier lookup', async ({ mocks }) => {
  mocks.ec2
    .on(DescribeImagesCommand, { ImageIds: ['ami-0abc'] })
    .resolves({ Images: [{ ...ami('ami-0abc', '2026-11-22T00:00:00.000Z'), RootDeviceName: '/dev/sda1' }] });
  const image = await describeAmi(recordingIO(), mocks.clients, 'ami-0abc');
  assert.is(image?.RootDeviceName, '/dev/sda1');
  mocks.ec2
    .on(DescribeImagesCommand, { ImageIds: ['ami-0gone'] })
    .rejects(awsError('InvalidAMIID.NotFound', "The image id '[ami-0gone]' does not exist"));
  assert.is(await describeAmi(recordingIO(), mocks.clients, 'ami-0gone'), undefined);
});

Images(
  'pruning keeps the base-layer AMI (and its snapshot) of every kept release, and removes the bases no kept AMI stands on',
  async ({ mocks, store }) => {
    const day = (n: number) => `2026-11-${String(n).padStart(2, '0')}T00:00:00.000Z`;
    const images = [
      // Base layers: b1 (old, release a1 stands on it), b2 (releases a2 and a3), b3 (newest,
      // nothing baked on it yet: the next deploy's), b0 (only a pruned release's).
      layered('ami-0b0', day(1), 'base'),
      layered('ami-0b1', day(2), 'base'),
      layered('ami-0b2', day(5), 'base'),
      layered('ami-0b3', day(9), 'base'),
      layered('ami-0a0', day(2), 'app', 'ami-0b0'),
      layered('ami-0a1', day(3), 'app', 'ami-0b1'),
      layered('ami-0a2', day(6), 'app', 'ami-0b2'),
      layered('ami-0a3', day(7), 'app', 'ami-0b2'),
    ];
    mocks.ec2.on(DescribeImagesCommand).resolves({ Images: images });
    mocks.ec2.on(DeregisterImageCommand).resolves({});
    mocks.ec2.on(DeleteSnapshotCommand).resolves({});
    const release = (image: string, at: string): HistoryEntry => ({
      command: 'deploy',
      env: 'staging',
      target: 'aws',
      started_at: at,
      seconds: 60,
      who: 'ci',
      outcome: 'succeeded',
      exit_code: 0,
      image,
      fingerprint: `fp-${image}`,
    });
    const removed = await store.prune(recordingIO(), {
      keep: 3,
      inUse: { id: 'ami-0a3', fingerprint: 'fp-ami-0a3' },
      history: [
        release('ami-0a0', day(2)),
        release('ami-0a1', day(3)),
        release('ami-0a2', day(6)),
        release('ami-0a3', day(7)),
      ],
    });
    // Kept: a3 (in service), a2 and a1 (releases), so b2 and b1 (their bases); of the
    // 3 base slots b3, the newest, takes the last. a0 is an old release, b0 only its base.
    assert.equal(
      mocks.ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId),
      ['ami-0a0', 'ami-0b0'],
      'the release first, then the base only it stood on',
    );
    assert.equal(
      mocks.ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId),
      ['snap-0a0', 'snap-0b0'],
    );
    assert.equal(removed, [
      'AMI ami-0a0 (demo-staging-ami-0a0) and its snapshot snap-0a0 (old release)',
      'AMI ami-0b0 (demo-staging-ami-0b0) and its snapshot snap-0b0 (base of no kept image)',
    ]);
  },
);

Images(
  'a base layer is never counted as a release: image.keep 1 keeps the image in service and its base, nothing else',
  async ({ mocks, store }) => {
    const images = [
      layered('ami-0b1', '2026-11-01T00:00:00.000Z', 'base'),
      layered('ami-0b2', '2026-11-08T00:00:00.000Z', 'base'),
      layered('ami-0a1', '2026-11-02T00:00:00.000Z', 'app', 'ami-0b1'),
      // Baked before layers: no layer tag, an image like any other.
      ami('ami-0c1', '2026-10-01T00:00:00.000Z'),
    ];
    mocks.ec2.on(DescribeImagesCommand).resolves({ Images: images });
    mocks.ec2.on(DeregisterImageCommand).resolves({});
    mocks.ec2.on(DeleteSnapshotCommand).resolves({});
    await store.prune(recordingIO(), { keep: 1, inUse: { id: 'ami-0a1', fingerprint: 'fp-ami-0a1' }, history: [] });
    assert.equal(
      mocks.ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId),
      ['ami-0c1', 'ami-0b2'],
    );
  },
);

Images(
  'a snapshot AWS counts as in use past the deadline fails naming it and how to delete it later',
  async ({ mocks }) => {
    const store = amiStore(mocks.clients, awsEnvironment(), { intervalMs: 1, deadlineMs: 20 });
    mocks.ec2.on(DescribeImagesCommand).resolves({ Images: [ami('ami-09', '2026-11-09T00:00:00.000Z')] });
    mocks.ec2.on(DeregisterImageCommand).resolves({});
    mocks.ec2
      .on(DeleteSnapshotCommand)
      .rejects(awsError('InvalidSnapshot.InUse', 'The snapshot snap-09 is currently in use by ami-09'));
    const error = (await store
      .prune(recordingIO(), { keep: 1, inUse: { id: 'ami-other', fingerprint: 'x' }, history: [] })
      .catch((e: unknown) => e)) as DeployError;
    assert.instance(error, DeployError);
    assert.match(
      error.message,
      /^deleting snapshot snap-09 failed: InvalidSnapshot\.InUse: The snapshot snap-09 is currently in use/,
    );
    assert.ok(
      error.details.includes('delete it later with: aws ec2 delete-snapshot --region eu-west-1 --snapshot-id snap-09'),
      error.details.join('|'),
    );
  },
);

Images.run();
