// Preview environments end to end on the local target with real Packer, Ansible, Docker,
// HAProxy and PostgreSQL: a Django app (test/fixtures/django-notes) deployed as its base
// environment and as two previews side by side, each with a database of its own, migrated
// by the release command and seeded once. A row written in one preview is absent from the
// other and from the base; the TTL sweep removes only the preview made to look old (its
// record's first-deploy time, not a sleep); destroying a preview takes no backup, says so,
// and leaves the others serving. Loopback and this test's own containers only.

import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';
import { request } from 'undici';
import * as assert from 'uvu/assert';
import { REPO, createProject, leftovers, runEntry, type TempProject } from '../helpers/local-project.ts';
import { pipIndex } from '../helpers/pip-index.ts';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const APP = 'e2e-prev';
const PORT = 19700;
const PREVIEW_PORTS = { first: 19710, last: 19719 };
const INDEX_PORT = 19790;
const BASE_IMAGE = process.env.BAKERY_BASE_IMAGE ?? 'bakery-base:bookworm';

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
    '    instances: { min: 1, desired: 1, max: 2 }',
    '    health: { deadline_s: 120 }',
    '    rollout: { canary: null }',
    '    database: { engine: postgres }',
    '    local:',
    `      port: ${PORT}`,
    `      base_image: ${BASE_IMAGE}`,
    'previews:',
    '  from: local',
    '  instances: { min: 1, desired: 1, max: 1 }',
    '  ttl_hours: 72',
    '  seed: python manage.py addnote seeded',
    `  local_ports: { first: ${PREVIEW_PORTS.first}, last: ${PREVIEW_PORTS.last} }`,
    '',
  ].join('\n');
}

async function page(url: string): Promise<string> {
  const response = await request(url);
  const body = await response.body.text();
  assert.is(response.statusCode, 200, `${url}: ${body}`);
  return body;
}

function oneOff(project: TempProject, preview: string, command: string[]) {
  return execa(
    'node',
    ['--import', 'tsx', join(REPO, 'run.ts'), '--preview', preview, '--config', project.config, '--', ...command],
    { cwd: REPO, reject: false, stdin: 'ignore', env: { CI: 'true', BAKERY_NO_CONTAINER: '1' }, timeout: 5 * 60_000 },
  );
}

const preview = (project: TempProject, command: 'deploy.ts' | 'destroy.ts', args: string[]) =>
  runEntry(command, [...args, '--config', project.config]);

async function volumes(): Promise<string[]> {
  const { stdout } = await execa('docker', ['volume', 'ls', '--format', '{{.Name}}', '--filter', `name=${APP}-`]);
  return String(stdout).split('\n').filter(Boolean).sort();
}

interface Context {
  project?: TempProject;
  index?: Server;
  urls: Record<string, string>;
}

const Previews = suite<Context>('preview environments beside their base environment', { urls: {} });

Previews.before(async (context) => {
  const index = await pipIndex(INDEX_PORT);
  context.index = index.server;
  context.project = await createProject({ app: APP, port: PORT });
  await cp(join(REPO_ROOT, 'test', 'fixtures', 'django-notes'), join(context.project.dir, 'site'), {
    recursive: true,
  });
  await writeFile(context.project.config, deployYaml(index.url));
});

Previews.after(async (context) => {
  const project = context.project;
  if (project) {
    for (const name of ['pr-1', 'pr-2']) await preview(project, 'destroy.ts', ['--preview', name, '--yes']);
    await project.destroy();
    await project.remove();
  }
  context.index?.close();
});

Previews('the base and two previews deploy side by side, each migrated and the previews seeded', async (context) => {
  const project = context.project as TempProject;
  const base = await project.deploy();
  assert.is(base.exitCode, 0, base.stderr);
  context.urls.local = base.stdout.trim();
  for (const [asked, name] of [
    ['pr-1', 'pr-1'],
    ['2', 'pr-2'],
  ] as const) {
    const result = await preview(project, 'deploy.ts', ['--preview', asked]);
    assert.is(result.exitCode, 0, result.stderr);
    context.urls[name] = result.stdout.trim();
  }
  assert.equal(context.urls, {
    local: `http://127.0.0.1:${PORT}/`,
    'pr-1': `http://127.0.0.1:${PREVIEW_PORTS.first}/`,
    'pr-2': `http://127.0.0.1:${PREVIEW_PORTS.first + 1}/`,
  });
  assert.is(await page(context.urls.local as string), 'notes v1: 0\n', 'the base is not seeded');
  for (const name of ['pr-1', 'pr-2'])
    assert.is(await page(context.urls[name] as string), 'notes v1: 1\nseeded\n', `${name} is migrated and seeded`);
  assert.equal(await volumes(), [`${APP}-local-db-data`, `${APP}-pr-1-db-data`, `${APP}-pr-2-db-data`]);
});

