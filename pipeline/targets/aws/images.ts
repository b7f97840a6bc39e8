// AMIs as bakery's images. Packer tags every AMI and its snapshots with bakery:app,
// bakery:env and bakery:fingerprint; these tags are how a bake is found again (cache),
// which images are kept (retention) and what destroy removes. Deleting an AMI is two
// steps on AWS: DeregisterImage leaves its EBS snapshots behind (and billed), so each
// snapshot is deleted after it.

import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Filter,
  type Image,
} from '@aws-sdk/client-ec2';
import type { AwsEnvironment } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { DeployError, UsageError } from '../../errors.ts';
import { pollUntil } from '../../process/poll.ts';
import { decideBaseLayerRetention, decideRetention, type RetentionCandidate } from '../../state/retention.ts';
import type { ImageRef, ImageStore } from '../target.ts';
import { callAws, type AwsCallIO } from './call.ts';
import type { AwsClients } from './clients.ts';
import { describeAwsError, isAwsErrorCode, type AwsCallError } from './errors.ts';

export const TAGS = {
  app: 'bakery:app',
  env: 'bakery:env',
  fingerprint: 'bakery:fingerprint',
  version: 'bakery:version',
  gitRevision: 'bakery:git_revision',
  /** base, app or all (AMIs baked before layers have none: they are images, not base layers). */
  layer: 'bakery:layer',
  /** An app layer's base-layer AMI. */
  builtFrom: 'bakery:built_from',
} as const;

export function tagValue(image: Pick<Image, 'Tags'>, key: string): string | undefined {
  return image.Tags?.find((tag) => tag.Key === key)?.Value;
}

export function snapshotIds(image: Pick<Image, 'BlockDeviceMappings'>): string[] {
  return (image.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId).filter((id): id is string => Boolean(id));
}

/** Newest first, by creation date then id, so the order is stable. */
export function sortNewestFirst(images: readonly Image[]): Image[] {
  return [...images].sort(
    (a, b) =>
      (b.CreationDate ?? '').localeCompare(a.CreationDate ?? '') || (b.ImageId ?? '').localeCompare(a.ImageId ?? ''),
  );
}

/** "eu-west-1:ami-0abc" (or several, comma-separated, after copies) → the id in `region`. */
export function amiFromArtifact(artifactId: string, region: string): string | undefined {
  for (const part of artifactId.split(',')) {
    const [where, id] = part.trim().split(':');
    if (where === region && id && /^ami-[0-9a-f]+$/.test(id)) return id;
  }
  return undefined;
}

export function describeImage(image: Image): string {
  return `${image.ImageId}${image.Name ? ` (${image.Name})` : ''}`;
}

/** How long DeleteSnapshot waits for AWS to stop counting a snapshot as used by its deregistered AMI. */
export interface SnapshotRelease {
  intervalMs: number;
  deadlineMs: number;
}

export const SNAPSHOT_RELEASE: SnapshotRelease = { intervalMs: 2_000, deadlineMs: 30_000 };

/**
 * One AMI as AWS describes it now, or undefined when the region has no such image.
 * Whoever needs an image's details (the root device name for the launch template) asks
 * for them here, rather than relying on an earlier lookup having kept them.
 */
export async function describeAmi(io: AwsCallIO, clients: AwsClients, id: string): Promise<Image | undefined> {
  try {
    const result = await callAws(io, { call: 'ec2:DescribeImages', resource: id, retry: clients.retry }, (signal) =>
      clients.ec2.send(new DescribeImagesCommand({ ImageIds: [id] }), { abortSignal: signal }),
    );
    return result.Images?.find((image) => image.ImageId === id) ?? result.Images?.[0];
  } catch (error) {
    if (isAwsErrorCode(error, 'InvalidAMIID')) return undefined;
    throw error;
  }
}

