// Container mode end to end against test/fakes/docker: the real ./deploy.ts and
// ./destroy.ts run as child processes with the fake first on PATH (or alone on it).

import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { toolingImageTag } from '../../pipeline/reexec/image.ts';
import { REPO_ROOT, exitOf, makeTempDir, removeDir, spawnTs, waitFor } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const FAKE_DOCKER = join(REPO_ROOT, 'test', 'fakes', 'docker');
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const CONFIG = `app: demo
environments:
  local:
    target: local
  staging:
    target: aws
    aws:
      region: eu-west-1
      state: { backend: s3, bucket: demo-terraform-state }
`;

interface Context {
  dir: string;
  bin: string;
  log: string;
  config: string;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The recorded calls: each one the argv the fake docker got. */
function calls(context: Context): string[][] {
  if (!existsSync(context.log)) return [];
  const result: string[][] = [];
  for (const line of readFileSync(context.log, 'utf8').split('\n')) {
    if (line === 'call') result.push([]);
    else if (line.startsWith('  ')) result[result.length - 1]?.push(line.slice(2));
  }
  return result;
}

function events(context: Context): string[] {
  return existsSync(context.log)
    ? readFileSync(context.log, 'utf8')
        .split('\n')
        .filter((line) => line !== '' && line !== 'call' && !line.startsWith('  '))
    : [];
}

function start(
  context: Context,
  script: 'deploy.ts' | 'destroy.ts',
  args: string[],
  env: Record<string, string> = {},
  path?: string,
): ChildProcess {
  return spawnTs(script, [...args, '--config', context.config], {
    PATH: path ?? `${context.bin}:${process.env.PATH ?? ''}`,
    FAKE_DOCKER_LOG: context.log,
    CI: 'true',
    BAKERY_NO_CONTAINER: '',
    BAKERY_IN_CONTAINER: '',
    NO_COLOR: '1',
    ...env,
  });
}

async function finish(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const { code } = await exitOf(child);
  return { code, stdout, stderr };
}

function setUp(context: Context): void {
  context.dir = makeTempDir('bakery-container-run-');
  context.bin = join(context.dir, 'bin');
  mkdirSync(context.bin);
  copyFileSync(FAKE_DOCKER, join(context.bin, 'docker'));
  context.log = join(context.dir, 'docker-calls.log');
  context.config = join(context.dir, 'deploy.yaml');
  writeFileSync(context.config, CONFIG);
}

const expectedTag = toolingImageTag(join(REPO_ROOT, 'docker', 'tooling'), {
  uid: process.getuid?.() ?? 1000,
  gid: process.getgid?.() ?? 1000,
});

const exitCodes = suite<Context>('container mode preserves the exit code');
exitCodes.before.each(setUp);
exitCodes.after.each((context) => removeDir(context.dir));

exitCodes('returns the container exit code, here 3', async (context) => {
  const run = await finish(
    start(context, 'deploy.ts', ['local', '--container', 'always'], { FAKE_DOCKER_RUN_EXIT: '3' }),
  );
  assert.is(run.code, 3, run.stderr);
  const dockerRun = calls(context).find((argv) => argv[0] === 'run');
  assert.ok(dockerRun, 'docker run was not called');
  assert.equal(
    dockerRun.slice(-5),
    ['./deploy.ts', 'local', '--config', context.config, '--container', 'never'].slice(-5),
  );
});

exitCodes('returns 0 and prints no second --json summary when the container succeeds', async (context) => {
  const run = await finish(start(context, 'deploy.ts', ['local', '--container', 'always', '--json']));
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stdout, '', 'the host printed a summary of its own');
  assert.match(run.stderr, `running in the tooling container ${expectedTag} (--container always)`);
});

exitCodes('returns 2 from a destroy refused inside the container', async (context) => {
  const run = await finish(
    start(context, 'destroy.ts', ['staging', '--container', 'always'], { FAKE_DOCKER_RUN_EXIT: '2' }),
  );
  assert.is(run.code, 2, run.stderr);
  const dockerRun = calls(context).find((argv) => argv[0] === 'run') ?? [];
  assert.ok(dockerRun.includes('destroy'), dockerRun.join(' '));
});

exitCodes.run();

const build = suite<Context>('container mode builds the image when it is missing');
build.before.each(setUp);
build.after.each((context) => removeDir(context.dir));

