import * as assert from 'uvu/assert';
import type { StageIO } from '../../pipeline/context.ts';
import { DeployError, InterruptedError } from '../../pipeline/errors.ts';
import { runStages, type Stage, type StageRunOptions } from '../../pipeline/stages/run-stages.ts';
import { RecordingReporter } from '../support/fakes.ts';
import { suite } from '../support/suite.ts';

interface Results {
  image?: string;
  url?: string;
}

interface Context {
  reporter: RecordingReporter;
  ran: string[];
  controller: AbortController;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function stage(name: string, ran: string[], extra: Partial<Stage<Results>> = {}): Stage<Results> {
  return {
    name,
    title: `Stage ${name}`,
    run: async () => {
      ran.push(name);
    },
    ...extra,
  };
}

const stages = suite<Context>('runStages');
stages.before.each((context) => {
  context.reporter = new RecordingReporter();
  context.ran = [];
  context.controller = new AbortController();
});

const options = (context: Context, dryRun = false): StageRunOptions => ({
  reporter: context.reporter,
  dryRun,
  signal: context.controller.signal,
  ioFor: (name) => ({ stage: name }) as StageIO,
});

stages('runs stages in order and reports start and end of each', async (context) => {
  const result = await runStages([stage('a', context.ran), stage('b', context.ran)], {}, options(context));
  assert.equal(context.ran, ['a', 'b']);
  assert.equal(
    context.reporter.events.map((event) => `${event.kind}:${'stage' in event ? event.stage : ''}`),
    ['stage-start:a', 'stage-end:a', 'stage-start:b', 'stage-end:b'],
  );
  assert.equal(
    result.summaries.map((summary) => [summary.name, summary.status]),
    [
      ['a', 'ok'],
      ['b', 'ok'],
    ],
  );
  assert.is(result.error, undefined);
});

stages('hands what each stage returns to the stages after it and returns the whole context', async (context) => {
  const seen: Results[] = [];
  const result = await runStages<Results>(
    [
      stage('bake', context.ran, { run: async () => ({ image: 'sha256:abc' }) }),
      stage('verify', context.ran, {
        run: async (results) => {
          seen.push({ ...results });
          return { url: `http://127.0.0.1/${results.image}` };
        },
      }),
    ],
    {},
    options(context),
  );
  assert.equal(seen, [{ image: 'sha256:abc' }]);
  assert.equal(result.context, { image: 'sha256:abc', url: 'http://127.0.0.1/sha256:abc' });
});

stages('skips a stage with the reason it gives from inside run(), keeping what it returned', async (context) => {
  const result = await runStages<Results>(
    [
      stage('bake', context.ran, {
        run: async (_results, task) => {
          task.skip('image 3f9c0d1e already baked');
          return { image: 'sha256:found' };
        },
      }),
      stage('rollout', context.ran),
    ],
    {},
    options(context),
  );
  assert.equal(context.ran, ['rollout']);
  assert.equal(result.summaries[0], {
    name: 'bake',
    status: 'skipped',
    seconds: 0,
    skipped_reason: 'image 3f9c0d1e already baked',
  });
  assert.is(result.context.image, 'sha256:found');
  const end = context.reporter.ofKind('stage-end')[0];
  assert.is(end?.reason, 'image 3f9c0d1e already baked');
  assert.is(end?.status, 'skipped');
  assert.not.ok('skipped_reason' in (result.summaries[1] as object));
});

stages('times each stage to a tenth of a second', async (context) => {
  const result = await runStages(
    [stage('slow', context.ran, { run: () => sleep(250) }), stage('fast', context.ran)],
    {},
    options(context),
  );
  const [slow, fast] = result.summaries;
  assert.ok(slow && slow.seconds >= 0.2 && slow.seconds < 2, `slow took ${slow?.seconds}`);
  assert.is(Math.round((slow?.seconds ?? 0) * 10) / 10, slow?.seconds);
  assert.is(fast?.seconds, 0);
  assert.is(context.reporter.ofKind('stage-end')[0]?.seconds, slow?.seconds);
});

stages(
  'under --dry-run shows each plan(), runs only read-only stages and passes planned results on',
  async (context) => {
    let seenByVerify: Results | undefined;
    const result = await runStages<Results>(
      [
        stage('preflight', context.ran, { readOnly: true }),
        stage('bake', context.ran, {
          plan: async () => ({ text: 'packer build -only=docker.app', produced: { image: 'sha256:planned' } }),
        }),
        stage('verify', context.ran, {
          plan: async (results) => {
            seenByVerify = results;
            return { text: 'poll /health' };
          },
        }),
        stage('prune', context.ran),
      ],
      {},
      options(context, true),
    );
    assert.equal(context.ran, ['preflight']);
    assert.equal(seenByVerify, { image: 'sha256:planned' });
    assert.equal(result.summaries, [
      { name: 'preflight', status: 'ok', seconds: 0 },
      { name: 'bake', status: 'planned', seconds: 0, plan: 'packer build -only=docker.app' },
      { name: 'verify', status: 'planned', seconds: 0, plan: 'poll /health' },
      { name: 'prune', status: 'planned', seconds: 0 },
    ]);
  },
);

stages('lets a plan() skip its stage under --dry-run', async (context) => {
  const result = await runStages(
    [
      stage('images', context.ran, {
        plan: async (_results, task) => {
          task.skip('kept (--keep-images)');
          return { text: 'remove images' };
        },
      }),
    ],
    {},
    options(context, true),
  );
  assert.equal(result.summaries[0], {
    name: 'images',
    status: 'skipped',
    seconds: 0,
    skipped_reason: 'kept (--keep-images)',
  });
});

stages('returns a failing stage error, marks it failed and runs nothing after it', async (context) => {
  const boom = new DeployError('rollout did not become healthy');
  const result = await runStages(
    [
      stage('provision', context.ran),
      stage('rollout', context.ran, {
        run: async () => {
          throw boom;
        },
      }),
      stage('verify', context.ran),
    ],
    {},
    options(context),
  );
  assert.is(result.error, boom);
  assert.equal(context.ran, ['provision']);
  assert.equal(
    result.summaries.map((summary) => [summary.name, summary.status]),
    [
      ['provision', 'ok'],
      ['rollout', 'failed'],
    ],
  );
  assert.is(context.reporter.ofKind('stage-end')[1]?.status, 'failed');
});

stages('records an interrupted stage as interrupted', async (context) => {
  const result = await runStages(
    [
      stage('bake', context.ran, {
        run: async () => {
          throw new InterruptedError('packer was interrupted (SIGINT)');
        },
      }),
    ],
    {},
    options(context),
  );
  assert.instance(result.error, InterruptedError);
  assert.equal(
    result.summaries.map((summary) => summary.status),
    ['interrupted'],
  );
});

stages('counts an unexpected error after an abort as an interruption', async (context) => {
  const result = await runStages(
    [
      stage('verify', context.ran, {
        run: async () => {
          context.controller.abort();
          throw new Error('The operation was aborted');
        },
      }),
    ],
    {},
    options(context),
  );
  assert.match((result.error as Error).message, 'aborted');
  assert.equal(
    result.summaries.map((summary) => summary.status),
    ['interrupted'],
  );
});

stages('starts no stage once interrupted', async (context) => {
  const result = await runStages(
    [
      stage('bake', context.ran, {
        run: async () => {
          context.ran.push('bake');
          context.controller.abort();
        },
      }),
      stage('provision', context.ran),
    ],
    {},
    options(context),
  );
  assert.instance(result.error, InterruptedError);
  assert.is((result.error as InterruptedError).message, 'interrupted before provision');
  assert.equal(context.ran, ['bake']);
  assert.equal(
    result.summaries.map((summary) => [summary.name, summary.status]),
    [['bake', 'ok']],
  );
});

stages.run();
