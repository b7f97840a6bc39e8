import * as assert from 'uvu/assert';
import { planBake } from '../../pipeline/bake/bake.ts';
import { splitRunArgv } from '../../pipeline/cli/run-command.ts';
import { parseConfig } from '../../pipeline/config/load.ts';
import type { RuntimeSettings } from '../../pipeline/config/runtime-settings.ts';
import type { Environment, LocalEnvironment } from '../../pipeline/config/schema.ts';
import type { RunContext, StageIO } from '../../pipeline/context.ts';
import { ConfigError, DeployError, EXIT, UsageError } from '../../pipeline/errors.ts';
import { deployStages } from '../../pipeline/stages/deploy-stages.ts';
import {
  releaseAfter,
  releaseSkipReason,
  runRelease,
  warnIfSchemaAhead,
} from '../../pipeline/stages/release-commands.ts';
import type { HistoryEntry } from '../../pipeline/state/history.ts';
import { renderHaproxyConfig } from '../../pipeline/targets/local/lb-servers.ts';
import { localNames } from '../../pipeline/targets/local/names.ts';
import { WRAPPER, oneOffCreateCommand } from '../../pipeline/targets/local/one-off.ts';
import type { AnyTarget, ImageRef, OneOffCommand, OneOffResult } from '../../pipeline/targets/target.ts';
import { thrownBy } from '../support/fakes.ts';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const SETTINGS: RuntimeSettings = { variables: { GREETING: 'hi', API_TOKEN: 's3cret' }, secretValues: ['s3cret'] };
const IMAGE: ImageRef = { id: 'sha256:new', fingerprint: 'f'.repeat(64), name: 'bakery/shop-local:ffffffffffff' };

function load(text: string) {
  return parseConfig(text, '/nonexistent/deploy.yaml');
}

function localEnv(service = ''): LocalEnvironment {
  const text = `app: shop\n${service}environments:\n  local:\n    target: local\n`;
  return load(text).environments.local as LocalEnvironment;
}

function issues(text: string): string[] {
  return thrownBy(ConfigError, () => load(text)).details;
}

// ---------------------------------------------------------------------------------------

const Schema = suite('service.build, service.release and service.release_timeout_s');

Schema('are empty lists and 600 s by default', () => {
  const { service } = localEnv();
  assert.equal(service.build, []);
  assert.equal(service.release, []);
  assert.is(service.release_timeout_s, 600);
});

Schema('come from the top-level service, and an environment overrides them key by key', () => {
  const config = load(
    [
      'app: shop',
      'service:',
      '  build: [python manage.py collectstatic --no-input]',
      '  release: [python manage.py migrate --no-input]',
      'environments:',
      '  local: { target: local }',
      '  other:',
      '    target: local',
      '    local: { port: 8081 }',
      '    service: { release: ["echo one && echo two"], release_timeout_s: 30 }',
      '',
    ].join('\n'),
  );
  assert.equal(config.environments.local?.service.build, ['python manage.py collectstatic --no-input']);
  assert.equal(config.environments.local?.service.release, ['python manage.py migrate --no-input']);
  assert.equal(config.environments.other?.service.build, ['python manage.py collectstatic --no-input']);
  assert.equal(config.environments.other?.service.release, ['echo one && echo two']);
  assert.is(config.environments.other?.service.release_timeout_s, 30);
});

Schema('an empty, blank, multi-line or non-string command is exit 2 naming the key and the value', () => {
  const env = 'environments:\n  local: { target: local }\n';
  const empty = issues(`app: shop\nservice:\n  build: [""]\n${env}`);
  assert.match(empty.join('\n'), /service\.build\[0\]: "" is not allowed: expected a non-empty one-line shell command/);
  assert.match(issues(`app: shop\nservice:\n  release: ["   "]\n${env}`).join('\n'), /service\.release\[0\]: " {3}"/);
  assert.match(issues(`app: shop\nservice:\n  release: [42]\n${env}`).join('\n'), /service\.release\[0\]: 42 is not/);
  assert.match(issues(`app: shop\nservice:\n  release: ["a\\nb"]\n${env}`).join('\n'), /service\.release\[0\]/);
  assert.match(
    issues(`app: shop\nservice:\n  build: migrate\n${env}`).join('\n'),
    /service\.build: "migrate" is not allowed: expected a list/,
  );
  assert.match(
    issues(`app: shop\nservice:\n  release_timeout_s: 0\n${env}`).join('\n'),
    /service\.release_timeout_s: 0 is out of range/,
  );
  assert.is(thrownBy(ConfigError, () => load(`app: shop\nservice:\n  build: [""]\n${env}`)).exitCode, EXIT.badInput);
});

