// One deploy per environment across machines. With aws.state.backend: s3 the local lock
// file only keeps one machine in order; two CI runners would both go on, and the second
// apply would cancel the first run's instance refresh. So the lock is also an object next
// to the state, created with If-None-Match: * (S3 refuses the second writer with 412).
// It names its owner, host, start and expiry; the holder renews the expiry while it runs,
// deletes the object at the end (also after Ctrl-C: the run's finally releases it), and a
// lock whose expiry has passed (a run killed hard) is taken over, with If-Match on the
// version read so that two runs taking over the same dead lock cannot both win.

import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LockError } from '../../errors.ts';
import { callAws, type AwsCallIO, type RetryPolicy } from './call.ts';
import { awsErrorInfo } from './errors.ts';
import { s3Url, type S3Object } from './state-objects.ts';

/** How long a lock lives without renewal: a run killed hard blocks the environment this long. */
export const LOCK_TTL_MS = 15 * 60_000;
/** How often the holder pushes the expiry forward. */
export const LOCK_RENEW_MS = 5 * 60_000;

export interface S3LockOwner {
  /** Random per run: only the run that wrote it releases or renews it. */
  id: string;
  command: string;
  owner: string;
  host: string;
  pid: number;
  started_at: string;
  expires_at: string;
}

export interface S3LockOptions {
  client: S3Client;
  object: S3Object;
  retry: RetryPolicy;
  io: AwsCallIO;
  command: string;
  /** Called when an expired lock was taken over. */
  onTakeover: (previous: S3LockOwner | undefined) => void;
  ttlMs?: number;
  renewMs?: number;
  now?: () => Date;
}

export interface HeldS3Lock {
  object: S3Object;
  owner: S3LockOwner;
  release(): Promise<void>;
}

/** The lock object beside the state: bakery/APP/ENV/terraform.tfstate → bakery/APP/ENV/terraform.deploy-lock.json. */
export function lockObject(state: S3Object): S3Object {
  return { ...state, key: `${state.key.replace(/\.tfstate$/, '')}.deploy-lock.json` };
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

const isPreconditionFailed = (error: unknown): boolean => {
  const info = awsErrorInfo(error);
  return info.status === 412 || info.code === 'PreconditionFailed';
};

async function readLock(options: S3LockOptions): Promise<{ owner: S3LockOwner | undefined; etag: string } | undefined> {
  const { client, object, retry, io } = options;
  try {
    return await callAws(io, { call: 's3:GetObject', resource: s3Url(object), retry }, async (abortSignal) => {
      const answer = await client.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), {
        abortSignal,
      });
      const text = (await answer.Body?.transformToString('utf8')) ?? '';
      let owner: S3LockOwner | undefined;
      try {
        const parsed = JSON.parse(text) as Partial<S3LockOwner>;
        if (typeof parsed.id === 'string' && typeof parsed.expires_at === 'string') owner = parsed as S3LockOwner;
      } catch {
        // Unreadable: treated as a lock of unknown owner that never expires by itself.
      }
      return { owner, etag: answer.ETag ?? '' };
    });
  } catch (error) {
    const info = awsErrorInfo(error);
    if (info.code === 'NoSuchKey' || (info.status === 404 && info.code !== 'NoSuchBucket')) return undefined;
    throw error;
  }
}

async function writeLock(options: S3LockOptions, owner: S3LockOwner, condition: { ifMatch?: string }): Promise<string> {
  const { client, object, retry, io } = options;
  const answer = await callAws(io, { call: 's3:PutObject', resource: s3Url(object), retry }, (abortSignal) =>
    client.send(
      new PutObjectCommand({
        Bucket: object.bucket,
        Key: object.key,
        Body: `${JSON.stringify(owner)}\n`,
        ContentType: 'application/json',
        ServerSideEncryption: 'AES256',
        ...(condition.ifMatch ? { IfMatch: condition.ifMatch } : { IfNoneMatch: '*' }),
      }),
      { abortSignal },
    ),
  );
  return answer.ETag ?? '';
}

export function describeS3Lock(owner: S3LockOwner | undefined, object: S3Object): string {
  if (!owner) return `another run holds this environment's lock ${s3Url(object)} (its content is unreadable)`;
  return `another ${owner.command} holds this environment's lock ${s3Url(object)}: ${owner.owner} on ${owner.host} (pid ${owner.pid}), since ${owner.started_at}, expires ${owner.expires_at}`;
}

export async function acquireS3Lock(options: S3LockOptions): Promise<HeldS3Lock> {
  const now = options.now ?? (() => new Date());
  const ttl = options.ttlMs ?? LOCK_TTL_MS;
  const started = now();
  const me: S3LockOwner = {
    id: randomUUID(),
    command: options.command,
    owner: currentUser(),
    host: hostname(),
    pid: process.pid,
    started_at: started.toISOString(),
    expires_at: new Date(started.getTime() + ttl).toISOString(),
  };
  let etag: string | undefined;
  for (let attempt = 0; attempt < 3 && etag === undefined; attempt++) {
    try {
      etag = await writeLock(options, me, {});
      break;
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
    }
    const held = await readLock(options);
    if (!held) continue; // released between our write and our read: try again
    const expired = held.owner !== undefined && new Date(held.owner.expires_at).getTime() < now().getTime();
    if (!expired)
      throw new LockError(describeS3Lock(held.owner, options.object), [
        'wait for it to finish; a run that was killed leaves its lock until it expires',
        `if you are sure nobody deploys: aws s3 rm ${s3Url(options.object)}`,
      ]);
    try {
      etag = await writeLock(options, me, { ifMatch: held.etag });
      options.onTakeover(held.owner);
    } catch (error) {
      // Another run took the dead lock over first: look again.
      if (!isPreconditionFailed(error)) throw error;
    }
  }
  if (etag === undefined)
    throw new LockError(`could not take this environment's lock ${s3Url(options.object)}: other runs kept taking it`);

  // Keep the lock alive while the run lasts; a failed renewal is said and tried again.
  let current = etag;
  const renew = setInterval(() => {
    const renewed = { ...me, expires_at: new Date(now().getTime() + ttl).toISOString() };
    writeLock(options, renewed, { ifMatch: current }).then(
      (next) => {
        current = next;
      },
      (error: unknown) =>
        options.io.debug(`renewing the lock ${s3Url(options.object)} failed: ${(error as Error).message}`),
    );
  }, options.renewMs ?? LOCK_RENEW_MS);
  renew.unref();

  return {
    object: options.object,
    owner: me,
    release: async () => {
      clearInterval(renew);
      const held = await readLock(options);
      // Only our own lock: after an expiry another run may hold it now.
      if (held?.owner?.id !== me.id) return;
      await callAws(
        options.io,
        { call: 's3:DeleteObject', resource: s3Url(options.object), retry: options.retry },
        (abortSignal) =>
          options.client.send(
            new DeleteObjectCommand({ Bucket: options.object.bucket, Key: options.object.key, IfMatch: held.etag }),
            { abortSignal },
          ),
      );
    },
  };
}
