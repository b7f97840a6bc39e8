// The deploy history shared through the state bucket: the real S3 client against a fake S3
// on loopback that honours conditional writes, so appends that race another run, the
// first write of the object and a refused bucket all behave as they would on AWS.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { isBakeryError } from '../../pipeline/errors.ts';
import { historyLine, historyPath, parseHistory, type HistoryEntry } from '../../pipeline/state/history.ts';
import { MAX_APPEND_RACES } from '../../pipeline/targets/aws/history-s3.ts';
import { historyOf } from '../../pipeline/targets/kind.ts';
import { FakeS3, type FakeS3Options } from '../fakes/s3-api.ts';
import type { LocalEnvironment } from '../../pipeline/config/schema.ts';
import { awsEnvironment } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const OBJECT = 'tf-state/bakery/demo/staging/terraform.history.jsonl';
// The SDK reads credentials and endpoints from the process environment itself.
const VARIABLES = ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'] as const;

const Shared = suite<{ dir: string; saved: Record<string, string | undefined>; s3?: FakeS3 }>('shared history');

Shared.before.each(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-shared-history-'));
  context.saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  delete process.env.AWS_PROFILE;
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake';
});

Shared.after.each(async (context) => {
  await context.s3?.stop();
  for (const [name, value] of Object.entries(context.saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(context.dir, { recursive: true, force: true });
});

async function startS3(context: { s3?: FakeS3 }, options: FakeS3Options = {}): Promise<FakeS3> {
  const s3 = new FakeS3(options);
  context.s3 = s3;
  process.env.AWS_ENDPOINT_URL_S3 = await s3.start();
  return s3;
}

// Only the target matters to where the history lives.
const localEnvironment = (): LocalEnvironment => {
  const { aws: _aws, baseAmi: _baseAmi, ...common } = awsEnvironment();
  return { ...common, name: 'local', target: 'local', local: {} as LocalEnvironment['local'] };
};

const s3Environment = () => awsEnvironment({ state: { backend: 's3', bucket: 'tf-state' } });

const entry = (overrides: Partial<HistoryEntry>): HistoryEntry => ({
  command: 'deploy',
  env: 'staging',
  target: 'aws',
  started_at: '2026-12-03T10:00:00.000Z',
  seconds: 300,
  who: 'ci@runner-1',
  outcome: 'succeeded',
  exit_code: 0,
  image: 'ami-0aaaaaaaaaaaaaaaa',
  ...overrides,
});

Shared(
  'appends to the object beside the state, first creating it, then only over the version read',
  async (context) => {
    const s3 = await startS3(context);
    const history = historyOf(s3Environment(), context.dir, process.env);
    assert.match(history.location, 's3://tf-state/bakery/demo/staging/terraform.history.jsonl');

    await history.append(entry({ image: 'ami-0aaaaaaaaaaaaaaa1' }));
    await history.append(entry({ image: 'ami-0aaaaaaaaaaaaaaa2', started_at: '2026-12-03T11:00:00.000Z' }));

    const stored = parseHistory(s3.objects.get(OBJECT)?.body ?? '');
    assert.equal(
      stored.map((e) => e.image),
      ['ami-0aaaaaaaaaaaaaaa1', 'ami-0aaaaaaaaaaaaaaa2'],
    );
    const puts = s3.requests.filter((r) => r.method === 'PUT');
    assert.is(puts[0]?.ifNoneMatch, '*', 'the first write only creates');
    assert.is(puts[0]?.ifMatch, undefined);
    assert.ok(puts[1]?.ifMatch?.startsWith('"'), 'the second write is conditional on the ETag read');
    assert.ok(
      puts.every((r) => r.encryption === 'AES256'),
      'encrypted at rest',
    );
    // This machine's own copy has both too.
    assert.is(parseHistory(await readFile(historyPath(context.dir), 'utf8')).length, 2);
  },
);

Shared('reads the runs of other machines merged with this one’s, each run once, oldest first', async (context) => {
  const s3 = await startS3(context);
  const laptop = entry({ who: 'ops@laptop', started_at: '2026-12-03T09:00:00.000Z', image: 'ami-0aaaaaaaaaaaaaaa1' });
  s3.put(OBJECT, historyLine(laptop));
  const history = historyOf(s3Environment(), context.dir, process.env);
  await history.append(entry({ started_at: '2026-12-03T12:00:00.000Z', image: 'ami-0aaaaaaaaaaaaaaa3' }));

  const read = await history.read();
  assert.equal(
    read.map((e) => `${e.who} ${e.image}`),
    ['ops@laptop ami-0aaaaaaaaaaaaaaa1', 'ci@runner-1 ami-0aaaaaaaaaaaaaaa3'],
  );
});

Shared('an append that loses the race to another run reads again and keeps both', async (context) => {
  let competing = 2;
  const s3 = await startS3(context, {
    beforePut: (path, fake) => {
      if (competing-- <= 0) return;
      const other = entry({ who: `ci@runner-${competing + 5}`, started_at: `2026-12-03T0${competing}:00:00.000Z` });
      fake.put(path, `${fake.objects.get(path)?.body ?? ''}${historyLine(other)}`);
    },
  });
  const history = historyOf(s3Environment(), context.dir, process.env);
  await history.append(entry({ started_at: '2026-12-03T12:00:00.000Z' }));

  const stored = parseHistory(s3.objects.get(OBJECT)?.body ?? '');
  assert.equal(
    stored.map((e) => e.who),
    ['ci@runner-6', 'ci@runner-5', 'ci@runner-1'],
  );
  assert.equal(
    s3.requests.filter((r) => r.method === 'PUT').map((r) => r.status),
    [412, 412, 200],
  );
});

Shared(
  'an append that keeps losing gives up with an error naming the object; this machine keeps the entry',
  async (context) => {
    await startS3(context, {
      beforePut: (path, fake) => fake.put(path, `${fake.objects.get(path)?.body ?? ''}${historyLine(entry({}))}`),
    });
    const history = historyOf(s3Environment(), context.dir, process.env);
    const error = await history.append(entry({ image: 'ami-0bbbbbbbbbbbbbbbb' })).catch((e: unknown) => e);

    assert.ok(isBakeryError(error), String(error));
    assert.match(String((error as Error).message), 's3://tf-state/bakery/demo/staging/terraform.history.jsonl');
    assert.match(String((error as Error).message), `${MAX_APPEND_RACES} times`);
    const local = parseHistory(await readFile(historyPath(context.dir), 'utf8'));
    assert.equal(
      local.map((e) => e.image),
      ['ami-0bbbbbbbbbbbbbbbb'],
    );
  },
);

Shared('a bucket that refuses says which call on which object, as a typed error', async (context) => {
  await startS3(context, { refuse: { code: 'AccessDenied', status: 403 } });
  const history = historyOf(s3Environment(), context.dir, process.env);
  const error = await history.read().catch((e: unknown) => e);

  assert.ok(isBakeryError(error), String(error));
  const text = `${(error as Error).message}\n${(error as { details: string[] }).details.join('\n')}`;
  assert.match(text, 's3:GetObject');
  assert.match(text, 'AccessDenied');
  assert.match(text, 's3://tf-state/bakery/demo/staging/terraform.history.jsonl');
});

Shared('a write that landed but whose answer was lost is not written twice', async (context) => {
  const s3 = await startS3(context, { loseAnswers: 1 });
  await historyOf(s3Environment(), context.dir, process.env).append(entry({}));
  assert.is(parseHistory(s3.objects.get(OBJECT)?.body ?? '').length, 1);
  assert.equal(
    s3.requests.filter((r) => r.method === 'PUT').map((r) => r.status),
    [500, 412],
  );
});

Shared('a missing bucket is an error, not an empty history', async (context) => {
  await startS3(context, { refuse: { code: 'NoSuchBucket', status: 404 } });
  const error = await historyOf(s3Environment(), context.dir, process.env)
    .read()
    .catch((e: unknown) => e);
  assert.ok(isBakeryError(error), String(error));
  assert.match(String((error as Error).message), 'NoSuchBucket');
});

Shared('a missing object is an empty shared history', async (context) => {
  await startS3(context);
  assert.equal(await historyOf(s3Environment(), context.dir, process.env).read(), []);
});

Shared('local state, or the local target, keeps the history on this machine only', async (context) => {
  const s3 = await startS3(context);
  for (const env of [awsEnvironment(), localEnvironment()]) {
    const history = historyOf(env, context.dir, process.env);
    assert.is(history.location, historyPath(context.dir));
    await history.append(entry({}));
  }
  assert.is(s3.requests.length, 0);
});

Shared.run();
