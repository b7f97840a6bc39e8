// The local target's docker calls as data (pipeline/targets/local/docker-commands.ts):
// the exact argv for representative inputs, built without running Docker.

import * as assert from 'uvu/assert';
import { parseConfig, selectEnvironment } from '../../pipeline/config/load.ts';
import type { LocalEnvironment } from '../../pipeline/config/schema.ts';
import {
  dockerBuild,
  dockerCpInto,
  dockerCreate,
  dockerExec,
  dockerImages,
  dockerInspect,
  dockerKill,
  dockerLogs,
  dockerNetworkCreate,
  dockerNetworkNames,
  dockerPs,
  dockerRm,
  dockerRmi,
  dockerRun,
  dockerStop,
} from '../../pipeline/targets/local/docker-commands.ts';
import { instanceContainer, STOP_TIMEOUT_S } from '../../pipeline/targets/local/instances.ts';
import { localNames, ownerFilters, ownerLabels } from '../../pipeline/targets/local/names.ts';
import type { LocalScope } from '../../pipeline/targets/local/scope.ts';
import { suite } from '../support/suite.ts';

function localEnvironment(): LocalEnvironment {
  const env = selectEnvironment(parseConfig('app: shop\nenvironments:\n  dev:\n    target: local\n'), 'dev');
  if (env.target !== 'local') throw new Error('expected a local environment');
  return env;
}

const env = localEnvironment();
const scope: LocalScope = { root: '/opt/bakery', env, names: localNames(env, '/project/.deploy/dev') };

const Containers = suite('docker create and run argv');

Containers('an instance is created with systemd as PID 1, a fixed address and its labels, in a fixed order', () => {
  const spec = instanceContainer(
    scope,
    {
      image: { id: 'sha256:abc', fingerprint: 'f00dfeed1234' },
      settings: { variables: { GREETING: 'hi' }, secretValues: [] },
      settingsDigest: 'digest42',
    },
    'shop-dev-f00dfeed-x1y2',
    '10.213.0.10',
  );
  assert.equal(dockerCreate(spec), {
    tool: 'docker',
    args: [
      'create',
      '--name',
      'shop-dev-f00dfeed-x1y2',
      '--hostname',
      'shop-dev-f00dfeed-x1y2',
      '--network',
      'shop-dev-net',
      '--ip',
      '10.213.0.10',
      '--restart',
      'unless-stopped',
      '--stop-timeout',
      String(STOP_TIMEOUT_S),
      '--cap-add',
      'SYS_ADMIN',
      '--security-opt',
      'seccomp=unconfined',
      '--cgroupns=host',
      '--volume',
      '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '--tmpfs',
      '/run',
      '--tmpfs',
      '/run/lock',
      '--label',
      'bakery.app=shop',
      '--label',
      'bakery.env=dev',
      '--label',
      'bakery.role=instance',
      '--label',
      'bakery.fingerprint=f00dfeed1234',
      '--label',
      'bakery.settings=digest42',
      'sha256:abc',
    ],
  });
});

Containers('settings and secrets never reach an instance command line, only their digest does', () => {
  const secret = 'p4ssw0rd-never-on-argv';
  const spec = instanceContainer(
    scope,
    {
      image: { id: 'sha256:abc', fingerprint: 'f00dfeed1234' },
      settings: { variables: { DATABASE_PASSWORD: secret, MODE: 'plain-value-too' }, secretValues: [secret] },
      settingsDigest: 'digest42',
    },
    'shop-dev-f00dfeed-x1y2',
    '10.213.0.10',
  );
  const argv = dockerCreate(spec).args.join('\n');
  assert.not.ok(argv.includes(secret));
  assert.not.ok(argv.includes('plain-value-too'));
  assert.not.ok(argv.includes('DATABASE_PASSWORD'));
  // They go in as a file, copied into the created container.
  assert.equal(dockerCpInto('/tmp/bakery-settings-1/app.env', 'shop-dev-f00dfeed-x1y2', '/etc/shop/app.env'), {
    tool: 'docker',
    args: ['cp', '/tmp/bakery-settings-1/app.env', 'shop-dev-f00dfeed-x1y2:/etc/shop/app.env'],
  });
});

Containers('a published, mounted container runs detached, with a command after the image', () => {
  assert.equal(
    dockerRun({
      name: 'shop-dev-lb',
      network: 'shop-dev-net',
      publish: ['127.0.0.1:8080:80'],
      restart: 'unless-stopped',
      volumes: ['/project/.deploy/dev/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro'],
      labels: { ...ownerLabels(env, 'lb'), 'bakery.config-hash': 'h1' },
      image: 'bakery/haproxy:1234',
      command: ['haproxy', '-W'],
    }).args,
    [
      'run',
      '--detach',
      '--name',
      'shop-dev-lb',
      '--network',
      'shop-dev-net',
      '--publish',
      '127.0.0.1:8080:80',
      '--restart',
      'unless-stopped',
      '--volume',
      '/project/.deploy/dev/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro',
      '--label',
      'bakery.app=shop',
      '--label',
      'bakery.env=dev',
      '--label',
      'bakery.role=lb',
      '--label',
      'bakery.config-hash=h1',
      'bakery/haproxy:1234',
      'haproxy',
      '-W',
    ],
  );
});