build('builds bakery-tooling:<hash> from docker/tooling with the host ids, then runs it', async (context) => {
  const run = await finish(
    start(context, 'deploy.ts', ['local', '--container', 'always'], { FAKE_DOCKER_IMAGE_PRESENT: '0' }),
  );
  assert.is(run.code, 0, run.stderr);
  const [inspect, dockerBuild, dockerRun] = calls(context);
  assert.equal(inspect?.slice(0, 2), ['image', 'inspect']);
  assert.equal(dockerBuild, [
    'build',
    '--tag',
    expectedTag,
    '--build-arg',
    `BAKERY_UID=${process.getuid?.() ?? 1000}`,
    '--build-arg',
    `BAKERY_GID=${process.getgid?.() ?? 1000}`,
    '--file',
    join(REPO_ROOT, 'docker', 'tooling', 'Dockerfile'),
    join(REPO_ROOT, 'docker', 'tooling'),
  ]);
  assert.is(dockerRun?.[0], 'run');
  assert.ok(dockerRun?.includes(expectedTag));
  assert.not.match(run.stdout, 'fake build', 'build output must stay off stdout');
});

build('does not build when the image is present', async (context) => {
  const run = await finish(start(context, 'deploy.ts', ['local', '--container', 'always']));
  assert.is(run.code, 0, run.stderr);
  assert.equal(
    calls(context).map((argv) => argv[0]),
    ['image', 'run'],
  );
});

build('fails with exit 1 and says why when the build fails, without running', async (context) => {
  const run = await finish(
    start(context, 'deploy.ts', ['local', '--container', 'always'], {
      FAKE_DOCKER_IMAGE_PRESENT: '0',
      FAKE_DOCKER_BUILD_EXIT: '1',
    }),
  );
  assert.is(run.code, 1, run.stderr);
  assert.match(run.stderr, 'building the tooling image failed (docker build exited with 1)');
  assert.not.ok(calls(context).some((argv) => argv[0] === 'run'));
});

build.run();

const signals = suite<Context>('container mode forwards signals to the docker client');
signals.before.each(setUp);
signals.after.each((context) => removeDir(context.dir));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  signals(`passes ${signal} on to docker run and returns its exit code`, async (context) => {
    const child = start(context, 'deploy.ts', ['local', '--container', 'always'], { FAKE_DOCKER_RUN_WAIT: '1' });
    const result = finish(child);
    await waitFor(() => events(context).includes('ready'), 20_000, 'the fake docker run to start');
    child.kill(signal);
    const run = await result;
    assert.ok(
      events(context).includes(`signal ${signal}`),
      `the fake did not get ${signal}: ${events(context).join(', ')}`,
    );
    assert.is(run.code, signal === 'SIGINT' ? 130 : 143, run.stderr);
  });
}

signals.run();

const secrets = suite<Context>('container mode keeps secrets off the docker command line');
secrets.before.each(setUp);
secrets.after.each((context) => removeDir(context.dir));

secrets('passes AWS credentials by name: the recorded argv has no secret value', async (context) => {
  const run = await finish(
    start(context, 'deploy.ts', ['staging', '--container', 'always'], {
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    }),
  );
  assert.is(run.code, 0, run.stderr);
  const dockerRun = calls(context).find((argv) => argv[0] === 'run') ?? [];
  assert.ok(dockerRun.includes('AWS_SECRET_ACCESS_KEY'), dockerRun.join(' '));
  assert.not.ok(readFileSync(context.log, 'utf8').includes(SECRET_ACCESS_KEY), 'a secret value reached docker argv');
  assert.not.ok(readFileSync(context.log, 'utf8').includes('AKIAIOSFODNN7EXAMPLE'));
  assert.not.ok(dockerRun.includes('host'), 'the aws target must not share the host network');
});

secrets.run();

const dryRun = suite<Context>('--dry-run in container mode prints the command and runs nothing');
dryRun.before.each(setUp);
dryRun.after.each((context) => removeDir(context.dir));

