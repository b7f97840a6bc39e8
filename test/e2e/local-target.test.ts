// End to end on the local target, with the real Packer, Ansible, Docker engine,
// HAProxy and service: deploy, no-op redeploy, rolling update under load, self-healing,
// a broken image rolled back, destroy. Loopback and the project's containers only.

import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { request } from 'undici';
import { describeCheck, parseServerStats, type ServerState } from '../../pipeline/targets/local/lb-servers.ts';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createProject,
  deployYaml,
  dockerText,
  leftovers,
  runEntry,
  spawnEntry,
  type TempProject,
} from '../../harness/local-project.ts';
import { startLoad } from '../../harness/load.ts';

const APP = 'e2e-local';
const PORT = 18181;

interface Summary {
  ok: boolean;
  url?: string;
  fingerprint?: string;
  image?: string;
  stages: Array<{ name: string; status: string; skipped_reason?: string }>;
}

function summaryOf(stdout: string): Summary {
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Summary;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.text() };
}

async function lbServers(app: string, env = 'local'): Promise<ServerState[]> {
  const csv = await dockerText([
    'exec',
    '-i',
    `${app}-${env}-lb`,
    'sh',
    '-c',
    'echo "show stat" | socat stdio unix-connect:/run/haproxy/admin.sock',
  ]);
  return parseServerStats(csv);
}

