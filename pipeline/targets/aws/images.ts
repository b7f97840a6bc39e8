// AMIs as bakery's images. Packer tags every AMI and its snapshots with bakery:app,
// bakery:env and bakery:fingerprint; these tags are how a bake is found again (cache),
// which images are kept (retention) and what destroy removes. Deleting an AMI is two
// steps on AWS: DeregisterImage leaves its EBS snapshots behind (and billed), so each
// snapshot is deleted after it.

import { setTimeout as sleep } from 'node:timers/promises';
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
import { DeployError, InterruptedError, UsageError } from '../../errors.ts';
import type { ImageRef, ImageStore } from '../target.ts';
import type { AwsClients } from './clients.ts';
import { describeAwsError, isAwsErrorCode } from './errors.ts';

export const TAGS = {
  app: 'bakery:app',
  env: 'bakery:env',
  fingerprint: 'bakery:fingerprint',
  version: 'bakery:version',
  gitRevision: 'bakery:git_revision',
} as const;

export function tagValue(image: Pick<Image, 'Tags'>, key: string): string | undefined {
  return image.Tags?.find((tag) => tag.Key === key)?.Value;
}

export function snapshotIds(image: Pick<Image, 'BlockDeviceMappings'>): string[] {
  return (image.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId).filter((id): id is string => Boolean(id));
}

/** Newest first, by creation date then id, so the order is stable. */
export function sortNewestFirst(images: readonly Image[]): Image[] {
  return [...images].sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? '') || (b.ImageId ?? '').localeCompare(a.ImageId ?? ''));
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

export class AmiStore implements ImageStore {
  /** Images seen in this run, by id (root device names for the launch template). */
  private readonly seen = new Map<string, Image>();
  /** Pause between DeleteSnapshot attempts while AWS still counts the snapshot as in use. */
  snapshotRetryMs = 2_000;

  constructor(
    private readonly clients: AwsClients,
    private readonly env: AwsEnvironment,
  ) {}

  /** The image as last described in this run. */
  cached(id: string): Image | undefined {
    return this.seen.get(id);
  }

  async findByFingerprint(io: StageIO, fingerprint: string): Promise<ImageRef | undefined> {
    const images = await this.list(io, [{ Name: `tag:${TAGS.fingerprint}`, Values: [fingerprint] }, { Name: 'state', Values: ['available'] }]);
    const newest = sortNewestFirst(images)[0];
    return newest ? this.toRef(newest) : undefined;
  }

  async resolve(io: StageIO, id: string): Promise<ImageRef> {
    if (!/^ami-[0-9a-f]{8,17}$/.test(id)) throw new UsageError(`--image ${id}: not an AMI id (expected ami- and 8 to 17 hex digits, such as ami-0123456789abcdef0)`);
    let image: Image | undefined;
    try {
      const result = await this.clients.ec2.send(new DescribeImagesCommand({ ImageIds: [id] }), { abortSignal: io.signal });
      image = result.Images?.[0];
    } catch (error) {
      this.rethrowIfAborted(error, io);
      if (!isAwsErrorCode(error, 'InvalidAMIID')) throw new DeployError(`looking up ${id} failed: ${describeAwsError(error)}`);
    }
    if (!image) throw new UsageError(`--image ${id}: no such AMI in ${this.env.aws.region}; list this environment's images with: aws ec2 describe-images --owners self --filters Name=tag:${TAGS.env},Values=${this.env.name}`);
    if (image.State !== 'available') throw new UsageError(`--image ${id}: the AMI is ${image.State ?? 'not available'}, not available`);
    if (tagValue(image, TAGS.app) !== this.env.app || tagValue(image, TAGS.env) !== this.env.name) {
      io.warn(`${id} was not baked for ${this.env.app}/${this.env.name} (tags ${TAGS.app}=${tagValue(image, TAGS.app) ?? '-'}, ${TAGS.env}=${tagValue(image, TAGS.env) ?? '-'}); deploying it anyway`);
    }
    this.seen.set(id, image);
    return this.toRef(image);
  }

  async adopt(io: StageIO, artifactId: string, fingerprint: string): Promise<ImageRef> {
    const id = amiFromArtifact(artifactId, this.env.aws.region);
    if (!id) throw new DeployError(`packer reported artifact "${artifactId}", which has no AMI in ${this.env.aws.region}`);
    const result = await this.clients.ec2.send(new DescribeImagesCommand({ ImageIds: [id] }), { abortSignal: io.signal });
    const image = result.Images?.[0];
    if (!image) throw new DeployError(`packer reported ${id}, but ${this.env.aws.region} has no such AMI`);
    // The template tags the AMI and its snapshots; should a tag be missing (an older
    // template, a manual bake), add them so the cache, retention and destroy find it.
    const wanted = { [TAGS.app]: this.env.app, [TAGS.env]: this.env.name, [TAGS.fingerprint]: fingerprint };
    const missing = Object.entries(wanted).filter(([key, value]) => tagValue(image, key) !== value);
    if (missing.length > 0) {
      await this.clients.ec2.send(
        new CreateTagsCommand({ Resources: [id, ...snapshotIds(image)], Tags: missing.map(([Key, Value]) => ({ Key, Value })) }),
        { abortSignal: io.signal },
      );
      image.Tags = [...(image.Tags ?? []).filter((t) => !(t.Key && t.Key in wanted)), ...Object.entries(wanted).map(([Key, Value]) => ({ Key, Value }))];
      io.note(`tagged ${id} with ${missing.map(([k]) => k).join(', ')}`);
    }
    this.seen.set(id, image);
    io.info(`baked ${describeImage(image)}`);
    return this.toRef(image);
  }