dryRun('prints the build and run commands on stderr, exits 0, calls only image inspect', async (context) => {
  const run = await finish(
    start(context, 'deploy.ts', ['local', '--container', 'always', '--dry-run'], { FAKE_DOCKER_IMAGE_PRESENT: '0' }),
  );
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stdout, '');
  assert.match(run.stderr, 'dry run: would run in the tooling container (--container always):');
  assert.match(run.stderr, `  docker build --tag ${expectedTag} `);
  assert.match(run.stderr, /\n {2}docker run --rm --init --name bakery-deploy-\d+-[0-9a-f]{6} /);
  assert.match(run.stderr, `local --dry-run --config ${context.config} --container never\n`);
  assert.equal(
    calls(context).map((argv) => argv[0]),
    ['image'],
  );
});

dryRun('still prints the commands when docker is missing, and says the real run would stop', async (context) => {
  const empty = join(context.dir, 'empty');
  mkdirSync(empty);
  const run = await finish(start(context, 'deploy.ts', ['local', '--container', 'always', '--dry-run'], {}, empty));
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, 'dry run: docker is not installed or not on PATH: the real run would stop here');
  assert.match(run.stderr, '  docker build --tag ');
  assert.match(run.stderr, '  docker run --rm --init ');
});

dryRun.run();

const auto = suite<Context>('--container auto looks at the host tools');
auto.before.each(setUp);
auto.after.each((context) => removeDir(context.dir));

auto('runs in the container when packer and ansible-playbook are not on PATH, and says so', async (context) => {
  // PATH holds the fake docker alone: docker is there, the other tools are not.
  const run = await finish(start(context, 'deploy.ts', ['local'], {}, context.bin));
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, 'packer is not on PATH; ansible-playbook is not on PATH');
  assert.ok(calls(context).some((argv) => argv[0] === 'run'));
});

auto('fails with exit 1 naming what is missing when neither the tools nor docker are there', async (context) => {
  const empty = join(context.dir, 'empty');
  mkdirSync(empty);
  const run = await finish(start(context, 'deploy.ts', ['local'], {}, empty));
  assert.is(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    'this run needs either the tools on the host or Docker for the tooling container, and has neither',
  );
  assert.match(run.stderr, 'host: packer is not on PATH');
});

auto('says a dry run stays on the host when every tool is there', async (context) => {
  writeFileSync(join(context.bin, 'packer'), '#!/bin/sh\necho "Packer v1.12.0"\n', { mode: 0o755 });
  writeFileSync(join(context.bin, 'ansible-playbook'), '#!/bin/sh\necho "ansible-playbook [core 2.14.18]"\n', {
    mode: 0o755,
  });
  const run = await finish(start(context, 'deploy.ts', ['local', '--dry-run'], {}, context.bin));
  assert.match(
    run.stderr,
    'dry run: on the host, not in the tooling container (every tool is on the host at a supported version)',
  );
  assert.not.ok(calls(context).some((argv) => argv[0] === 'run' || argv[0] === 'image'));
});

auto('runs an aws deploy in the container when the host terraform is older than the stack needs', async (context) => {
  // Terraform 1.6 is newer than container mode once accepted (1.5) but older than the
  // aws preflight requires: staying on the host would only fail there.
  writeFileSync(
    join(context.bin, 'terraform'),
    '#!/bin/sh\necho \'{"terraform_version":"1.6.0","platform":"linux_amd64"}\'\n',
    { mode: 0o755 },
  );
  writeFileSync(join(context.bin, 'packer'), '#!/bin/sh\necho "Packer v1.12.0"\n', { mode: 0o755 });
  writeFileSync(join(context.bin, 'ansible-playbook'), '#!/bin/sh\necho "ansible-playbook [core 2.14.18]"\n', {
    mode: 0o755,
  });
  const run = await finish(
    start(context, 'deploy.ts', ['staging', '--dry-run'], { XDG_CACHE_HOME: join(context.dir, 'cache') }, context.bin),
  );
  assert.is(run.code, 0, run.stderr);
  assert.match(
    run.stderr,
    'dry run: would run in the tooling container (terraform 1.6.0 is older than the supported 1.11.0):',
  );
});

auto('runs on the host with --no-container without calling docker', async (context) => {
  const run = await finish(start(context, 'deploy.ts', ['local', '--no-container', '--dry-run'], {}, context.bin));
  assert.not.match(run.stderr, 'tooling container');
  assert.not.ok(calls(context).some((argv) => argv[0] === 'run' || argv[0] === 'image'));
});

auto.run();
