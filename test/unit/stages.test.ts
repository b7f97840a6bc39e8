import * as assert from 'uvu/assert';
import { DeployError, InterruptedError } from '../../pipeline/errors.ts';
import type { StageSummary } from '../../pipeline/output/events.ts';
import { runStages, type Stage } from '../../pipeline/stages/runner.ts';
import { RecordingReporter } from '../support/fakes.ts';
import { suite } from '../support/suite.ts';

interface Context {
  reporter: RecordingReporter;
  summaries: StageSummary[];
  ran: string[];
  controller: AbortController;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function stage(name: string, ran: string[], extra: Partial<Stage> = {}): Stage {
  return {
    name,
    title: `Stage ${name}`,
    run: async () => {
      ran.push(name);
    },
    ...extra,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.unreachable('the stages succeeded');
  return undefined;
}

const stages = suite<Context>('runStages');
stages.before.each((context) => {
  context.reporter = new RecordingReporter();
  context.summaries = [];
  context.ran = [];
  context.controller = new AbortController();
});

const options = (context: Context, dryRun = false) => ({
  reporter: context.reporter,
  dryRun,
  summaries: context.summaries,
  signal: context.controller.signal,
});

stages('runs stages in order and reports start and end of each', async (context) => {
  await runStages([stage('a', context.ran), stage('b', context.ran)], options(context));
  assert.equal(context.ran, ['a', 'b']);
  assert.equal(
    context.reporter.events.map((event) => `${event.kind}:${'stage' in event ? event.stage : ''}`),
    ['stage-start:a', 'stage-end:a', 'stage-start:b', 'stage-end:b'],
  );
  assert.equal(context.summaries.map((summary) => [summary.name, summary.status]), [['a', 'ok'], ['b', 'ok']]);
});

stages('skips a stage with the reason it gives, and runs one whose skip() says false', async (context) => {
  await runStages(
    [
      stage('bake', context.ran, { skip: async () => 'image 3f9c0d1e already baked' }),
      stage('rollout', context.ran, { skip: () => false }),
    ],
    options(context),
  );
  assert.equal(context.ran, ['rollout']);
  assert.equal(context.summaries[0], { name: 'bake', status: 'skipped', seconds: 0, skipped_reason: 'image 3f9c0d1e already baked' });
  const end = context.reporter.ofKind('stage-end')[0];
  assert.is(end?.reason, 'image 3f9c0d1e already baked');
  assert.is(end?.status, 'skipped');
  assert.not.ok('skipped_reason' in (context.summaries[1] as StageSummary));
});

stages('times each stage to a tenth of a second', async (context) => {
  await runStages(
    [
      stage('slow', context.ran, { run: () => sleep(250) }),
      stage('fast', context.ran),
    ],
    options(context),
  );
  const [slow, fast] = context.summaries as [StageSummary, StageSummary];
  assert.ok(slow.seconds >= 0.2 && slow.seconds < 2, `slow took ${slow.seconds}`);
  assert.is(Math.round(slow.seconds * 10) / 10, slow.seconds);
  assert.is(fast.seconds, 0);
  assert.is(context.reporter.ofKind('stage-end')[0]?.seconds, slow.seconds);
});

stages('under --dry-run shows each plan() and runs nothing that changes anything', async (context) => {
  await runStages(
    [
      stage('preflight', context.ran, { readOnly: true }),
      stage('bake', context.ran, { plan: async () => 'packer build -only=docker.app' }),
      stage('verify', context.ran),
    ],
    options(context, true),
  );
  assert.equal(context.ran, ['preflight']);
  assert.equal(context.summaries, [
    { name: 'preflight', status: 'ok', seconds: 0 },
    { name: 'bake', status: 'planned', seconds: 0, plan: 'packer build -only=docker.app' },
    { name: 'verify', status: 'planned', seconds: 0 },
  ]);
});

stages('still honours skip() under --dry-run', async (context) => {
  await runStages([stage('images', context.ran, { skip: () => 'kept (--keep-images)', plan: () => 'remove images' })], options(context, true));
  assert.equal(context.summaries[0], { name: 'images', status: 'skipped', seconds: 0, skipped_reason: 'kept (--keep-images)' });
});

stages('records a failing stage as failed, rethrows its error and runs nothing after it', async (context) => {
  const boom = new DeployError('rollout did not become healthy');
  const error = await failureOf(
    runStages(
      [
        stage('provision', context.ran),
        stage('rollout', context.ran, { run: async () => { throw boom; } }),
        stage('verify', context.ran),
      ],
      options(context),
    ),
  );
  assert.is(error, boom);
  assert.equal(context.ran, ['provision']);
  assert.equal(context.summaries.map((summary) => [summary.name, summary.status]), [['provision', 'ok'], ['rollout', 'failed']]);
  assert.is(context.reporter.ofKind('stage-end')[1]?.status, 'failed');
});

stages('records a failing skip() as a failure of its stage', async (context) => {
  const error = await failureOf(runStages([stage('bake', context.ran, { skip: async () => { throw new Error('docker is not running'); } })], options(context)));
  assert.match((error as Error).message, 'docker is not running');
  assert.equal(context.summaries.map((summary) => summary.status), ['failed']);
  assert.equal(context.ran, []);
});

stages('records an interrupted stage as interrupted', async (context) => {
  const error = await failureOf(
    runStages([stage('bake', context.ran, { run: async () => { throw new InterruptedError('packer was interrupted (SIGINT)'); } })], options(context)),
  );
  assert.instance(error, InterruptedError);
  assert.equal(context.summaries.map((summary) => summary.status), ['interrupted']);
});

stages('counts an unexpected error after an abort as an interruption', async (context) => {
  const error = await failureOf(
    runStages(
      [
        stage('verify', context.ran, {
          run: async () => {
            context.controller.abort();
            throw new Error('The operation was aborted');
          },
        }),
      ],
      options(context),
    ),
  );
  assert.match((error as Error).message, 'aborted');
  assert.equal(context.summaries.map((summary) => summary.status), ['interrupted']);
});

stages('starts no stage once interrupted', async (context) => {
  const error = await failureOf(
    runStages(
      [
        stage('bake', context.ran, { run: async () => { context.ran.push('bake'); context.controller.abort(); } }),
        stage('provision', context.ran),
      ],
      options(context),
    ),
  );
  assert.instance(error, InterruptedError);
  assert.is((error as InterruptedError).message, 'interrupted before provision');
  assert.equal(context.ran, ['bake']);
  assert.equal(context.summaries.map((summary) => [summary.name, summary.status]), [['bake', 'ok']]);
});

stages.run();
