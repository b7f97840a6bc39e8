// A Django app with a database, end to end on the local target with real Packer, Ansible,
// Docker, HAProxy and PostgreSQL, the way the README's "Deploy a Django app with a
// database" section tells a new user: build (collectstatic), release (migrate) and
// database keys only. One project, sequential steps: the first deploy creates the
// database and migrates; a one-off command writes a row; a new release under load keeps
// it with no failed request; a release whose migration fails stops before it serves;
// destroy leaves a backup that this test restores into a scratch PostgreSQL.

import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';
import { request } from 'undici';
import * as assert from 'uvu/assert';
import { databaseImageTag } from '../../pipeline/targets/local/database.ts';
import { REPO, createProject, dockerText, leftovers, runEntry, type TempProject } from '../helpers/local-project.ts';
import { startLoad } from '../helpers/load.ts';
import { pipIndex } from '../helpers/pip-index.ts';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const APP = 'e2e-db-django';
const PORT = 18780;
const INDEX_PORT = 18781;
const SCRATCH = 'e2e-db-scratch';
const BASE_IMAGE = process.env.BAKERY_BASE_IMAGE ?? 'bakery-base:bookworm';

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.text() };
}

function deployYaml(indexUrl: string | undefined): string {
  return [
    `app: ${APP}`,
    'service:',
    '  source: ./site',
    '  entrypoint: notes.wsgi:application',
    '  requirements: requirements.txt',
    ...(indexUrl ? [`  index_url: ${indexUrl}`] : []),
    '  build:',
    '    - python manage.py collectstatic --no-input',
    '  release:',
    '    - python manage.py migrate --no-input',
    'environments:',
    '  local:',
    '    target: local',
    '    instances: { min: 1, desired: 2, max: 4 }',
    '    health: { deadline_s: 120 }',
    '    rollout: { canary: null }',
    '    database: { engine: postgres }',
    '    local:',
    `      port: ${PORT}`,
    `      base_image: ${BASE_IMAGE}`,
    '',
  ].join('\n');
}

function runOneOff(project: TempProject, command: string[]) {
  return execa(
    'node',
    ['--import', 'tsx', join(REPO, 'run.ts'), 'local', '--config', project.config, '--', ...command],
    {
      cwd: REPO,
      reject: false,
      stdin: 'ignore',
      env: { CI: 'true', BAKERY_NO_CONTAINER: '1' },
      timeout: 5 * 60_000,
    },
  );
}

async function credentials(project: TempProject): Promise<{ password: string; mode: number }> {
  const file = join(project.dir, '.deploy', 'local', 'database.json');
  const { password } = JSON.parse(await readFile(file, 'utf8')) as { password: string };
  return { password, mode: (await stat(file)).mode & 0o777 };
}

interface Context {
  project?: TempProject;
  index?: Server;
}

const Django = suite<Context>('a Django app with PostgreSQL, migrations and a one-off command', {});

Django.before(async (context) => {
  const index = await pipIndex(INDEX_PORT);
  context.index = index.server;
  context.project = await createProject({ app: APP, port: PORT });
  await cp(join(REPO_ROOT, 'test', 'fixtures', 'django-notes'), join(context.project.dir, 'site'), {
    recursive: true,
  });
  await writeFile(context.project.config, deployYaml(index.url));
});

Django.after(async (context) => {
  await execa('docker', ['rm', '--force', SCRATCH], { reject: false });
  if (context.project) {
    await context.project.destroy();
    await context.project.remove();
  }
  context.index?.close();
});

Django('the first deploy creates the database, migrates it, and the pages read it', async (context) => {
  const project = context.project as TempProject;
  const result = await project.deploy();
  assert.is(result.exitCode, 0, result.stderr);
  const page = await get(project.url);
  assert.is(page.status, 200, page.body);
  assert.is(page.body, 'notes v1: 0\n');
  // collectstatic ran at build: STATIC_ROOT is filled only by it.
  assert.is((await get(`${project.url}static/board/style.css`)).status, 200);

  const { password, mode } = await credentials(project);
  assert.is(mode, 0o600, 'the credentials file is root-only');
  for (const container of [`${APP}-local-db`, ...(await instances())]) {
    const inspect = await dockerText(['inspect', container]);
    assert.not.ok(inspect.includes(password), `docker inspect ${container} shows no password`);
  }
  assert.not.ok(result.stderr.includes(password) || result.stdout.includes(password), 'the output shows no password');
  const logs = join(project.dir, '.deploy', 'local', 'logs');
  for (const run of await readdir(logs)) {
    for (const file of await readdir(join(logs, run)).catch(() => [])) {
      const text = await readFile(join(logs, run, file), 'utf8').catch(() => '');
      assert.not.ok(text.includes(password), `${run}/${file} shows no password`);
    }
  }
  const status = await runEntry('status.ts', ['local', '--config', project.config]);
  assert.match(status.stdout, new RegExp(`database: ${APP}-local-db running, accepting connections, [\\d.]+ MB`));
});

