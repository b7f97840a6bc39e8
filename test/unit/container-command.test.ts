import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import {
  bindMount,
  buildContainerCommand,
  buildImageCommand,
  CONTAINER_HOME,
  IMAGE_TSX_LOADER,
  passthroughNames,
  sharedDirectories,
  withAbsoluteConfig,
  withContainerNever,
  type ContainerCommandOptions,
} from '../../pipeline/reexec/command.ts';
import { listFiles, toolingImageTag } from '../../pipeline/reexec/image.ts';
import { makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

// Fake credentials, shaped like real ones; they must never appear in an argv.
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENvalue0123456789abcdef';
const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';

function options(overrides: Partial<ContainerCommandOptions> = {}): ContainerCommandOptions {
  return {
    image: 'bakery-tooling:0123456789ab',
    name: 'bakery-deploy-42-abcdef',
    command: 'deploy',
    argv: ['staging', '--json'],
    target: 'aws',
    bakeryRoot: '/home/ada/src/bakery',
    configRoot: '/home/ada/src/bakery',
    cwd: '/home/ada/src/bakery',
    user: { uid: 1001, gid: 1002 },
    env: {},
    terminal: { stdin: false, stdout: false, stderr: false },
    ...overrides,
  };
}

/** The values of every occurrence of a flag: ["--env", "A", "--env", "B"] → ["A", "B"]. */
function valuesOf(args: readonly string[], flag: string): string[] {
  return args.flatMap((word, index) => (word === flag ? [args[index + 1] as string] : []));
}

/** What comes after the image: the command run inside. */
function innerCommand(args: readonly string[], image = 'bakery-tooling:0123456789ab'): string[] {
  return args.slice(args.indexOf(image) + 1);
}

const shape = suite('buildContainerCommand starts a throwaway container');

shape('runs docker run with --rm and --init, named, before any other option', () => {
  const args = buildContainerCommand(options());
  assert.equal(args.slice(0, 5), ['run', '--rm', '--init', '--name', 'bakery-deploy-42-abcdef']);
});

shape("runs the installation's bakery with the image tsx and the same arguments plus --container never", () => {
  const args = buildContainerCommand(options({ argv: ['staging', '--json', '--rebake'] }));
  assert.equal(innerCommand(args), [
    'node',
    '--import',
    IMAGE_TSX_LOADER,
    '/home/ada/src/bakery/bin/bakery.js',
    'deploy',
    'staging',
    '--json',
    '--rebake',
    '--container',
    'never',
  ]);
});

shape('runs bakery destroy for the destroy command', () => {
  const args = buildContainerCommand(options({ command: 'destroy', argv: ['prod', '--yes'] }));
  assert.equal(innerCommand(args).slice(4), ['destroy', 'prod', '--yes', '--container', 'never']);
});

shape('is the same for the same input (pure)', () => {
  assert.equal(buildContainerCommand(options()), buildContainerCommand(options()));
});

shape.run();

const mounts = suite('buildContainerCommand mounts the repository at its own path');

mounts('mounts the project at the same path and works there', () => {
  const args = buildContainerCommand(options());
  assert.equal(valuesOf(args, '--mount')[0], 'type=bind,source=/home/ada/src/bakery,target=/home/ada/src/bakery');
  assert.equal(valuesOf(args, '--workdir'), ['/home/ada/src/bakery']);
});

mounts('mounts a config directory outside the project as well', () => {
  const args = buildContainerCommand(options({ configRoot: '/srv/deployments/shop' }));
  const binds = valuesOf(args, '--mount');
  assert.ok(binds.includes('type=bind,source=/srv/deployments/shop,target=/srv/deployments/shop'), binds.join('\n'));
});

mounts('does not mount a config directory twice when it is inside the project', () => {
  const args = buildContainerCommand(options({ configRoot: '/home/ada/src/bakery/envs' }));
  assert.equal(valuesOf(args, '--mount').filter((m) => m.includes('/home/ada/src/bakery')).length, 1);
});

mounts('keeps a working directory inside the project', () => {
  const args = buildContainerCommand(options({ cwd: '/home/ada/src/bakery/service' }));
  assert.equal(valuesOf(args, '--workdir'), ['/home/ada/src/bakery/service']);
});

mounts('starts in the project and makes --config absolute when the working directory is not shared', () => {
  const args = buildContainerCommand(
    options({
      cwd: '/home/ada',
      configRoot: '/home/ada/src/shop',
      argv: ['local', '--config', 'src/shop/deploy.yaml'],
    }),
  );
  assert.equal(valuesOf(args, '--workdir'), ['/home/ada/src/shop']);
  assert.ok(innerCommand(args).includes('/home/ada/src/shop/deploy.yaml'), innerCommand(args).join(' '));
});

mounts('mounts an app repository and a bakery installed elsewhere separately', () => {
  const args = buildContainerCommand(
    options({ bakeryRoot: '/usr/lib/node_modules/bakery', configRoot: '/home/ada/shop', cwd: '/home/ada/shop' }),
  );
  const binds = valuesOf(args, '--mount');
  assert.ok(binds.includes('type=bind,source=/usr/lib/node_modules,target=/usr/lib/node_modules'), binds.join('\n'));
  assert.ok(binds.includes('type=bind,source=/home/ada/shop,target=/home/ada/shop'), binds.join('\n'));
  assert.equal(valuesOf(args, '--workdir'), ['/home/ada/shop']);
  assert.ok(innerCommand(args).includes('/usr/lib/node_modules/bakery/bin/bakery.js'));
});

mounts('mounts the project once when bakery is installed in its node_modules', () => {
  const args = buildContainerCommand(
    options({ bakeryRoot: '/home/ada/shop/node_modules/bakery', configRoot: '/home/ada/shop', cwd: '/home/ada/shop' }),
  );
  assert.equal(
    valuesOf(args, '--mount').filter((mount) => mount.includes('/home/ada/shop')),
    ['type=bind,source=/home/ada/shop,target=/home/ada/shop'],
  );
});

mounts('mounts ~/.aws read-only into the container user home', () => {
  const args = buildContainerCommand(options({ awsDir: '/home/ada/.aws' }));
  assert.ok(
    valuesOf(args, '--mount').includes(`type=bind,source=/home/ada/.aws,target=${CONTAINER_HOME}/.aws,readonly`),
  );
});

mounts('does not mount ~/.aws when the host has none', () => {
  const args = buildContainerCommand(options());
  assert.not.ok(valuesOf(args, '--mount').some((m) => m.includes('.aws')));
});

mounts('mounts files named by AWS_CONFIG_FILE and AWS_CA_BUNDLE read-only at their own path', () => {
  const args = buildContainerCommand(
    options({ env: { AWS_CONFIG_FILE: '/etc/aws/config', AWS_CA_BUNDLE: '/etc/ssl/corp.pem' } }),
  );
  const binds = valuesOf(args, '--mount');
  assert.ok(binds.includes('type=bind,source=/etc/aws/config,target=/etc/aws/config,readonly'), binds.join('\n'));
  assert.ok(binds.includes('type=bind,source=/etc/ssl/corp.pem,target=/etc/ssl/corp.pem,readonly'), binds.join('\n'));
});

mounts('quotes a path with a comma the way docker --mount parses it', () => {
  assert.is(bindMount('/data/a,b', '/data/a,b'), 'type=bind,"source=/data/a,b","target=/data/a,b"');
});

mounts('keeps only the outermost of nested directories', () => {
  assert.equal(sharedDirectories(['/a/b/c', '/a/b', '/x', '/a/bc']), ['/x', '/a/b', '/a/bc']);
});

mounts.run();

const user = suite('buildContainerCommand maps the host user');

user('runs as the host uid:gid so files under .deploy/ belong to the user', () => {
  const args = buildContainerCommand(options({ user: { uid: 1001, gid: 1002 } }));
  assert.equal(valuesOf(args, '--user'), ['1001:1002']);
});

user('sets HOME to the image user home, where ~/.aws is mounted', () => {
  const args = buildContainerCommand(options());
  assert.ok(valuesOf(args, '--env').includes(`HOME=${CONTAINER_HOME}`));
});

user('adds the docker socket group for the local target', () => {
  const args = buildContainerCommand(
    options({ target: 'local', dockerSocket: { path: '/var/run/docker.sock', gid: 998 } }),
  );
  assert.equal(valuesOf(args, '--group-add'), ['998']);
  assert.ok(valuesOf(args, '--mount').includes('type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock'));
});

user('adds no group when the user is root or already in the socket group', () => {
  const root = buildContainerCommand(
    options({ target: 'local', user: { uid: 0, gid: 0 }, dockerSocket: { path: '/var/run/docker.sock', gid: 998 } }),
  );
  const member = buildContainerCommand(
    options({
      target: 'local',
      user: { uid: 1001, gid: 998 },
      dockerSocket: { path: '/var/run/docker.sock', gid: 998 },
    }),
  );
  assert.equal(valuesOf(root, '--group-add'), []);
  assert.equal(valuesOf(member, '--group-add'), []);
});

user.run();

const network = suite('buildContainerCommand picks the network per target');

network('shares the host network for the local target, whose load balancer is on the host loopback', () => {
  const args = buildContainerCommand(options({ target: 'local' }));
  assert.equal(valuesOf(args, '--network'), ['host']);
});

network('keeps the default bridge network and no docker socket for the aws target', () => {
  const args = buildContainerCommand(
    options({ target: 'aws', dockerSocket: { path: '/var/run/docker.sock', gid: 998 } }),
  );
  assert.equal(valuesOf(args, '--network'), []);
  assert.not.ok(args.some((word) => word.includes('docker.sock')));
});

network.run();

const tty = suite('buildContainerCommand passes a terminal through only when there is one');

tty('adds --interactive --tty when stdin, stdout and stderr are terminals', () => {
  const args = buildContainerCommand(options({ terminal: { stdin: true, stdout: true, stderr: true } }));
  assert.ok(args.includes('--interactive') && args.includes('--tty'));
});

tty('adds neither in CI, where nothing is a terminal', () => {
  const args = buildContainerCommand(options({ terminal: { stdin: false, stdout: false, stderr: false } }));
  assert.not.ok(args.includes('--interactive') || args.includes('--tty') || args.includes('-t') || args.includes('-i'));
});

tty('adds neither when stdout is redirected, so a --json summary is not mixed with progress', () => {
  const args = buildContainerCommand(options({ terminal: { stdin: true, stdout: false, stderr: true } }));
  assert.not.ok(args.includes('--tty') || args.includes('--interactive'));
});

tty.run();

const env = suite('buildContainerCommand passes the environment by name only');

const hostEnv = {
  AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
  AWS_SESSION_TOKEN: SESSION_TOKEN,
  AWS_PROFILE: 'deploy',
  AWS_REGION: 'eu-west-1',
  BAKERY_NO_CONTAINER: '0',
  CI: 'true',
  GITHUB_RUN_ID: '1234',
  GITHUB_TOKEN: 'ghs_notForTheContainer0123456789',
  HOME: '/home/ada',
  PATH: '/usr/bin',
  SSH_AUTH_SOCK: '/tmp/agent',
  UNSET_ONE: undefined,
};

env('passes AWS_*, CI and BAKERY_* variables with -e NAME', () => {
  const names = valuesOf(buildContainerCommand(options({ env: hostEnv })), '--env');
  for (const name of [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_REGION',
    'CI',
    'GITHUB_RUN_ID',
  ]) {
    assert.ok(names.includes(name), `${name} missing from ${names.join(' ')}`);
  }
});

env('puts no secret value anywhere in argv even when AWS_SECRET_ACCESS_KEY is set', () => {
  const text = buildContainerCommand(options({ env: hostEnv })).join('\n');
  for (const secret of [SECRET_ACCESS_KEY, SESSION_TOKEN, ACCESS_KEY_ID, 'ghs_notForTheContainer0123456789']) {
    assert.not.ok(text.includes(secret), `argv contains ${secret}`);
  }
  assert.not.ok(/AWS_[A-Z_]+=/.test(text), 'an AWS variable was passed with its value');
});

env('passes nothing else of the host environment', () => {
  const names = passthroughNames(hostEnv);
  for (const name of ['GITHUB_TOKEN', 'HOME', 'PATH', 'SSH_AUTH_SOCK', 'BAKERY_NO_CONTAINER', 'UNSET_ONE']) {
    assert.not.ok(names.includes(name), `${name} must not be passed`);
  }
});

env('marks the run as inside the tooling container', () => {
  assert.ok(valuesOf(buildContainerCommand(options()), '--env').includes('BAKERY_IN_CONTAINER=1'));
});

env.run();

const args = suite('withContainerNever keeps the arguments and pins the mode');

args('appends --container never', () => {
  assert.equal(withContainerNever(['staging', '--json']), ['staging', '--json', '--container', 'never']);
});

args('replaces --container always in both spellings', () => {
  assert.equal(withContainerNever(['--container', 'always', 'prod', '--container=auto']), [
    'prod',
    '--container',
    'never',
  ]);
});

args('puts it before -- so it stays a flag', () => {
  assert.equal(withContainerNever(['--dry-run', '--', 'odd-env']), [
    '--dry-run',
    '--container',
    'never',
    '--',
    'odd-env',
  ]);
});

args('makes relative --config paths absolute in both spellings and leaves absolute ones', () => {
  assert.equal(withAbsoluteConfig(['--config', 'a.yaml', '--config=b/c.yaml', '--config', '/etc/d.yaml'], '/w'), [
    '--config',
    '/w/a.yaml',
    '--config=/w/b/c.yaml',
    '--config',
    '/etc/d.yaml',
  ]);
});

args.run();

const image = suite('the tooling image tag follows its definition');

image('builds with the host ids as build arguments from docker/tooling', () => {
  assert.equal(
    buildImageCommand({ tag: 'bakery-tooling:abc', contextDir: '/p/docker/tooling', user: { uid: 1001, gid: 1002 } }),
    [
      'build',
      '--tag',
      'bakery-tooling:abc',
      '--build-arg',
      'BAKERY_UID=1001',
      '--build-arg',
      'BAKERY_GID=1002',
      '--file',
      '/p/docker/tooling/Dockerfile',
      '/p/docker/tooling',
    ],
  );
});

image('changes when a file in the directory changes, and not otherwise', () => {
  const dir = makeTempDir('bakery-tooling-');
  try {
    mkdirSync(join(dir, 'scripts'));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(dir, 'scripts', 'a.sh'), 'echo a\n');
    const user = { uid: 1000, gid: 1000 };
    const first = toolingImageTag(dir, user);
    assert.match(first, /^bakery-tooling:[0-9a-f]{12}$/);
    assert.is(toolingImageTag(dir, user), first);
    writeFileSync(join(dir, 'scripts', 'a.sh'), 'echo b\n');
    assert.is.not(toolingImageTag(dir, user), first);
  } finally {
    removeDir(dir);
  }
});

image('differs per user, since the image bakes the uid in', () => {
  const dir = makeTempDir('bakery-tooling-');
  try {
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
    assert.is.not(toolingImageTag(dir, { uid: 1000, gid: 1000 }), toolingImageTag(dir, { uid: 1001, gid: 1000 }));
    assert.equal(listFiles(dir), ['Dockerfile']);
  } finally {
    removeDir(dir);
  }
});

image.run();