Previews('a row written in one preview is absent from the other and from the base', async (context) => {
  const project = context.project as TempProject;
  const run = await oneOff(project, 'pr-1', ['python', 'manage.py', 'addnote', 'only in pr-1']);
  assert.is(run.exitCode, 0, `${String(run.stdout)}\n${String(run.stderr)}`);
  assert.is(await page(context.urls['pr-1'] as string), 'notes v1: 2\nseeded\nonly in pr-1\n');
  assert.is(await page(context.urls['pr-2'] as string), 'notes v1: 1\nseeded\n');
  assert.is(await page(context.urls.local as string), 'notes v1: 0\n');

  // Deployed again with new settings (no bake; the release commands run again): the seed does not.
  await project.edit('deploy.yaml', (text) =>
    text.replace('  ttl_hours: 72', '  env: { ROUND: "2" }\n  ttl_hours: 72'),
  );
  const again = await preview(project, 'deploy.ts', ['--preview', 'pr-1']);
  assert.is(again.exitCode, 0, again.stderr);
  // The history says how many release commands each deploy ran: migrate and the seed, then migrate only.
  const history = (await readFile(join(project.dir, '.deploy', 'pr-1', 'history.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { command: string; release?: { commands: number } });
  assert.equal(
    history.filter((entry) => entry.command === 'deploy').map((entry) => entry.release?.commands),
    [2, 1],
  );
  assert.is(await page(context.urls['pr-1'] as string), 'notes v1: 2\nseeded\nonly in pr-1\n');
});

Previews('status --previews lists each preview with its age, last deploy and URL', async (context) => {
  const project = context.project as TempProject;
  const listed = await runEntry('status.ts', ['--previews', '--json', '--config', project.config]);
  assert.is(listed.exitCode, 0, listed.stderr);
  const rows = JSON.parse(listed.stdout) as Array<{
    name: string;
    age_seconds: number;
    url: string;
    last_deploy: { outcome: string };
  }>;
  assert.equal(
    rows.map((row) => [row.name, row.url, row.last_deploy.outcome]),
    [
      ['pr-1', context.urls['pr-1'], 'succeeded'],
      ['pr-2', context.urls['pr-2'], 'succeeded'],
    ],
  );
  assert.ok(rows.every((row) => row.age_seconds < 3600));
  const text = await runEntry('status.ts', ['--previews', '--config', project.config]);
  assert.match(text.stdout, /^PREVIEW\s+AGE\s+LAST DEPLOY\s+URL$/m);
});

Previews('the TTL sweep removes only the preview older than its TTL; the others keep serving', async (context) => {
  const project = context.project as TempProject;
  // pr-1 first deployed four days ago, as its record says; pr-2 today.
  const record = join(project.dir, '.deploy', 'pr-1', 'preview.json');
  const made = JSON.parse(await readFile(record, 'utf8')) as { created_at: string };
  made.created_at = new Date(Date.now() - 4 * 86_400_000).toISOString();
  await writeFile(record, JSON.stringify(made));

  const sweep = await preview(project, 'destroy.ts', ['--previews', '--yes']);
  assert.is(sweep.exitCode, 0, sweep.stderr);
  assert.match(sweep.stderr, /stale, older than 72h \(previews.ttl_hours\): pr-1 \(4d 0h\)/);
  assert.match(sweep.stderr, /kept, not older than 72h \(previews.ttl_hours\): pr-2/);
  assert.match(sweep.stderr, /no final backup/);
  assert.equal(await volumes(), [`${APP}-local-db-data`, `${APP}-pr-2-db-data`]);
  assert.is((await leftovers(APP)).filter((line) => line.includes(`${APP}-pr-1`)).length, 0);
  assert.is(await page(context.urls['pr-2'] as string), 'notes v1: 1\nseeded\n');
  assert.is(await page(context.urls.local as string), 'notes v1: 0\n');
});

Previews('destroy --preview removes it with its database, no backup, and says so; the base serves', async (context) => {
  const project = context.project as TempProject;
  const destroyed = await preview(project, 'destroy.ts', ['--preview', 'pr-2', '--yes']);
  assert.is(destroyed.exitCode, 0, destroyed.stderr);
  assert.match(
    destroyed.stderr,
    /the database is removed with no final backup \(a preview; pass --backup to keep one\)/,
  );
  await stat(join(project.dir, '.deploy', 'pr-2', 'backups')).then(
    () => assert.unreachable('a preview leaves no backup'),
    () => undefined,
  );
  assert.equal(await volumes(), [`${APP}-local-db-data`]);
  assert.equal(
    (await leftovers(APP)).filter((line) => line.startsWith('container') && !line.includes(`${APP}-local-`)),
    [],
  );
  const listed = await runEntry('status.ts', ['--previews', '--json', '--config', project.config]);
  assert.equal(JSON.parse(listed.stdout), []);
  assert.is(await page(context.urls.local as string), 'notes v1: 0\n');
});

Previews.run();