Django('a one-off command writes a row that a new release, deployed under load, keeps', async (context) => {
  const project = context.project as TempProject;
  const run = await runOneOff(project, ['python', 'manage.py', 'addnote', 'kept across releases']);
  assert.is(run.exitCode, 0, `${String(run.stdout)}\n${String(run.stderr)}`);
  assert.match(String(run.stdout), /added note 1/);
  assert.is((await get(project.url)).body, 'notes v1: 1\nkept across releases\n');

  await project.edit('site/board/views.py', (text) => text.replace('VERSION = "v1"', 'VERSION = "v2"'));
  const load = startLoad(project.url, { concurrency: 4, pauseMs: 20 });
  const result = await project.deploy();
  const traffic = await load.stop();
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stderr, /release/i);
  assert.ok(traffic.total > 50, `the load loop ran (${traffic.total} requests)`);
  assert.is(traffic.failed, 0, traffic.failures.join('\n'));
  assert.is((await get(project.url)).body, 'notes v2: 1\nkept across releases\n');
});

Django(
  'a release whose migration fails is stopped before it serves; the old release keeps serving',
  async (context) => {
    const project = context.project as TempProject;
    await writeFile(
      join(project.dir, 'site', 'board', 'migrations', '0003_broken.py'),
      [
        'from django.db import migrations',
        '',
        '',
        'class Migration(migrations.Migration):',
        '    dependencies = [("board", "0002_note_author")]',
        '    operations = [migrations.RunSQL("SELECT * FROM e2e_no_such_table")]',
        '',
      ].join('\n'),
    );
    await project.edit('site/board/views.py', (text) => text.replace('VERSION = "v2"', 'VERSION = "v3"'));
    const load = startLoad(project.url, { concurrency: 4, pauseMs: 20 });
    const result = await project.deploy();
    const traffic = await load.stop();
    assert.is(result.exitCode, 1, result.stderr);
    assert.match(result.stderr, /e2e_no_such_table/);
    assert.is(traffic.failed, 0, traffic.failures.join('\n'));
    assert.is((await get(project.url)).body, 'notes v2: 1\nkept across releases\n');
  },
);

Django('destroy leaves a pg_dump that restores into a scratch PostgreSQL', async (context) => {
  const project = context.project as TempProject;
  const result = await project.destroy('--yes');
  assert.is(result.exitCode, 0, result.stderr);
  const named = /final backup of the database: (\S+\.dump)/.exec(result.stderr);
  assert.ok(named, `destroy names the backup:\n${result.stderr}`);
  const backup = named[1] as string;
  assert.match(backup, /\.deploy\/local\/backups\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.dump$/);
  assert.is((await stat(backup)).mode & 0o777, 0o600);
  assert.equal(
    (await leftovers(APP)).filter((line) => !line.startsWith('image ')),
    [],
    'no container or network is left',
  );
  const volumes = await dockerText(['volume', 'ls', '--filter', `label=bakery.app=${APP}`, '--format', '{{.Name}}']);
  assert.is(volumes, '', 'the data volume is gone');

  // The README's restore, into a scratch server from the same image.
  const image = await databaseImageTag(REPO, BASE_IMAGE);
  await execa('docker', ['create', '--name', SCRATCH, image]);
  const init = join(project.dir, 'scratch-init.env');
  await writeFile(init, 'DB_USER=scratch\nDB_NAME=scratch\nDB_PASSWORD=0123456789abcdef0123456789abcdef\n');
  await execa('docker', ['cp', init, `${SCRATCH}:/etc/bakery-db/init.env`]);
  await execa('docker', ['start', SCRATCH]);
  for (let attempt = 0; attempt < 60; attempt++) {
    const ready = await execa('docker', ['exec', SCRATCH, 'pg_isready', '-q', '-h', '127.0.0.1'], { reject: false });
    if (ready.exitCode === 0) break;
    await new Promise((done) => setTimeout(done, 500));
  }
  await execa('docker', ['cp', backup, `${SCRATCH}:/tmp/restore.dump`]);
  await execa('docker', ['exec', SCRATCH, 'chmod', '0644', '/tmp/restore.dump']);
  await execa('docker', [
    'exec',
    '--user',
    'postgres',
    SCRATCH,
    'pg_restore',
    '--clean',
    '--if-exists',
    '--no-owner',
    '--role=scratch',
    '--dbname=scratch',
    '/tmp/restore.dump',
  ]);
  const rows = await dockerText([
    'exec',
    '--user',
    'postgres',
    SCRATCH,
    'psql',
    '--tuples-only',
    '--no-align',
    '--dbname=scratch',
    '--command',
    'SELECT text FROM board_note ORDER BY id',
  ]);
  assert.is(rows, 'kept across releases');
});

Django.run();

async function instances(): Promise<string[]> {
  const out = await dockerText([
    'ps',
    '--filter',
    `label=bakery.app=${APP}`,
    '--filter',
    'label=bakery.role=instance',
    '--format',
    '{{.Names}}',
  ]);
  return out.split('\n').filter(Boolean);
}