  async prune(io: StageIO, keep: number, inUse: ImageRef): Promise<string[]> {
    const images = sortNewestFirst(await this.list(io));
    const doomed = images.slice(keep).filter((image) => image.ImageId !== inUse.id);
    const removed: string[] = [];
    for (const image of doomed) removed.push(...(await this.remove(io, image)));
    return removed;
  }

  async removeAll(io: StageIO): Promise<string[]> {
    const removed: string[] = [];
    const images = await this.list(io);
    for (const image of images) removed.push(...(await this.remove(io, image)));
    // Snapshots left by an earlier, interrupted removal (the AMI went, its snapshot stayed).
    const referenced = new Set(images.flatMap(snapshotIds));
    for (const snapshot of await this.orphanSnapshots(io)) {
      if (referenced.has(snapshot)) continue;
      if (await this.deleteSnapshot(io, snapshot)) removed.push(`snapshot ${snapshot}`);
    }
    return removed;
  }

  /** Every AMI of this app and environment owned by the account, any state but gone. */
  private async list(io: StageIO, extra: Filter[] = []): Promise<Image[]> {
    const filters: Filter[] = [{ Name: `tag:${TAGS.app}`, Values: [this.env.app] }, { Name: `tag:${TAGS.env}`, Values: [this.env.name] }, ...extra];
    const images: Image[] = [];
    let token: string | undefined;
    do {
      const page = await this.clients.ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: filters, ...(token ? { NextToken: token } : {}) }), {
        abortSignal: io.signal,
      });
      images.push(...(page.Images ?? []).filter((image) => image.ImageId && image.State !== 'deregistered'));
      token = page.NextToken;
    } while (token);
    for (const image of images) this.seen.set(image.ImageId as string, image);
    return images;
  }

  private async orphanSnapshots(io: StageIO): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.clients.ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: `tag:${TAGS.app}`, Values: [this.env.app] }, { Name: `tag:${TAGS.env}`, Values: [this.env.name] }],
          ...(token ? { NextToken: token } : {}),
        }),
        { abortSignal: io.signal },
      );
      ids.push(...(page.Snapshots ?? []).map((s) => s.SnapshotId).filter((id): id is string => Boolean(id)));
      token = page.NextToken;
    } while (token);
    return ids;
  }

  /** Deregisters the AMI, then deletes its snapshots; returns one line saying what went. */
  private async remove(io: StageIO, image: Image): Promise<string[]> {
    const id = image.ImageId as string;
    io.progress(`deregistering ${id}`);
    let deregistered = true;
    try {
      await this.clients.ec2.send(new DeregisterImageCommand({ ImageId: id }), { abortSignal: io.signal });
    } catch (error) {
      this.rethrowIfAborted(error, io);
      if (!isAwsErrorCode(error, 'InvalidAMIID')) throw new DeployError(`deregistering ${id} failed: ${describeAwsError(error)}`);
      deregistered = false;
    }
    const snapshots: string[] = [];
    for (const snapshot of snapshotIds(image)) {
      if (await this.deleteSnapshot(io, snapshot)) snapshots.push(snapshot);
    }
    if (!deregistered && snapshots.length === 0) return [];
    const what = snapshots.length === 0 ? '' : ` and its snapshot${snapshots.length === 1 ? '' : 's'} ${snapshots.join(', ')}`;
    return [`AMI ${describeImage(image)}${what}`];
  }

  /** Deletes a snapshot; true when it went, false when it was already gone. */
  private async deleteSnapshot(io: StageIO, snapshot: string): Promise<boolean> {
    // Right after DeregisterImage, AWS can still count the snapshot as used by the AMI
    // for a short while (InvalidSnapshot.InUse); that clears by itself.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.clients.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshot }), { abortSignal: io.signal });
        return true;
      } catch (error) {
        this.rethrowIfAborted(error, io);
        if (isAwsErrorCode(error, 'InvalidSnapshot.NotFound')) return false;
        if (isAwsErrorCode(error, 'InvalidSnapshot.InUse') && attempt < 5) {
          await sleep(this.snapshotRetryMs * attempt, undefined, { signal: io.signal }).catch(() => {});
          continue;
        }
        throw new DeployError(`deleting snapshot ${snapshot} failed: ${describeAwsError(error)}`, [
          `delete it later with: aws ec2 delete-snapshot --region ${this.env.aws.region} --snapshot-id ${snapshot}`,
        ]);
      }
    }
  }

  private toRef(image: Image): ImageRef {
    return {
      id: image.ImageId as string,
      fingerprint: tagValue(image, TAGS.fingerprint) ?? 'unknown',
      ...(image.Name ? { name: image.Name } : {}),
      ...(image.CreationDate ? { createdAt: image.CreationDate } : {}),
    };
  }

  private rethrowIfAborted(error: unknown, io: StageIO): void {
    if (io.signal.aborted || (error as { name?: string }).name === 'AbortError') throw new InterruptedError(`interrupted during ${io.stage}`);
  }
}