/** The AMIs of one app and environment as bakery's image store; every method asks AWS afresh. */
export function amiStore(
  clients: AwsClients,
  env: AwsEnvironment,
  release: SnapshotRelease = SNAPSHOT_RELEASE,
): ImageStore {
  return {
    async findByFingerprint(io, fingerprint) {
      const images = await listImages(io, clients, env, [
        { Name: `tag:${TAGS.fingerprint}`, Values: [fingerprint] },
        { Name: 'state', Values: ['available'] },
      ]);
      const newest = sortNewestFirst(images)[0];
      return newest ? toRef(newest) : undefined;
    },

    async resolve(io, id) {
      if (!/^ami-[0-9a-f]{8,17}$/.test(id))
        throw new UsageError(
          `--image ${id}: not an AMI id (expected ami- and 8 to 17 hex digits, such as ami-0123456789abcdef0)`,
        );
      const image = await describeAmi(io, clients, id);
      if (!image)
        throw new UsageError(
          `--image ${id}: no such AMI in ${env.aws.region}; list this environment's images with: aws ec2 describe-images --owners self --filters Name=tag:${TAGS.env},Values=${env.name}`,
        );
      if (image.State !== 'available')
        throw new UsageError(`--image ${id}: the AMI is ${image.State ?? 'not available'}, not available`);
      if (tagValue(image, TAGS.app) !== env.app || tagValue(image, TAGS.env) !== env.name) {
        io.warn(
          `${id} was not baked for ${env.app}/${env.name} (tags ${TAGS.app}=${tagValue(image, TAGS.app) ?? '-'}, ${TAGS.env}=${tagValue(image, TAGS.env) ?? '-'}); deploying it anyway`,
        );
      }
      return toRef(image);
    },

    async adopt(io, artifactId, fingerprint) {
      const id = amiFromArtifact(artifactId, env.aws.region);
      if (!id) throw new DeployError(`packer reported artifact "${artifactId}", which has no AMI in ${env.aws.region}`);
      const image = await describeAmi(io, clients, id);
      if (!image) throw new DeployError(`packer reported ${id}, but ${env.aws.region} has no such AMI`);
      // The template tags the AMI and its snapshots; should a tag be missing (an older
      // template, a manual bake), add them so the cache, retention and destroy find it.
      const wanted = { [TAGS.app]: env.app, [TAGS.env]: env.name, [TAGS.fingerprint]: fingerprint };
      const missing = Object.entries(wanted).filter(([key, value]) => tagValue(image, key) !== value);
      if (missing.length > 0) {
        await callAws(io, { call: 'ec2:CreateTags', resource: id, retry: clients.retry }, (signal) =>
          clients.ec2.send(
            new CreateTagsCommand({
              Resources: [id, ...snapshotIds(image)],
              Tags: missing.map(([Key, Value]) => ({ Key, Value })),
            }),
            { abortSignal: signal },
          ),
        );
        io.note(`tagged ${id} with ${missing.map(([k]) => k).join(', ')}`);
      }
      io.info(`baked ${describeImage(image)}`);
      return { ...toRef(image), fingerprint };
    },

    async prune(io, { keep, inUse, history }) {
      const all = sortNewestFirst(await listImages(io, clients, env));
      const byId = new Map(all.map((image) => [image.ImageId as string, image]));
      const isBase = (image: Image): boolean => tagValue(image, TAGS.layer) === 'base';
      const decision = decideRetention(all.filter((image) => !isBase(image)).map(candidate), {
        keep,
        inUse: inUse.id,
        history,
      });
      // A kept release keeps the base layer it was baked on (and that AMI's snapshots):
      // the way back never depends on a base that is gone.
      const keptBuiltFrom = new Set(
        decision.keep.map(({ id }) => tagValue(byId.get(id) as Image, TAGS.builtFrom) ?? '').filter(Boolean),
      );
      const bases = decideBaseLayerRetention(all.filter(isBase).map(candidate), keptBuiltFrom, keep);
      const removed: string[] = [];
      for (const { id, reason } of [...decision.prune, ...bases.prune]) {
        const lines = await removeImage(io, clients, env, release, byId.get(id) as Image);
        removed.push(...lines.map((line) => `${line} (${reason})`));
      }
      return removed;
    },

    async removeAll(io) {
      const removed: string[] = [];
      const images = await listImages(io, clients, env);
      for (const image of images) removed.push(...(await removeImage(io, clients, env, release, image)));
      // Snapshots left by an earlier, interrupted removal (the AMI went, its snapshot stayed).
      const referenced = new Set(images.flatMap(snapshotIds));
      for (const snapshot of await orphanSnapshots(io, clients, env)) {
        if (referenced.has(snapshot)) continue;
        if (await deleteSnapshot(io, clients, env, release, snapshot)) removed.push(`snapshot ${snapshot}`);
      }
      return removed;
    },
  };
}

/** Every AMI of this app and environment owned by the account, any state but gone. */
async function listImages(
  io: AwsCallIO,
  clients: AwsClients,
  env: AwsEnvironment,
  extra: Filter[] = [],
): Promise<Image[]> {
  const filters: Filter[] = [
    { Name: `tag:${TAGS.app}`, Values: [env.app] },
    { Name: `tag:${TAGS.env}`, Values: [env.name] },
    ...extra,
  ];
  const images: Image[] = [];
  let token: string | undefined;
  do {
    const page = await callAws(
      io,
      { call: 'ec2:DescribeImages', resource: `the AMIs of ${env.app}/${env.name}`, retry: clients.retry },
      (signal) =>
        clients.ec2.send(
          new DescribeImagesCommand({ Owners: ['self'], Filters: filters, ...(token ? { NextToken: token } : {}) }),
          { abortSignal: signal },
        ),
    );
    images.push(...(page.Images ?? []).filter((image) => image.ImageId && image.State !== 'deregistered'));
    token = page.NextToken;
  } while (token);
  return images;
}