Containers('the smallest container spec is a name and an image', () => {
  assert.equal(dockerRun({ name: 'x', image: 'debian:12' }).args, ['run', '--detach', '--name', 'x', 'debian:12']);
});

Containers.run();

const Lifecycle = suite('docker lifecycle, exec and lookup argv');

Lifecycle('stop waits the given seconds; rm forces, with volumes only when asked', () => {
  assert.equal(dockerStop('i1', 30).args, ['stop', '--time', '30', 'i1']);
  assert.equal(dockerRm('i1').args, ['rm', '--force', 'i1']);
  assert.equal(dockerRm('i1', { volumes: true }).args, ['rm', '--force', '--volumes', 'i1']);
  assert.equal(dockerKill('shop-dev-lb', 'USR2').args, ['kill', '--signal', 'USR2', 'shop-dev-lb']);
});

Lifecycle('exec keeps stdin open only when asked (the runtime API reads commands from it)', () => {
  assert.equal(dockerExec('lb', ['test', '-S', '/run/haproxy/admin.sock']).args, [
    'exec',
    'lb',
    'test',
    '-S',
    '/run/haproxy/admin.sock',
  ]);
  assert.equal(dockerExec('lb', ['socat', 'stdio', 'unix-connect:/run/haproxy/admin.sock'], { stdin: true }).args, [
    'exec',
    '-i',
    'lb',
    'socat',
    'stdio',
    'unix-connect:/run/haproxy/admin.sock',
  ]);
});

Lifecycle('lookups render owner filters as --filter pairs', () => {
  assert.equal(dockerPs({ all: true, filters: ownerFilters(env, 'instance'), format: '{{json .}}' }).args, [
    'ps',
    '--all',
    '--no-trunc',
    '--filter',
    'label=bakery.app=shop',
    '--filter',
    'label=bakery.env=dev',
    '--filter',
    'label=bakery.role=instance',
    '--format',
    '{{json .}}',
  ]);
  assert.equal(dockerPs({ filters: ['name=^shop-dev-lb$'], format: '{{.Ports}}' }).args, [
    'ps',
    '--no-trunc',
    '--filter',
    'name=^shop-dev-lb$',
    '--format',
    '{{.Ports}}',
  ]);
  assert.equal(dockerImages({ filters: ownerFilters(env), format: '{{.ID}}' }).args, [
    'images',
    '--no-trunc',
    '--filter',
    'label=bakery.app=shop',
    '--filter',
    'label=bakery.env=dev',
    '--format',
    '{{.ID}}',
  ]);
  assert.equal(dockerNetworkNames(ownerFilters(env)).args, [
    'network',
    'ls',
    '--filter',
    'label=bakery.app=shop',
    '--filter',
    'label=bakery.env=dev',
    '--format',
    '{{.Name}}',
  ]);
});

Lifecycle('inspect names the object kind only when given one', () => {
  assert.equal(dockerInspect({ kind: 'network', format: '{{.Id}}', names: ['n1'] }).args, [
    'network',
    'inspect',
    '--format',
    '{{.Id}}',
    'n1',
  ]);
  assert.equal(dockerInspect({ format: '{{.State.Status}}', names: ['c1', 'c2'] }).args, [
    'inspect',
    '--format',
    '{{.State.Status}}',
    'c1',
    'c2',
  ]);
});

Lifecycle('images, networks and logs', () => {
  assert.equal(dockerRmi(['bakery/shop-dev:aaa', 'bakery/shop-dev:bbb']).args, [
    'rmi',
    '--force',
    'bakery/shop-dev:aaa',
    'bakery/shop-dev:bbb',
  ]);
  assert.equal(
    dockerNetworkCreate({ name: 'shop-dev-net', subnet: '10.213.4.0/24', labels: ownerLabels(env, 'network') }).args,
    [
      'network',
      'create',
      '--driver',
      'bridge',
      '--subnet',
      '10.213.4.0/24',
      '--label',
      'bakery.app=shop',
      '--label',
      'bakery.env=dev',
      '--label',
      'bakery.role=network',
      'shop-dev-net',
    ],
  );
  assert.equal(
    dockerBuild({
      tag: 'bakery/haproxy:1',
      context: '/opt/bakery/docker/haproxy',
      buildArgs: { BASE_IMAGE: 'debian:12' },
    }).args,
    ['build', '--build-arg', 'BASE_IMAGE=debian:12', '-t', 'bakery/haproxy:1', '/opt/bakery/docker/haproxy'],
  );
  assert.equal(dockerLogs('shop-dev-lb', { since: new Date('2026-12-07T10:00:00Z') }).args, [
    'logs',
    '--since',
    '2026-12-07T10:00:00.000Z',
    'shop-dev-lb',
  ]);
});

Lifecycle.run();
