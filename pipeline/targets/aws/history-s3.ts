// The deploy history shared through the state bucket (aws.state.backend: s3), so CI runs
// and laptops see the same releases. S3 has no append: an append reads the object, writes
// it back one line longer only if nobody changed it meanwhile (PutObject If-Match on the
// ETag read, If-None-Match: * when there was none), and starts over when another run won
// the race. The machine's own .deploy/ENV/history.jsonl is written first and read too, so
// a run whose shared write failed is still in this machine's view of the history.

import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeployError } from '../../errors.ts';
import {
  historyLine,
  mergeHistories,
  parseHistory,
  type HistoryEntry,
  type HistoryStore,
} from '../../state/history.ts';
import { callAws, type AwsCallIO, type RetryPolicy } from './call.ts';
import { awsErrorInfo } from './errors.ts';
import { s3Url, type S3Object } from './state-objects.ts';

/** Appends that lose the race to another run this many times in a row give up. */
export const MAX_APPEND_RACES = 5;

export interface SharedHistoryOptions {
  client: S3Client;
  object: S3Object;
  retry: RetryPolicy;
  io: AwsCallIO;
}

export function s3History(local: HistoryStore, options: SharedHistoryOptions): HistoryStore {
  return {
    location: `${local.location} and ${s3Url(options.object)}`,
    append: async (entry) => {
      await local.append(entry);
      await appendToObject(options, entry, local.location);
    },
    read: async () => {
      const [mine, shared] = await Promise.all([local.read(), readObject(options)]);
      return mergeHistories(mine, parseHistory(shared?.text ?? ''));
    },
  };
}

interface ObjectVersion {
  text: string;
  etag: string;
}

async function readObject({ client, object, retry, io }: SharedHistoryOptions): Promise<ObjectVersion | undefined> {
  const spec = { call: 's3:GetObject', resource: s3Url(object), retry } as const;
  try {
    return await callAws(io, spec, async (abortSignal) => {
      const answer = await client.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), {
        abortSignal,
      });
      return { text: (await answer.Body?.transformToString('utf8')) ?? '', etag: answer.ETag ?? '' };
    });
  } catch (error) {
    const info = awsErrorInfo(error);
    // Not a missing bucket (NoSuchBucket, also 404): that is a misconfiguration to report.
    if (info.code === 'NoSuchKey' || (info.status === 404 && info.code !== 'NoSuchBucket')) return undefined;
    throw error;
  }
}

async function appendToObject(options: SharedHistoryOptions, entry: HistoryEntry, localPath: string): Promise<void> {
  const { client, object, retry, io } = options;
  const spec = { call: 's3:PutObject', resource: s3Url(object), retry } as const;
  const line = historyLine(entry);
  for (let race = 1; race <= MAX_APPEND_RACES; race++) {
    const current = await readObject(options);
    // A write that landed but whose answer was lost looks like a lost race: never twice.
    if (race > 1 && current?.text.includes(line)) return;
    try {
      await callAws(io, spec, (abortSignal) =>
        client.send(
          new PutObjectCommand({
            Bucket: object.bucket,
            Key: object.key,
            Body: `${current?.text ?? ''}${line}`,
            ContentType: 'application/x-ndjson',
            ServerSideEncryption: 'AES256',
            ...(current ? { IfMatch: current.etag } : { IfNoneMatch: '*' }),
          }),
          { abortSignal },
        ),
      );
      return;
    } catch (error) {
      if (!lostTheRace(error)) throw error;
      io.debug(`${s3Url(object)} changed while appending (race ${race} of ${MAX_APPEND_RACES}): reading it again`);
      await sleep(Math.round(Math.random() * 200 * race), undefined, { signal: io.signal }).catch(() => {});
    }
  }
  throw new DeployError(
    `could not append to the shared deploy history ${s3Url(object)}: other runs changed it ${MAX_APPEND_RACES} times while this one tried`,
    [`the entry is in this machine’s ${localPath}; the shared copy misses it`],
  );
}

/** 412: the object is not the version read; 409: another conditional write is in flight. */
function lostTheRace(error: unknown): boolean {
  const info = awsErrorInfo(error);
  return (
    info.code === 'PreconditionFailed' ||
    info.code === 'ConditionalRequestConflict' ||
    info.status === 412 ||
    info.status === 409
  );
}
