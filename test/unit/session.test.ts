import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { CommandHooks } from '../../pipeline/cli/session.ts';
import type { RunSummary } from '../../pipeline/output/events.ts';
import type { Stage } from '../../pipeline/stages/run-stages.ts';
import { StringSink } from '../support/fakes.ts';
import { makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

// session.ts reaches execa through process.ts, so it is loaded with import() (see
// process.test.ts); errors.ts comes from the same import() for instanceof.
const pipeline = {} as {
  session: typeof import('../../pipeline/cli/session.ts');
  flags: typeof import('../../pipeline/cli/flags.ts');
  errors: typeof import('../../pipeline/errors.ts');
};

interface Context {
  dir: string;
  config: string;
  out: StringSink;
  err: StringSink;
}

const session = suite<Context>('runCommand runs a command end to end');
session.before(async () => {
  pipeline.session ??= await import('../../pipeline/cli/session.ts');
  pipeline.flags ??= await import('../../pipeline/cli/flags.ts');
  pipeline.errors ??= await import('../../pipeline/errors.ts');
});
session.before.each((context) => {
  context.dir = makeTempDir();
  context.config = join(context.dir, 'deploy.yaml');
  writeFileSync(context.config, 'app: shop\nenvironments:\n  local: { target: local }\n');
  context.out = new StringSink();
  context.err = new StringSink();
});
session.after.each(({ dir }) => removeDir(dir));

type Results = Record<string, never>;

function hooks(stages: Stage<Results>[], url?: string): CommandHooks<Results> {
  return {
    stages: () => ({ stages, initial: {} }),
    finish: ({ args }, _results, summary) => {
      if (url) summary.url = url;
      return args.flags.has('json') ? undefined : url;
    },
  };
}

const ok = (name: string): Stage<Results> => ({ name, title: `Stage ${name}`, run: async () => {} });
const failing = (name: string, error: unknown): Stage<Results> => ({
  name,
  title: `Stage ${name}`,
  run: async () => {
    throw error;
  },
});

function run(context: Context, argv: string[], stageHooks: CommandHooks<Results>): Promise<number> {
  return pipeline.session.runCommand(pipeline.flags.DEPLOY_SPEC, ['--config', context.config, ...argv], stageHooks, {
    out: context.out,
    err: context.err,
    stdinIsTTY: false,
    env: { BAKERY_NO_CONTAINER: '1', CI: '1' },
  });
}

function summaryOf(out: StringSink): RunSummary {
  const lines = out.text.split('\n');
  assert.is(lines.length, 2, `stdout should hold one JSON line, got: ${out.text}`);
  return JSON.parse(lines[0] as string) as RunSummary;
}

session('prints the result line on stdout after the summary, and nothing else', async (context) => {
  const code = await run(context, [], hooks([ok('preflight')], 'http://127.0.0.1:8080/'));
  assert.is(code, 0);
  assert.is(context.out.text, 'http://127.0.0.1:8080/\n');
});

session('prints exactly one JSON summary on stdout for a successful --json run', async (context) => {
  const code = await run(
    context,
    ['--json'],
    hooks(
      [
        ok('preflight'),
        {
          ...ok('bake'),
          run: async (_results, task) => {
            task.skip('image 3f9c already baked');
          },
        },
      ],
      'http://127.0.0.1:8080/',
    ),
  );
  assert.is(code, 0, context.err.text);
  const summary = summaryOf(context.out);
  assert.equal(
    { env: summary.env, target: summary.target, url: summary.url, ok: summary.ok, exit_code: summary.exit_code },
    { env: 'local', target: 'local', url: 'http://127.0.0.1:8080/', ok: true, exit_code: 0 },
  );
  assert.equal(
    summary.stages.map((stage) => [stage.name, stage.status, stage.skipped_reason]),
    [
      ['preflight', 'ok', undefined],
      ['bake', 'skipped', 'image 3f9c already baked'],
    ],
  );
  assert.match(context.err.text, '[bake] skipped in');
});

session('maps a failed stage to exit 1, reports it and releases the lock', async (context) => {
  const failure = new pipeline.errors.DeployError('verify timed out', ['instance 1: unhealthy']);
  const code = await run(context, ['--json'], hooks([ok('preflight'), failing('verify', failure), ok('prune')]));
  assert.is(code, 1);
  const summary = summaryOf(context.out);
  assert.is(summary.ok, false);
  assert.is(summary.exit_code, 1);
  assert.equal(summary.error, { message: 'verify timed out', details: ['instance 1: unhealthy'] });
  assert.equal(
    summary.stages.map((stage) => [stage.name, stage.status]),
    [
      ['preflight', 'ok'],
      ['verify', 'failed'],
    ],
  );
  assert.match(context.err.text, 'error: verify timed out');
  assert.not.ok(existsSync(join(context.dir, '.deploy', 'local', 'lock')), 'the lock was left behind');
  assert.is(readdirSync(join(context.dir, '.deploy', 'local', 'logs')).length, 1);
});

session('maps an interruption to exit 130', async (context) => {
  const code = await run(
    context,
    [],
    hooks([failing('bake', new pipeline.errors.InterruptedError('packer was interrupted (SIGINT)'))]),
  );
  assert.is(code, 130);
  assert.match(context.err.text, 'error: packer was interrupted (SIGINT)');
  assert.is(context.out.text, '');
});

session('treats an unexpected error as a failed deployment and shows its stack', async (context) => {
  const code = await run(
    context,
    [],
    hooks([failing('provision', new TypeError('cannot read properties of undefined'))]),
  );
  assert.is(code, 1);
  assert.match(context.err.text, 'error: cannot read properties of undefined');
  assert.match(context.err.text, 'TypeError: cannot read properties of undefined\n    at ');
});

session('runs --dry-run without taking the lock', async (context) => {
  mkdirSync(join(context.dir, '.deploy', 'local'), { recursive: true });
  writeFileSync(
    join(context.dir, '.deploy', 'local', 'lock'),
    JSON.stringify({ pid: process.pid, command: 'deploy', host: hostname(), started_at: '2026-11-22T09:00:00.000Z' }),
  );
  const code = await run(
    context,
    ['--dry-run'],
    hooks([{ ...ok('bake'), plan: async () => ({ text: 'packer build -only=docker.app' }) }]),
  );
  assert.is(code, 0, context.err.text);
  assert.match(context.err.text, 'dry run: deploy local');
  assert.match(context.err.text, '[bake] would run in 0.0s: packer build -only=docker.app');
  assert.match(context.err.text, "another deploy holds this environment's lock");
  assert.match(context.err.text, 'a real run would stop here until it finishes');
});

session('refuses to run while another run holds the lock', async (context) => {
  mkdirSync(join(context.dir, '.deploy', 'local'), { recursive: true });
  writeFileSync(
    join(context.dir, '.deploy', 'local', 'lock'),
    JSON.stringify({ pid: process.pid, command: 'destroy', host: hostname(), started_at: '2026-11-22T09:00:00.000Z' }),
  );
  let ran = false;
  const code = await run(
    context,
    [],
    hooks([
      {
        ...ok('preflight'),
        run: async () => {
          ran = true;
        },
      },
    ]),
  );
  assert.is(code, 1);
  assert.not.ok(ran, 'a stage ran without the lock');
  assert.match(context.err.text, `another destroy holds this environment's lock: pid ${process.pid}`);
  assert.ok(existsSync(join(context.dir, '.deploy', 'local', 'lock')), "the other run's lock was removed");
});

session('leaves no signal handlers behind', async (context) => {
  const before = process.listenerCount('SIGINT');
  await run(context, [], hooks([ok('preflight')]));
  assert.is(process.listenerCount('SIGINT'), before);
});

session.run();