Schema.run();

// ---------------------------------------------------------------------------------------

const Fingerprint = suite('the bake fingerprint');

function quietIO(): StageIO {
  return {
    stage: 'bake',
    signal: new AbortController().signal,
    run: async () => ({ exitCode: 0, stdout: 'abcdef123456', stderr: '' }),
    progress: () => {},
    info: () => {},
    warn: () => {},
    note: () => {},
    debug: () => {},
  };
}

const bakeTarget = {
  name: 'local',
  bakeVariables: () => ({ base_docker_image: 'bakery-base:bookworm' }),
  baseImageIdentity: async () => 'bakery-base:bookworm@sha256:base',
} as unknown as AnyTarget;

async function planFor(service: string) {
  const env = localEnv(service);
  const context = { root: REPO_ROOT, env, config: { file: '/nonexistent/deploy.yaml' } } as unknown as RunContext;
  return planBake(context, bakeTarget, quietIO(), undefined);
}

Fingerprint('covers the build commands and not the release commands', async () => {
  const plain = await planFor('');
  const withRelease = await planFor('service:\n  release: [python manage.py migrate]\n');
  const withBuild = await planFor('service:\n  build: [python manage.py collectstatic --no-input]\n');
  const otherBuild = await planFor('service:\n  build: [python manage.py collectstatic]\n');
  assert.is(withRelease.fingerprint, plain.fingerprint, 'release commands do not change the image');
  assert.is.not(withBuild.fingerprint, plain.fingerprint, 'build commands change the image');
  assert.is.not(otherBuild.fingerprint, withBuild.fingerprint);
  assert.is(withBuild.variables.app_build_commands, '["python manage.py collectstatic --no-input"]');
  assert.is(plain.variables.app_build_commands, undefined, 'no build: the fingerprints of older images stay');
});

Fingerprint.run();

// ---------------------------------------------------------------------------------------

const OneOff = suite('the one-off container (local)');

OneOff('is created on the environment’s network, labelled, with no settings in its configuration', () => {
  const env = localEnv();
  const { tool, args } = oneOffCreateCommand(
    { env, names: localNames(env, '/tmp/state') },
    'shop-local-release-abc123',
    IMAGE,
    { argv: ['/bin/sh', '-c', 'python manage.py migrate'], attach: { kind: 'stream' } },
  );
  assert.is(tool, 'docker');
  assert.equal(args.slice(0, 7), [
    'create',
    '--name',
    'shop-local-release-abc123',
    '--hostname',
    'shop-local-release-abc123',
    '--network',
    'shop-local-net',
  ]);
  assert.ok(args.includes('bakery.role=one-off'));
  assert.ok(args.includes('bakery.app=shop') && args.includes('bakery.env=local'));
  for (const flag of ['-e', '--env', '--env-file', '--interactive', '--tty', '--publish', '-p'])
    assert.not.ok(args.includes(flag), `${flag} must not be used`);
  const imageAt = args.indexOf(IMAGE.id);
  assert.equal(args.slice(args.indexOf('--entrypoint'), args.indexOf('--entrypoint') + 2), [
    '--entrypoint',
    '/usr/bin/python3',
  ]);
  assert.ok(args.indexOf('--entrypoint') < imageAt, 'the entrypoint is set before the image');
  assert.equal(args.slice(imageAt + 1), [
    '-c',
    WRAPPER,
    'shop',
    '/opt/shop/app',
    '/opt/shop/venv',
    '/opt/shop/launcher',
    '/etc/shop/build-info.json',
    '/etc/bakery/app.env',
    '/bin/sh',
    '-c',
    'python manage.py migrate',
  ]);
  assert.not.ok(args.join(' ').includes('s3cret'));
});