async function orphanSnapshots(io: AwsCallIO, clients: AwsClients, env: AwsEnvironment): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await callAws(
      io,
      { call: 'ec2:DescribeSnapshots', resource: `the snapshots of ${env.app}/${env.name}`, retry: clients.retry },
      (signal) =>
        clients.ec2.send(
          new DescribeSnapshotsCommand({
            OwnerIds: ['self'],
            Filters: [
              { Name: `tag:${TAGS.app}`, Values: [env.app] },
              { Name: `tag:${TAGS.env}`, Values: [env.name] },
            ],
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal: signal },
        ),
    );
    ids.push(...(page.Snapshots ?? []).map((s) => s.SnapshotId).filter((id): id is string => Boolean(id)));
    token = page.NextToken;
  } while (token);
  return ids;
}

/** Deregisters the AMI, then deletes its snapshots; returns one line saying what went. */
async function removeImage(
  io: StageIO,
  clients: AwsClients,
  env: AwsEnvironment,
  release: SnapshotRelease,
  image: Image,
): Promise<string[]> {
  const id = image.ImageId as string;
  io.progress(`deregistering ${id}`);
  let deregistered = true;
  try {
    await callAws(io, { call: 'ec2:DeregisterImage', resource: id, retry: clients.retry }, (signal) =>
      clients.ec2.send(new DeregisterImageCommand({ ImageId: id }), { abortSignal: signal }),
    );
  } catch (error) {
    if (!isAwsErrorCode(error, 'InvalidAMIID')) throw error;
    deregistered = false;
  }
  const snapshots: string[] = [];
  for (const snapshot of snapshotIds(image)) {
    if (await deleteSnapshot(io, clients, env, release, snapshot)) snapshots.push(snapshot);
  }
  if (!deregistered && snapshots.length === 0) return [];
  const what =
    snapshots.length === 0 ? '' : ` and its snapshot${snapshots.length === 1 ? '' : 's'} ${snapshots.join(', ')}`;
  return [`AMI ${describeImage(image)}${what}`];
}

/** Deletes a snapshot; true when it went, false when it was already gone. */
async function deleteSnapshot(
  io: StageIO,
  clients: AwsClients,
  env: AwsEnvironment,
  release: SnapshotRelease,
  snapshot: string,
): Promise<boolean> {
  const later = `delete it later with: aws ec2 delete-snapshot --region ${env.aws.region} --snapshot-id ${snapshot}`;
  // Right after DeregisterImage, AWS can still count the snapshot as used by the AMI
  // for a short while (InvalidSnapshot.InUse); that clears by itself, so it is waited
  // out rather than retried as a fault.
  let inUse: AwsCallError | undefined;
  const result = await pollUntil(io, {
    what: `snapshot ${snapshot} to be deleted`,
    deadlineMs: release.deadlineMs,
    intervalMs: release.intervalMs,
    attempt: async () => {
      try {
        await callAws(
          io,
          { call: 'ec2:DeleteSnapshot', resource: snapshot, retry: clients.retry, remedy: later },
          (signal) => clients.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshot }), { abortSignal: signal }),
        );
        return { done: true, value: true };
      } catch (error) {
        if (isAwsErrorCode(error, 'InvalidSnapshot.NotFound')) return { done: true, value: false };
        if (!isAwsErrorCode(error, 'InvalidSnapshot.InUse')) throw error;
        inUse = error as AwsCallError;
        return { done: false, status: `${snapshot} still in use by its AMI` };
      }
    },
  });
  if (result.done) return result.value;
  throw new DeployError(`deleting snapshot ${snapshot} failed: ${inUse ? describeAwsError(inUse) : result.status}`, [
    `AWS still counted it as in use ${Math.round(release.deadlineMs / 1000)} s after its AMI was deregistered`,
    later,
  ]);
}

function candidate(image: Image): RetentionCandidate {
  return { id: image.ImageId as string, ...(image.CreationDate ? { createdAt: image.CreationDate } : {}) };
}

function toRef(image: Image): ImageRef {
  return {
    id: image.ImageId as string,
    fingerprint: tagValue(image, TAGS.fingerprint) ?? 'unknown',
    ...(tagValue(image, TAGS.gitRevision) ? { gitRevision: tagValue(image, TAGS.gitRevision) as string } : {}),
    ...(image.Name ? { name: image.Name } : {}),
    ...(image.CreationDate ? { createdAt: image.CreationDate } : {}),
  };
}