async function instanceIds(app: string): Promise<string[]> {
  const out = await dockerText([
    'ps',
    '-q',
    '--no-trunc',
    '--filter',
    `label=bakery.app=${app}`,
    '--filter',
    'label=bakery.role=instance',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

const local = suite<{ project: TempProject; fingerprint: string }>('the local target');

local.before(async (context) => {
  context.project = await createProject({ app: APP, port: PORT, desired: 2, deadlineS: 45 });
});

local.after(async (context) => {
  await context.project.destroy();
  await context.project.remove();
});

local('a fresh deploy prints the URL; /health answers 200 and / shows the fingerprint', async (context) => {
  const result = await context.project.deploy('--json');
  assert.is(result.exitCode, 0, result.stderr);
  const summary = summaryOf(result.stdout);
  assert.ok(summary.ok);
  assert.is(summary.url, `http://127.0.0.1:${PORT}/`);
  assert.match(summary.fingerprint ?? '', /^[0-9a-f]{64}$/);
  context.fingerprint = summary.fingerprint as string;
  const health = await get(`${summary.url}health`);
  assert.is(health.status, 200);
  assert.equal(JSON.parse(health.body), { status: 'ok' });
  const page = await get(summary.url as string);
  assert.ok(page.body.includes(context.fingerprint), 'the page shows the full fingerprint');
});

local('HAProxy reports every desired instance UP', async () => {
  const servers = await lbServers(APP);
  assert.is(servers.length, 2);
  assert.equal(
    servers.map((server) => server.status),
    ['UP', 'UP'],
  );
});

local('a redeploy with no change skips the bake and restarts nothing', async (context) => {
  const before = await instanceIds(APP);
  const result = await context.project.deploy('--json');
  assert.is(result.exitCode, 0, result.stderr);
  const stages = summaryOf(result.stdout).stages;
  assert.is(stages.find((stage) => stage.name === 'bake')?.status, 'skipped');
  assert.match(stages.find((stage) => stage.name === 'bake')?.skipped_reason ?? '', /already baked/);
  assert.is(stages.find((stage) => stage.name === 'rollout')?.status, 'skipped');
  assert.not.match(result.stderr, /packer/, 'no packer process was started');
  assert.equal(await instanceIds(APP), before, 'container ids are unchanged');
});

local('a service change rolls out under load without one failed request', async (context) => {
  await context.project.edit(
    'service/bakery_service/health.py',
    (text) => `${text}\n# changed by the rolling-update test\n`,
  );
  const load = startLoad(`http://127.0.0.1:${PORT}/`, { concurrency: 4, pauseMs: 20 });
  const result = await context.project.deploy('--json');
  const traffic = await load.stop();
  assert.is(result.exitCode, 0, result.stderr);
  const summary = summaryOf(result.stdout);
  assert.is.not(summary.fingerprint, context.fingerprint, 'a new fingerprint');
  assert.ok(traffic.total >= 500, `at least 500 requests during the rollout (sent ${traffic.total})`);
  assert.is(traffic.failed, 0, `failed requests: ${traffic.failures.join('; ')}`);
  assert.match(
    result.stderr,
    /canary passed: canary: 0 of \d+ requests failed/,
    'the canary took real traffic and passed',
  );
  const page = await get(`http://127.0.0.1:${PORT}/`);
  assert.ok(page.body.includes(summary.fingerprint as string), 'the page shows the new fingerprint');
  assert.is((await instanceIds(APP)).length, 2, 'old instances were removed');
  context.fingerprint = summary.fingerprint as string;
});

local('killing the service in one of two instances under load fails no request, and it comes back UP', async () => {
  const [victim] = (
    await dockerText([
      'ps',
      '--format',
      '{{.Names}}',
      '--filter',
      `label=bakery.app=${APP}`,
      '--filter',
      'label=bakery.role=instance',
    ])
  ).split('\n');
  assert.ok(victim);
  const pidBefore = await dockerText([
    'exec',
    victim as string,
    'systemctl',
    'show',
    '--property',
    'MainPID',
    '--value',
    `${APP}.service`,
  ]);
  const load = startLoad(`http://127.0.0.1:${PORT}/`, { concurrency: 4, pauseMs: 10 });
  await sleep(1000);
  await dockerText(['exec', victim as string, 'systemctl', 'kill', '--signal', 'SIGKILL', `${APP}.service`]);
  const deadline = Date.now() + 30_000;
  let back = false;
  while (Date.now() < deadline && !back) {
    await sleep(250);
    const pid = await dockerText([
      'exec',
      victim as string,
      'systemctl',
      'show',
      '--property',
      'MainPID',
      '--value',
      `${APP}.service`,
    ]);
    const server = (await lbServers(APP)).find((s) => s.name === victim);
    back = pid !== '0' && pid !== pidBefore && server?.status === 'UP';
  }
  await sleep(1000);
  const traffic = await load.stop();
  assert.ok(back, 'systemd restarted the service and HAProxy marks the instance UP again');
  assert.ok(traffic.total > 100, `requests sent: ${traffic.total}`);
  assert.is(traffic.failed, 0, `failed requests: ${traffic.failures.join('; ')}`);
});

local('a restarted load balancer comes back with its instances', async () => {
  await dockerText(['restart', `${APP}-local-lb`]);
  // A restarted HAProxy lists its servers as UP before it has checked them: wait for a
  // passed check on each. The deadline is generous because a 2-core CI machine under
  // load may fail a first check (1 s timeout), and a server then needs `rise` checks.
  const deadline = Date.now() + 45_000;
  let servers: ServerState[] = [];
  const checkedUp = (server: ServerState) => server.status === 'UP' && server.checkStatus === 'L7OK';
  while (Date.now() < deadline) {
    servers = await lbServers(APP).catch(() => []);
    if (servers.length === 2 && servers.every(checkedUp)) break;
    await sleep(250);
  }
  assert.ok(
    servers.length === 2 && servers.every(checkedUp),
    `45 s after the restart: ${servers.map(describeCheck).join('; ') || 'no servers'}`,
  );
  assert.is((await get(`http://127.0.0.1:${PORT}/health`)).status, 200);
});

local('a second environment runs side by side and its destroy leaves the first serving', async (context) => {
  const config = join(context.project.dir, 'deploy-side.yaml');
  await writeFile(config, deployYaml({ app: APP, env: 'side', port: 18182, desired: 1 }));
  const image = (
    await dockerText(['images', '--quiet', '--no-trunc', '--filter', `label=bakery.fingerprint=${context.fingerprint}`])
  ).split('\n')[0] as string;
  const deployed = await runEntry('deploy.ts', ['side', '--config', config, '--image', image]);
  assert.is(deployed.exitCode, 0, deployed.stderr);
  assert.is(deployed.stdout.trim(), 'http://127.0.0.1:18182/');
  assert.is((await get('http://127.0.0.1:18182/health')).status, 200);
  assert.is((await get(`http://127.0.0.1:${PORT}/health`)).status, 200);
  const destroyed = await runEntry('destroy.ts', ['side', '--config', config]);
  assert.is(destroyed.exitCode, 0, destroyed.stderr);
  assert.is((await get(`http://127.0.0.1:${PORT}/health`)).status, 200, 'the first environment still serves');
  assert.is((await instanceIds(APP)).length, 2, 'the first environment keeps its instances');
  const sideLeft = await dockerText(['ps', '-a', '--quiet', '--filter', 'label=bakery.env=side']);
  assert.is(sideLeft, '', 'nothing of the second environment remains');
});

local('Ctrl-C during a bake reaches Packer: exit 130, no builder container left, lock released', async (context) => {
  const containersBefore = await dockerText(['ps', '-a', '--quiet', '--no-trunc']);
  const child = spawnEntry('deploy.ts', ['local', '--config', context.project.config, '--rebake']);
  const lockFile = join(context.project.dir, '.deploy', 'local', 'lock');
  // Wait until Packer has its builder container and Ansible is working in it.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && (await dockerText(['ps', '-a', '--quiet', '--no-trunc'])) === containersBefore)
    await sleep(500);
  await sleep(3000);
  child.kill('SIGINT');
  const result = await child;
  assert.is(result.exitCode, 130, String(result.stderr));
  assert.match(String(result.stderr), /SIGINT: stopping; waiting for packer to clean up/);
  assert.is(
    await dockerText(['ps', '-a', '--quiet', '--no-trunc']),
    containersBefore,
    'Packer removed its builder container',
  );
  assert.not.ok(existsSync(lockFile), 'the lock is released');
});

local(
  'a broken image exits 1 with the reason, keeps the old version serving and leaves no new container',
  async (context) => {
    const before = await instanceIds(APP);
    await context.project.edit('service/bakery_service/health.py', (text) =>
      text.replace('return {"status": "ok"}', 'return {"status": "broken"}, 500'),
    );
    const result = await context.project.deploy();
    assert.is(result.exitCode, 1, result.stderr);
    assert.match(result.stderr, /did not become healthy within 45 s/);
    assert.match(result.stderr, /L7STS|HTTP 500/, 'the health-check failure reason');
    assert.match(result.stderr, /last journal lines of/);
    assert.equal(await instanceIds(APP), before, 'only the old instances remain');
    const page = await get(`http://127.0.0.1:${PORT}/`);
    assert.is(page.status, 200);
    assert.ok(page.body.includes(context.fingerprint), 'the previous version still serves');
  },
);

local('destroy leaves nothing labelled with the app, and a second destroy succeeds', async (context) => {
  const first = await context.project.destroy();
  assert.is(first.exitCode, 0, first.stderr);
  assert.match(first.stderr, /removed \d+ resource/);
  assert.equal(await leftovers(APP), []);
  const second = await context.project.destroy();
  assert.is(second.exitCode, 0, second.stderr);
  assert.match(second.stderr, /nothing to remove/);
});

local.run();

const busy = suite<{ server: Server; project: TempProject }>('a local port already in use');

busy.before(async (context) => {
  context.server = createServer();
  await new Promise<void>((resolve) => context.server.listen(18191, '127.0.0.1', resolve));
  context.project = await createProject({ app: 'e2e-busy', port: 18191 });
});

busy.after(async (context) => {
  context.server.close();
  await context.project.remove();
});

busy('is bad input: exit 2 naming local.port, before anything starts', async (context) => {
  const result = await context.project.deploy();
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(result.stderr, /environments\.local\.local\.port: 127\.0\.0\.1:18191 is already in use/);
  assert.equal(await leftovers('e2e-busy'), []);
});

busy.run();
