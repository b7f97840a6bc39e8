// The user's own app, end to end on the local target with real Packer, Ansible, Docker,
// pip and HAProxy: a Flask app that is not the demo, whose requirement is a wheel this
// test builds and serves from a PEP 503 index on 127.0.0.1 (no PyPI), and an ASGI app on
// FastAPI and Uvicorn from Debian's packages. Loopback and the project's containers only.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { request } from 'undici';
import * as assert from 'uvu/assert';
import { createProject, dockerText, leftovers, runEntry, type TempProject } from '../helpers/local-project.ts';
import { startLoad } from '../helpers/load.ts';
import { buildWheel, servePackageIndex, type PackageIndex } from '../helpers/package-index.ts';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
const WSGI = { app: 'e2e-own', port: 18360 };
const ASGI = { app: 'e2e-own-asgi', port: 18362 };
const INDEX_PORT = 18361;

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.text() };
}

function baseImage(): string {
  return process.env.BAKERY_BASE_IMAGE ?? 'bakery-base:bookworm';
}

/**
 * deploy.yaml the way the README tells a new user to write it: the app at the top level,
 * runtime settings (`envService`) under the environment.
 */
function ownAppYaml(app: string, port: number, service: string[], envService: string[] = []): string {
  return [
    `app: ${app}`,
    'service:',
    ...service.map((line) => `  ${line}`),
    'environments:',
    '  local:',
    '    target: local',
    '    instances: { min: 1, desired: 2, max: 4 }',
    '    health: { deadline_s: 90 }',
    '    rollout: { canary: null }',
    ...(envService.length > 0 ? ['    service:', ...envService.map((line) => `      ${line}`)] : []),
    '    local:',
    `      port: ${port}`,
    `      base_image: ${baseImage()}`,
    '',
  ].join('\n');
}

