// The deploy lock other machines see (aws.state.backend: s3): an object next to the state
// written with If-None-Match, against the project's fake S3 on loopback with the real S3
// client. A second run is refused naming the holder; an expired lock is taken over once;
// the lock is released at the end, only by its holder.

import * as assert from 'uvu/assert';
import { LockError } from '../../pipeline/errors.ts';
import { createS3Client } from '../../pipeline/targets/aws/clients.ts';
import { acquireS3Lock, lockObject, type S3LockOwner } from '../../pipeline/targets/aws/deploy-lock-s3.ts';
import { stateObject } from '../../pipeline/targets/aws/state-objects.ts';
import { acquireSharedLock } from '../../pipeline/targets/kind.ts';
import { FakeS3 } from '../fakes/s3-api.ts';
import { awsEnvironment, FAST_RETRY } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const KEY = 'tf-state/bakery/demo/staging/terraform.deploy-lock.json';
const VARIABLES = ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'] as const;
const ENV = awsEnvironment({ state: { backend: 's3', bucket: 'tf-state' } });
const IO = { signal: new AbortController().signal, debug: () => {}, progress: () => {} };

const Lock = suite<{ s3: FakeS3; saved: Record<string, string | undefined> }>('deploy lock in S3');

Lock.before.each(async (context) => {
  context.saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  delete process.env.AWS_PROFILE;
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake';
  context.s3 = new FakeS3();
  process.env.AWS_ENDPOINT_URL_S3 = await context.s3.start();
});

Lock.after.each(async (context) => {
  await context.s3.stop();
  for (const [name, value] of Object.entries(context.saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function options(command = 'deploy', extra: Partial<Parameters<typeof acquireS3Lock>[0]> = {}) {
  const client = createS3Client('eu-west-1', process.env);
  const object = lockObject(stateObject(ENV) as NonNullable<ReturnType<typeof stateObject>>);
  return { client, object, retry: FAST_RETRY, io: IO, command, onTakeover: () => {}, ...extra };
}

async function refusal(promise: Promise<unknown>): Promise<LockError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(error, LockError);
  return error as LockError;
}

Lock(
  'the lock is an object next to the state, written only if none exists, with owner, host, start and expiry',
  async ({ s3 }) => {
    const first = options();
    const held = await acquireS3Lock(first);
    const put = s3.requests.find((request) => request.method === 'PUT' && request.path === KEY);
    assert.is(put?.ifNoneMatch, '*');
    const stored = JSON.parse(s3.objects.get(KEY)?.body ?? '{}') as S3LockOwner;
    assert.is(stored.command, 'deploy');
    assert.is(stored.pid, process.pid);
    assert.ok(stored.host && stored.owner && stored.started_at);
    assert.ok(new Date(stored.expires_at).getTime() > Date.now());

    // A second machine is refused, and told who holds it and until when.
    const second = options('destroy');
    const error = await refusal(acquireS3Lock(second));
    assert.match(
      error.message,
      `another deploy holds this environment's lock s3://${KEY}: ${stored.owner} on ${stored.host}`,
    );
    assert.match(error.message, `expires ${stored.expires_at}`);

    await held.release();
    assert.not.ok(s3.objects.has(KEY), 'released at the end');
    const again = await acquireS3Lock(second);
    await again.release();
    first.client.destroy();
    second.client.destroy();
  },
);

Lock('an expired lock is taken over (once, over the version read); a live one never', async ({ s3 }) => {
  const dead: S3LockOwner = {
    id: 'dead-run',
    command: 'deploy',
    owner: 'ci',
    host: 'runner-7',
    pid: 4242,
    started_at: '2026-12-07T08:00:00.000Z',
    expires_at: '2026-12-07T08:15:00.000Z',
  };
  s3.put(KEY, JSON.stringify(dead));
  const taken: Array<S3LockOwner | undefined> = [];
  const mine = options('deploy', { onTakeover: (previous) => taken.push(previous) });
  const held = await acquireS3Lock(mine);
  assert.equal(taken, [dead]);
  const takeover = s3.requests.filter((request) => request.method === 'PUT' && request.ifMatch !== undefined);
  assert.is(takeover.length, 1, 'the takeover is conditional on the version read');
  assert.is.not((JSON.parse(s3.objects.get(KEY)?.body ?? '{}') as S3LockOwner).id, 'dead-run');

  // Not yet expired: refused, the holder named.
  const live = options('deploy', { now: () => new Date('2026-12-07T08:00:00.000Z') });
  s3.put(KEY, JSON.stringify(dead));
  assert.match((await refusal(acquireS3Lock(live))).message, /ci on runner-7 \(pid 4242\)/);

  // Our release never deletes a lock someone else holds now.
  await held.release();
  assert.ok(s3.objects.has(KEY));
  mine.client.destroy();
  live.client.destroy();
});

Lock('the run takes the shared lock only for an s3 backend, and gives it back', async ({ s3 }) => {
  const local = awsEnvironment();
  assert.is(await acquireSharedLock(local, process.env, 'deploy', () => {}), undefined);
  const shared = await acquireSharedLock(ENV, process.env, 'deploy', () => {});
  assert.ok(shared && s3.objects.has(KEY));
  await shared.release();
  assert.not.ok(s3.objects.has(KEY));
});

Lock.run();