OneOff('takes the terminal with --interactive --tty only when asked for a TTY', () => {
  const env = localEnv();
  const scope = { env, names: localNames(env, '/tmp/state') };
  const tty = oneOffCreateCommand(scope, 'n', IMAGE, {
    argv: ['python'],
    attach: { kind: 'terminal', tty: true },
  }).args;
  assert.ok(tty.includes('--interactive') && tty.includes('--tty'));
  const piped = oneOffCreateCommand(scope, 'n', IMAGE, {
    argv: ['python'],
    attach: { kind: 'terminal', tty: false },
  }).args;
  assert.ok(piped.includes('--interactive'));
  assert.not.ok(piped.includes('--tty'));
});

OneOff.run();

// ---------------------------------------------------------------------------------------

interface FakeRun {
  calls: OneOffCommand[];
  target: AnyTarget;
}

function fakeTarget(answers: Array<Partial<OneOffResult>>, serves = false): FakeRun {
  const calls: OneOffCommand[] = [];
  const target = {
    name: 'local',
    servesAlready: async () => serves,
    runOneOff: async (_io: StageIO, _image: ImageRef, settings: RuntimeSettings, command: OneOffCommand) => {
      assert.equal(settings, SETTINGS, 'the release gets the runtime settings the instances get');
      calls.push(command);
      return { exitCode: 0, lastLines: [], timedOut: false, where: 'shop-local-release-x', ...answers.shift() };
    },
  } as unknown as AnyTarget;
  return { calls, target };
}

function recordingIO(): StageIO & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...quietIO(), stage: 'release', warn: (text: string) => warnings.push(text), warnings };
}

const Release = suite('the release stage');

Release('comes after provision and before the rollout', () => {
  const env = localEnv();
  const context = { env, root: REPO_ROOT, stateDir: '/tmp/x' } as unknown as RunContext;
  const names = deployStages(context, fakeTarget([]).target, {
    rebake: 'none',
    strategy: 'rolling',
    settings: SETTINGS,
  }).map((stage) => stage.name);
  assert.equal(names, [
    'preflight',
    'bake-base',
    'bake',
    'provision',
    'database',
    'release',
    'rollout',
    'verify',
    'record',
    'prune',
  ]);
});

Release('is skipped, saying why, without release commands or when the fleet already runs the image', async () => {
  const none = fakeTarget([]);
  assert.match(
    String(await releaseSkipReason(quietIO(), none.target, localEnv(), IMAGE, SETTINGS)),
    /no release commands configured/,
  );
  const env = localEnv('service:\n  release: [migrate]\n');
  const same = fakeTarget([], true);
  assert.match(String(await releaseSkipReason(quietIO(), same.target, env, IMAGE, SETTINGS)), /nothing changed/);
  assert.is(await releaseSkipReason(quietIO(), fakeTarget([], false).target, env, IMAGE, SETTINGS), false);
});

Release('runs each command with /bin/sh -c in order, streamed, within the time left', async () => {
  const env = localEnv(
    'service:\n  release: ["python manage.py migrate", "echo done && true"]\n  release_timeout_s: 60\n',
  );
  const fake = fakeTarget([{}, {}]);
  let clock = 1_000_000;
  const record = await runRelease(quietIO(), fake.target, env, IMAGE, SETTINGS, () => (clock += 1000));
  assert.equal(
    fake.calls.map((call) => call.argv),
    [
      ['/bin/sh', '-c', 'python manage.py migrate'],
      ['/bin/sh', '-c', 'echo done && true'],
    ],
  );
  assert.ok(fake.calls.every((call) => call.purpose === 'release' && call.attach.kind === 'stream'));
  assert.is(fake.calls[0]?.timeoutMs, 59_000);
  assert.is(fake.calls[1]?.timeoutMs, 58_000);
  assert.equal({ image: record.image, commands: record.commands }, { image: IMAGE.id, commands: 2 });
});

