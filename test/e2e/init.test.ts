// `init` then `deploy` as a new user would, in the app's own directory with nothing but
// the app in it: a Flask app with a Procfile, a FastAPI app found by its app object, and
// the Django notes site with collectstatic, migrations and PostgreSQL. The deploy.yaml
// init writes is deployed as it is (only the port and base image come from init's flags,
// so the test keeps to its own port range and the imported Debian image), answers
// through HAProxy, and is destroyed. Requirements resolve through pip's configured index
// (PIP_INDEX_URL for the bake), as a user's pip would.

import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { request } from 'undici';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../pipeline/config/load.ts';
import { REPO, leftovers } from '../helpers/local-project.ts';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
const BASE_IMAGE = process.env.BAKERY_BASE_IMAGE ?? 'bakery-base:bookworm';
const TSX_LOADER = join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs');

/** pip's configured index for the bake (a mirror on this machine), as pip's own variables; none: PyPI. */
function pipIndexEnv(): Record<string, string> {
  let config: string;
  try {
    config = execFileSync('/usr/bin/python3', ['-m', 'pip', 'config', 'list'], { encoding: 'utf8' });
  } catch {
    return {};
  }
  const urls = [...config.matchAll(/^global\.(?:extra-)?index-url='([^']+)'/gm)].flatMap((match) =>
    (match[1] as string).split(/\s+/),
  );
  const [index, ...extra] = urls;
  if (!index) return {};
  return { PIP_INDEX_URL: index, ...(extra.length > 0 ? { PIP_EXTRA_INDEX_URL: extra.join(' ') } : {}) };
}

/** An entry point run from the app's directory, as a user runs it there. */
async function bakery(entry: 'init.ts' | 'deploy.ts' | 'destroy.ts', dir: string, args: string[]) {
  const result = await execa('node', ['--import', TSX_LOADER, join(REPO, entry), ...args], {
    cwd: dir,
    reject: false,
    stdin: 'ignore',
    env: { CI: 'true', BAKERY_NO_CONTAINER: '1', ...pipIndexEnv() },
    timeout: 10 * 60_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.text() };
}

interface App {
  fixture: string;
  app: string;
  port: number;
  /** Lines init must print (its guesses). */
  guesses: string[];
  /** What "/" answers once deployed. */
  page: RegExp;
  health: string;
}

const APPS: App[] = [
  {
    fixture: 'init-flask',
    app: 'e2e-init-flask',
    port: 19400,
    guesses: [
      'guessed service.entrypoint: app:app (Procfile web: runs gunicorn app:app)',
      'guessed service.health_path: /healthz (app.py has the route /healthz)',
    ],
    page: /hello from init-flask/,
    health: 'healthz',
  },
  {
    fixture: 'init-fastapi',
    app: 'e2e-init-fastapi',
    port: 19402,
    guesses: [
      'guessed service.entrypoint: api.main:app (FastAPI app: api/main.py makes app = FastAPI(…))',
      'guessed service.interface: asgi (FastAPI is ASGI; bakery serves it with Uvicorn)',
    ],
    page: /"hello":"init-fastapi"/,
    health: 'health',
  },
  {
    fixture: 'django-notes',
    app: 'e2e-init-django',
    port: 19404,
    guesses: [
      'guessed service.entrypoint: notes.wsgi:application',
      'guessed service.build: ["python manage.py collectstatic --no-input"]',
      'guessed database: {"engine":"postgres"}',
      'guessed service.release: ["python manage.py migrate --no-input"]',
    ],
    page: /^notes v1: 0\n$/,
    health: 'health',
  },
];

const Init = suite<{ dirs: string[] }>('init writes a deploy.yaml that deploys as it is', { dirs: [] });

Init.after(async ({ dirs }) => {
  // A failed test may have left a deployment: destroy is safe to repeat.
  for (const dir of dirs) {
    await bakery('destroy.ts', dir, ['--yes']);
    await rm(join(dir, '..'), { recursive: true, force: true });
  }
});

for (const app of APPS) {
  Init(`${app.fixture}: init, deploy, the URL answers, destroy leaves nothing`, async ({ dirs }) => {
    const dir = join(await mkdtemp(join(tmpdir(), `bakery-${app.app}-`)), app.fixture);
    dirs.push(dir);
    await cp(join(FIXTURES, app.fixture), dir, { recursive: true });

    const init = await bakery('init.ts', dir, [
      '--app',
      app.app,
      '--port',
      String(app.port),
      '--base-image',
      BASE_IMAGE,
    ]);
    assert.is(init.exitCode, 0, init.stderr);
    for (const line of app.guesses) assert.match(init.stdout, line);
    const config = join(dir, 'deploy.yaml');
    assert.is(parseConfig(await readFile(config, 'utf8'), config).environments.local?.app, app.app);

    const again = await bakery('init.ts', dir, []);
    assert.is(again.exitCode, 2, 'a second init never overwrites the file');
    assert.match(again.stderr, `${config} already exists`);

    const started = performance.now();
    const deploy = await bakery('deploy.ts', dir, []);
    console.log(`${app.fixture}: init + deploy took ${((performance.now() - started) / 1000).toFixed(1)}s`);
    assert.is(deploy.exitCode, 0, deploy.stderr);
    const url = `http://127.0.0.1:${app.port}/`;
    assert.match(deploy.stdout, url);
    const page = await get(url);
    assert.is(page.status, 200, page.body);
    assert.match(page.body, app.page);
    assert.is((await get(`${url}${app.health}`)).status, 200);

    const destroy = await bakery('destroy.ts', dir, ['--yes']);
    assert.is(destroy.exitCode, 0, destroy.stderr);
    assert.equal(await leftovers(app.app), [], 'destroy leaves no container, network or image of the app');
  });
}

Init.run();
