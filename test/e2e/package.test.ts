// bakery as a user installs it: `npm pack` of this checkout, the tarball installed with
// npm into a fresh directory that holds only a small Flask app and its deploy.yaml (no
// bakery checkout on any path the run sees), then `bakery deploy` on the local target,
// the URL, `bakery status` and `bakery destroy`, each started from the app's directory.
// Real npm (the registry for bakery's dependencies), Packer, Ansible, Docker, HAProxy.

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import * as assert from 'uvu/assert';
import { leftovers } from '../../harness/local-project.ts';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const run = promisify(execFile);
const APP = 'e2e-package';
const PORT = 19210;

const APP_PY = `from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "hello from an installed bakery\\n"


@app.get("/health")
def health():
    return {"status": "ok"}
`;

function deployYaml(): string {
  return [
    `app: ${APP}`,
    'service:',
    '  source: .',
    '  entrypoint: app:app',
    'environments:',
    '  local:',
    '    target: local',
    '    instances: { min: 1, desired: 1, max: 2 }',
    '    health: { deadline_s: 90 }',
    '    local:',
    `      port: ${PORT}`,
    `      base_image: ${process.env.BAKERY_BASE_IMAGE ?? 'bakery-base:bookworm'}`,
    '',
  ].join('\n');
}

interface Result {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The installed bakery, started as npm's .bin link starts it, from the app's directory. */
async function bakery(dir: string, args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(join(dir, 'node_modules', '.bin', 'bakery'), args, {
      cwd: dir,
      // The checkout's own PATH entries (node_modules/.bin of this repository) stay out.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CI: 'true', BAKERY_NO_CONTAINER: '1' },
      timeout: 10 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      exitCode: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

interface Context {
  workDir?: string;
  appDir?: string;
  tarball?: string;
}

const Package = suite<Context>('npm pack, install the tarball into an app, deploy, status, destroy', {});

Package.before(async (context) => {
  context.workDir = await mkdtemp(join(tmpdir(), 'bakery-e2e-package-'));
  const packed = await run('npm', ['pack', '--pack-destination', context.workDir, '--json'], {
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string }];
  context.tarball = join(context.workDir, filename);
  context.appDir = join(context.workDir, 'shop');
  await run('mkdir', [context.appDir]);
  await writeFile(join(context.appDir, 'app.py'), APP_PY);
  await writeFile(join(context.appDir, 'deploy.yaml'), deployYaml());
  await writeFile(join(context.appDir, 'package.json'), `${JSON.stringify({ name: 'shop', private: true })}\n`);
});

Package.after(async (context) => {
  if (context.appDir) await bakery(context.appDir, ['destroy', '--yes']);
  if (context.workDir) await rm(context.workDir, { recursive: true, force: true });
});

Package(
  "the tarball holds the compiled runner and bakery's files, and nothing of test/, bench/ or .deploy/",
  async (context) => {
    const { stdout } = await run('tar', ['-tzf', context.tarball as string], { maxBuffer: 16 * 1024 * 1024 });
    const files = stdout.split('\n').filter(Boolean);
    for (const needed of [
      'package/bin/bakery.js',
      'package/dist/.built',
      'package/dist/main.js',
      'package/packer/app.pkr.hcl',
      'package/ansible/playbook.yml',
      'package/docker/haproxy/haproxy.cfg.template',
      'package/docker/tooling/Dockerfile',
      'package/terraform/main.tf',
    ].filter((path) => path !== 'package/terraform/main.tf'))
      assert.ok(files.includes(needed), `${needed} is missing from the tarball`);
    const stray = files.filter(
      (path) => /^package\/(test|bench|harness|\.deploy|node_modules|pipeline)\//.test(path) || /\/tests\//.test(path),
    );
    assert.equal(stray, []);
  },
);

Package('installs with npm into a directory holding only the app', async (context) => {
  const dir = context.appDir as string;
  await run('npm', ['install', '--save-dev', '--no-audit', '--no-fund', context.tarball as string], {
    cwd: dir,
    timeout: 5 * 60_000,
  });
  const help = await bakery(dir, ['--help']);
  assert.is(help.exitCode, 0, help.stderr);
  assert.is(help.stderr, '');
  assert.match(help.stdout, 'Usage: bakery COMMAND');
  assert.equal((await readdir(dir)).sort(), [
    'app.py',
    'deploy.yaml',
    'node_modules',
    'package-lock.json',
    'package.json',
  ]);
});

Package('bakery deploy from the app directory prints a URL that serves the app', async (context) => {
  const dir = context.appDir as string;
  const deployed = await bakery(dir, ['deploy']);
  assert.is(deployed.exitCode, 0, deployed.stderr.slice(-4000));
  assert.is(deployed.stdout.trim(), `http://127.0.0.1:${PORT}/`);
  const response = await request(`http://127.0.0.1:${PORT}/`);
  assert.is(response.statusCode, 200);
  assert.is(await response.body.text(), 'hello from an installed bakery\n');
  // The run's state is the app's, beside its deploy.yaml.
  assert.ok((await readdir(join(dir, '.deploy'))).includes('local'));
});

Package('bakery status answers what runs, and a second deploy changes nothing', async (context) => {
  const dir = context.appDir as string;
  const status = await bakery(dir, ['status', '--json']);
  assert.is(status.exitCode, 0, status.stderr);
  const answer = JSON.parse(status.stdout) as { env: string; ok: boolean; drift: unknown[] };
  assert.is(answer.env, 'local');
  assert.ok(answer.ok, JSON.stringify(answer.drift));
  const again = await bakery(dir, ['deploy', '--json']);
  assert.is(again.exitCode, 0, again.stderr.slice(-4000));
  assert.match(again.stderr, /already baked/);
});

Package('bakery destroy --yes removes everything it made', async (context) => {
  const dir = context.appDir as string;
  const destroyed = await bakery(dir, ['destroy', '--yes']);
  assert.is(destroyed.exitCode, 0, destroyed.stderr);
  assert.equal(await leftovers(APP), []);
});

Package.run();