async function instanceNames(app: string): Promise<string[]> {
  const out = await dockerText([
    'ps',
    '--filter',
    `label=bakery.app=${app}`,
    '--filter',
    'label=bakery.role=instance',
    '--format',
    '{{.Names}}',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

interface Context {
  index?: PackageIndex;
  wsgi?: TempProject;
  asgi?: TempProject;
}

const Own = suite<Context>('deploy your own app: a directory source, its requirements, WSGI and ASGI', {});

Own.before(async (context) => {
  context.wsgi = await createProject({ app: WSGI.app, port: WSGI.port });
  await cp(join(FIXTURES, 'own-app'), join(context.wsgi.dir, 'shop'), { recursive: true });
  const wheels = join(context.wsgi.dir, 'wheels-served');
  await mkdir(wheels, { recursive: true });
  const wheel = await buildWheel(
    wheels,
    'bakery-greeting',
    '1.0.0',
    'bakery_greeting',
    'def greet():\n    return "hello from the wheel"\n',
  );
  context.index = await servePackageIndex(INDEX_PORT, { 'bakery-greeting': [wheel] });

  context.asgi = await createProject({ app: ASGI.app, port: ASGI.port });
  await cp(join(FIXTURES, 'own-asgi'), join(context.asgi.dir, 'hello'), { recursive: true });
});

Own.after(async (context) => {
  for (const project of [context.wsgi, context.asgi]) {
    if (!project) continue;
    await project.destroy();
    await project.remove();
  }
  await context.index?.close();
});

Own(
  'an entrypoint that cannot be imported fails the bake naming the module and the error; no image',
  async (context) => {
    const project = context.wsgi as TempProject;
    await writeFile(
      project.config,
      ownAppYaml(WSGI.app, WSGI.port, ['source: ./shop', 'entrypoint: greeter.wsgi:application']),
    );
    // No requirements: bakery_greeting is missing, so the import fails as a forgotten dependency would.
    const result = await project.deploy();
    assert.is(result.exitCode, 1, result.stderr);
    assert.match(
      result.stderr,
      /cannot import module greeter\.wsgi: ModuleNotFoundError: No module named 'bakery_greeting'/,
    );
    const images = (await leftovers(WSGI.app)).filter((line) => line.startsWith('image '));
    assert.equal(images, [], 'no image was produced');
  },
);

Own(
  'a Flask app with a requirement from a private index is baked, deployed and answers through HAProxy',
  async (context) => {
    const project = context.wsgi as TempProject;
    const index = context.index as PackageIndex;
    await writeFile(
      project.config,
      ownAppYaml(WSGI.app, WSGI.port, [
        'source: ./shop',
        'entrypoint: greeter.wsgi:application',
        'requirements: requirements.txt',
        `index_url: ${index.url}`,
      ]),
    );
    const started = performance.now();
    const result = await project.deploy();
    console.log(`own Flask app: deploy with bake took ${((performance.now() - started) / 1000).toFixed(1)}s`);
    assert.is(result.exitCode, 0, result.stderr);
    assert.ok(
      index.requests.some((path) => path.startsWith('/files/bakery_greeting-1.0.0')),
      `pip fetched the wheel from the test's index (requests: ${index.requests.join(', ')})`,
    );
    const page = await get(project.url);
    assert.is(page.status, 200);
    assert.match(page.body, '<h1>hello from the wheel</h1>');
    assert.is((await get(`${project.url}health`)).status, 200);

    const [instance] = await instanceNames(WSGI.app);
    assert.ok(instance, 'an instance runs');
    // The app's state directory is writable (StateDirectory=), everything else read-only.
    const state = await dockerText(['exec', instance as string, 'sh', '-c', `ls /var/lib/${WSGI.app}`]);
    assert.is(state, '');
    // Installed from the wheelhouse into the venv, offline: no wheelhouse and no index left in the image.
    const site = await dockerText([
      'exec',
      instance as string,
      'sh',
      '-c',
      `ls /opt/${WSGI.app}/venv/lib/python3.11/site-packages | grep -c bakery_greeting; ls /opt/${WSGI.app}`,
    ]);
    assert.match(site, /^2\napp\nlauncher\nvenv$/);
    const unit = await dockerText(['exec', instance as string, 'systemctl', 'cat', `${WSGI.app}.service`]);
    assert.not.match(unit, `127.0.0.1:${INDEX_PORT}`, 'the index never reaches the image');
    // One access-log line per request, in the journal.
    const journal = await dockerText([
      'exec',
      instance as string,
      'journalctl',
      '--no-pager',
      '-u',
      `${WSGI.app}.service`,
    ]);
    assert.match(journal, /bakery\.access: method=GET path=\/health status=200 duration_ms=\S+ client=\S+/);
  },
);

Own('an ASGI app (FastAPI on Uvicorn) is deployed the same way', async (context) => {
  const project = context.asgi as TempProject;
  await writeFile(
    project.config,
    ownAppYaml(ASGI.app, ASGI.port, [
      'source: ./hello',
      'entrypoint: hello_asgi.main:app',
      'interface: asgi',
      'packages: [python3-fastapi]',
    ]),
  );
  const started = performance.now();
  const result = await project.deploy();
  console.log(`own ASGI app: deploy with bake took ${((performance.now() - started) / 1000).toFixed(1)}s`);
  assert.is(result.exitCode, 0, result.stderr);
  // A client cannot choose its address: only the hop HAProxy appended is trusted.
  const response = await request(project.url, { headers: { 'x-forwarded-for': '203.0.113.9' } });
  assert.is(response.statusCode, 200);
  const body = (await response.body.json()) as { hello: string; client: string };
  assert.is(body.hello, 'asgi');
  assert.match(body.client, /^\d+\.\d+\.\d+\.\d+$/);
  assert.is.not(body.client, '203.0.113.9');
  // HAProxy may have sent the request to any instance: read every instance's journal,
  // for a few seconds, as journald may write the line a moment later.
  let line: string | undefined;
  for (let attempt = 0; attempt < 20 && !line; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
    const journals: string[] = [];
    for (const instance of await instanceNames(ASGI.app)) {
      journals.push(await dockerText(['exec', instance, 'journalctl', '--no-pager', '-u', `${ASGI.app}.service`]));
    }
    line = journals
      .join('\n')
      .split('\n')
      .find((entry) => entry.includes('bakery.access: method=GET path=/ status=200 duration_ms='));
  }
  assert.ok(line, 'one access-log line for the request, in the journal');
  assert.match(line as string, `client=${body.client}`);
});

Own(
  'env and a secret reach the app; changing one rolls the fleet under load with no bake and no failed request; the secret is nowhere',
  async (context) => {
    const project = context.wsgi as TempProject;
    const index = context.index as PackageIndex;
    const secret = `e2e-secret-${randomBytes(12).toString('hex')}`;
    const yaml = (style: string) =>
      ownAppYaml(
        WSGI.app,
        WSGI.port,
        [
          'source: ./shop',
          'entrypoint: greeter.wsgi:application',
          'requirements: requirements.txt',
          `index_url: ${index.url}`,
        ],
        [`env: { GREETING_STYLE: ${style} }`, 'secrets: { API_TOKEN: "env:E2E_SHOP_TOKEN" }'],
      );
    const deploy = () =>
      runEntry('deploy.ts', ['local', '--config', project.config, '--json', '--verbose'], {
        E2E_SHOP_TOKEN: secret,
      });
    const outputs: string[] = [];

    await writeFile(project.config, yaml('formal'));
    const before = await instanceNames(WSGI.app);
    const first = await deploy();
    outputs.push(first.stdout, first.stderr);
    assert.is(first.exitCode, 0, first.stderr);
    assert.is(
      stageStatus(first.stdout, 'bake'),
      'skipped',
      'settings are not baked: the image of the last test serves',
    );
    assert.is(stageStatus(first.stdout, 'rollout'), 'ok');
    const started = await instanceNames(WSGI.app);
    assert.equal(
      started.filter((name) => before.includes(name)),
      [],
      'new settings replace every instance',
    );
    const expected = createHash('sha256').update(secret).digest('hex');
    assert.equal(await settingsOf(project.url), { greeting_style: 'formal', api_token_sha256: expected });

    await writeFile(project.config, yaml('casual'));
    const load = startLoad(`${project.url}health`, { concurrency: 4, pauseMs: 20 });
    const changed = await deploy();
    const traffic = await load.stop();
    outputs.push(changed.stdout, changed.stderr);
    assert.is(changed.exitCode, 0, changed.stderr);
    assert.is(stageStatus(changed.stdout, 'bake'), 'skipped', 'a changed setting bakes nothing');
    assert.is(stageStatus(changed.stdout, 'rollout'), 'ok', 'a changed setting rolls the fleet');
    console.log(`settings change under load: ${traffic.total} requests, ${traffic.failed} failed`);
    assert.ok(traffic.total > 50, `the load ran (${traffic.total} requests)`);
    assert.is(traffic.failed, 0, traffic.failures.join('\n'));
    for (let i = 0; i < 4; i++)
      assert.equal(await settingsOf(project.url), { greeting_style: 'casual', api_token_sha256: expected });

    const same = await deploy();
    outputs.push(same.stdout, same.stderr);
    assert.is(stageStatus(same.stdout, 'rollout'), 'skipped', 'the same settings keep the fleet');

    // Nowhere but inside the containers' root-only file: not in .deploy/ (state, logs,
    // history), not in the output, not in `docker inspect` of anything bakery made.
    const found = await grepTree(join(project.dir, '.deploy'), secret);
    assert.equal(found, [], `the secret is in ${found.join(', ')}`);
    assert.not.ok(
      outputs.some((text) => text.includes(secret)),
      'the secret is in a command output',
    );
    const containers = (await dockerText(['ps', '-a', '-q', '--filter', `label=bakery.app=${WSGI.app}`])).split('\n');
    const inspect = await dockerText(['inspect', ...containers.filter(Boolean)]);
    assert.not.match(inspect, secret, 'docker inspect shows the secret');
    const [instance] = await instanceNames(WSGI.app);
    const file = await dockerText(['exec', instance as string, 'stat', '--format', '%a %U', '/etc/bakery/app.env']);
    assert.is(file, '600 root', 'the settings file is root-only');
  },
);

Own('a secret whose variable is not set is bad input naming the key; nothing changes', async (context) => {
  const project = context.wsgi as TempProject;
  const before = await instanceNames(WSGI.app);
  // The config of the last test, run without E2E_SHOP_TOKEN.
  const result = await runEntry('deploy.ts', ['local', '--config', project.config]);
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(
    result.stderr,
    'environments.local.service.secrets.API_TOKEN: "env:E2E_SHOP_TOKEN": the variable E2E_SHOP_TOKEN is not set',
  );
  assert.equal(await instanceNames(WSGI.app), before, 'the fleet is untouched');
});

Own(
  'a git source: the commit is baked and shown; the same commit bakes nothing, a new commit bakes anew',
  async (context) => {
    const project = context.wsgi as TempProject;
    const index = context.index as PackageIndex;
    const bare = join(project.dir, 'shop.git');
    const work = join(project.dir, 'shop-work');
    await git(project.dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
    await cp(join(FIXTURES, 'own-app'), work, { recursive: true });
    await git(work, 'init', '--quiet', '--initial-branch=main');
    const first = await commitAll(work, 'first');
    await git(work, 'push', '--quiet', bare, 'main');
    await writeFile(
      project.config,
      ownAppYaml(WSGI.app, WSGI.port, [
        `source: { git: "file://${bare}", ref: main }`,
        'entrypoint: greeter.wsgi:application',
        'requirements: requirements.txt',
        `index_url: ${index.url}`,
      ]),
    );
    const baked = await project.deploy('--json');
    assert.is(baked.exitCode, 0, baked.stderr);
    assert.is(bakeStatus(baked.stdout), 'ok');
    assert.match((await get(project.url)).body, `commit ${first}`);

    const again = await project.deploy('--json');
    assert.is(again.exitCode, 0, again.stderr);
    assert.is(bakeStatus(again.stdout), 'skipped', 'the same commit bakes nothing');

    await appendFile(join(work, 'greeter', 'wsgi.py'), '\n# a second commit\n');
    const second = await commitAll(work, 'second');
    await git(work, 'push', '--quiet', bare, 'main');
    const moved = await project.deploy('--json');
    assert.is(moved.exitCode, 0, moved.stderr);
    assert.is(bakeStatus(moved.stdout), 'ok', 'a moved branch bakes a new image');
    assert.match((await get(project.url)).body, `commit ${second}`);
  },
);

Own('a git ref that does not resolve is bad input naming the key and the ref', async (context) => {
  const project = context.wsgi as TempProject;
  const bare = join(project.dir, 'shop.git');
  await writeFile(
    project.config,
    ownAppYaml(WSGI.app, WSGI.port, [
      `source: { git: "file://${bare}", ref: no-such-branch }`,
      'entrypoint: greeter.wsgi:application',
    ]),
  );
  const result = await project.deploy();
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(result.stderr, /service\.source\.ref: "no-such-branch" does not resolve to a commit/);
});

Own.run();

const runGit = promisify(execFile);

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await runGit(
    'git',
    ['-c', 'user.name=bakery test', '-c', 'user.email=test@bakery.invalid', ...args],
    {
      cwd,
    },
  );
  return stdout.trim();
}

async function commitAll(work: string, message: string): Promise<string> {
  await git(work, 'add', '--all');
  await git(work, 'commit', '--quiet', '--message', message);
  return git(work, 'rev-parse', 'HEAD');
}

function bakeStatus(stdout: string): string | undefined {
  return stageStatus(stdout, 'bake');
}

function stageStatus(stdout: string, stage: string): string | undefined {
  const summary = JSON.parse(stdout.trim().split('\n').pop() as string) as {
    stages: Array<{ name: string; status: string }>;
  };
  return summary.stages.find((entry) => entry.name === stage)?.status;
}

async function settingsOf(url: string): Promise<unknown> {
  const page = await get(`${url}settings`);
  assert.is(page.status, 200, page.body);
  return JSON.parse(page.body);
}

/** Files under `dir` whose bytes contain `needle`. */
async function grepTree(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path)).includes(needle)) found.push(path);
  }
  return found;
}