Release('a failing command stops the deploy (exit 1) with its last lines; the next one never runs', async () => {
  const env = localEnv('service:\n  release: [migrate, seed]\n');
  const fake = fakeTarget([{ exitCode: 3, lastLines: ['Applying shop.0002...', 'OperationalError: boom'] }]);
  const error = await runRelease(quietIO(), fake.target, env, IMAGE, SETTINGS).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, DeployError);
  const failure = error as DeployError;
  assert.is(failure.exitCode, EXIT.deployFailed);
  assert.match(failure.message, /service\.release\[0\] \(migrate\) failed with exit code 3.*old one keeps serving/);
  assert.ok(failure.details.includes('  OperationalError: boom'));
  assert.is(fake.calls.length, 1);
});

Release('a command that outlives release_timeout_s stops the deploy naming the timeout', async () => {
  const env = localEnv('service:\n  release: [sleep 1000]\n  release_timeout_s: 5\n');
  const fake = fakeTarget([{ timedOut: true, exitCode: 124, lastLines: ['still waiting'] }]);
  const error = await runRelease(quietIO(), fake.target, env, IMAGE, SETTINGS).catch((caught: unknown) => caught);
  assert.instance(error, DeployError);
  assert.match((error as Error).message, /did not finish within release_timeout_s \(5 s\) and was stopped/);
});

Release.run();

// ---------------------------------------------------------------------------------------

const entry = (started_at: string, extra: Partial<HistoryEntry>): HistoryEntry => ({
  command: 'deploy',
  env: 'local',
  target: 'local',
  started_at,
  seconds: 1,
  who: 'me@here',
  outcome: 'succeeded',
  exit_code: 0,
  ...extra,
});

const Rollback = suite('--rollback and the schema');

const HISTORY = [
  entry('2026-12-01T10:00:00Z', {
    image: 'sha256:old',
    release: { image: 'sha256:old', commands: 1, finished_at: 'a' },
  }),
  entry('2026-12-02T10:00:00Z', {
    image: 'sha256:new',
    release: { image: 'sha256:new', commands: 1, finished_at: '2026-12-02T10:00:05Z' },
  }),
];

Rollback('warns when a release ran after the release it goes back to', async () => {
  const io = recordingIO();
  await warnIfSchemaAhead(io, { read: async () => HISTORY }, { id: 'sha256:old', fingerprint: 'x' });
  assert.is(io.warnings.length, 1);
  assert.match(io.warnings[0] ?? '', /older than the last release commands that ran.*the schema does not go back/);
});

Rollback('says nothing when no release ran since', async () => {
  const io = recordingIO();
  await warnIfSchemaAhead(io, { read: async () => HISTORY }, { id: 'sha256:new', fingerprint: 'x' });
  assert.equal(io.warnings, []);
  assert.is(releaseAfter(HISTORY, HISTORY[1] as HistoryEntry), undefined);
});

Rollback.run();

// ---------------------------------------------------------------------------------------

const Run = suite('./run.ts arguments');

Run('splits ENV and flags from the command at the first --', () => {
  assert.equal(splitRunArgv(['local', '--verbose', '--', 'python', 'manage.py', 'shell', '--', 'x']), {
    own: ['local', '--verbose'],
    command: ['python', 'manage.py', 'shell', '--', 'x'],
  });
});

Run('no -- or nothing after it is bad input (exit 2)', () => {
  assert.is(thrownBy(UsageError, () => splitRunArgv(['local', 'python'])).exitCode, EXIT.badInput);
  assert.match(thrownBy(UsageError, () => splitRunArgv(['local', '--'])).message, /no command after --/);
  assert.equal(splitRunArgv(['--help']), { own: ['--help'], command: [] });
});

Run.run();

// ---------------------------------------------------------------------------------------

const Checks = suite('the local health checks');

Checks('send the host of the URL bakery prints', async () => {
  const text = await renderHaproxyConfig(REPO_ROOT, localEnv() as Environment as LocalEnvironment);
  assert.match(text, /http-check send meth GET uri \/health ver HTTP\/1\.1 hdr Host 127\.0\.0\.1\n/);
  assert.match(text, /http-check expect status 200/);
});

Checks.run();
