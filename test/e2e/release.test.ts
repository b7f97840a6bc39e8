// Build and release commands and one-off commands, end to end on the local target with
// real Packer, Ansible, Docker and HAProxy: a small Flask app of this test's own (no
// database) that, like Django with ALLOWED_HOSTS = ["127.0.0.1"], answers 400 to any
// other Host, so every deploy here also proves that the health checks carry the Host.
// Loopback and the project's containers only.

import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { request } from 'undici';
import * as assert from 'uvu/assert';
import { REPO, createProject, dockerText, runEntry, type TempProject } from '../helpers/local-project.ts';
import { startLoad } from '../helpers/load.ts';
import { suite } from '../support/suite.ts';

const APP = 'e2e-rel';
const PORT = 18760;
const LB = `${APP}-local-lb`;
// Quotes, a dollar and a backslash: the one-off container must read the settings file exactly.
const TOKEN = 'to"k$en\\x 1';
const TOKEN_SHA = createHash('sha256').update(TOKEN).digest('hex').slice(0, 12);
const SECRET_ENV = { E2E_REL_TOKEN: TOKEN };

const APP_PY = (version: string) => `import os

from flask import Flask, request

VERSION = "${version}"
HERE = os.path.dirname(os.path.abspath(__file__))
app = Flask(__name__)


@app.before_request
def allowed_host():
    # Like Django's ALLOWED_HOSTS = ["127.0.0.1"]: any other Host is answered 400.
    if request.host.split(":")[0] != "127.0.0.1":
        return "bad host " + request.host, 400
    return None


@app.get("/health")
def health():
    return "ok"


@app.get("/version")
def version():
    return VERSION


@app.get("/built")
def built():
    with open(os.path.join(HERE, "static", "built.txt"), encoding="utf-8") as handle:
        return handle.read()
`;

// The release command: says what it sees and which release serves while it runs.
const RELEASE_PY = `import hashlib
import os
import pwd
import sys
import time
import urllib.request

token = os.environ.get("API_TOKEN", "")
print("release-env GREETING=%s token-sha=%s user=%s cwd=%s" % (
    os.environ.get("GREETING"),
    hashlib.sha256(token.encode()).hexdigest()[:12],
    pwd.getpwuid(os.getuid()).pw_name,
    os.getcwd(),
))
try:
    answer = urllib.request.urlopen(
        urllib.request.Request("http://${LB}/version", headers={"Host": "127.0.0.1"}), timeout=5
    )
    serving = answer.read().decode()
except Exception as error:  # noqa: BLE001 - any failure means nothing serves
    serving = "nothing (%s)" % type(error).__name__
print("release-serving " + serving)
if "--fail" in sys.argv:
    print("OperationalError: migration 0002 failed")
    sys.exit(3)
if "--hang" in sys.argv:
    time.sleep(600)
`;

const BUILD = 'mkdir -p static && echo "built by $(id -un)" > static/built.txt';

function yaml(release: string[], greeting: string, extra: string[] = [], build = [BUILD]): string {
  return [
    `app: ${APP}`,
    'service:',
    '  source: ./rel',
    '  entrypoint: rel:app',
    '  build:',
    ...build.map((command) => `    - ${JSON.stringify(command)}`),
    '  release:',
    ...release.map((command) => `    - ${JSON.stringify(command)}`),
    ...extra.map((line) => `  ${line}`),
    'environments:',
    '  local:',
    '    target: local',
    '    instances: { min: 1, desired: 2, max: 4 }',
    '    health: { deadline_s: 90 }',
    '    rollout: { canary: null }',
    '    service:',
    `      env: { GREETING: ${greeting} }`,
    '      secrets: { API_TOKEN: "env:E2E_REL_TOKEN" }',
    '    local:',
    `      port: ${PORT}`,
    `      base_image: ${process.env.BAKERY_BASE_IMAGE ?? 'bakery-base:bookworm'}`,
    '',
  ].join('\n');
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.text() };
}

interface Summary {
  ok: boolean;
  image?: string;
  log_dir?: string;
  stages: Array<{ name: string; status: string; skipped_reason?: string }>;
}

async function deploy(project: TempProject, ...args: string[]) {
  const result = await runEntry('deploy.ts', ['local', '--config', project.config, '--json', ...args], SECRET_ENV);
  let summary: Summary | undefined;
  try {
    summary = JSON.parse(result.stdout) as Summary;
  } catch {
    summary = undefined;
  }
  return { ...result, summary };
}

async function releaseLog(summary: Summary | undefined): Promise<string> {
  assert.ok(summary?.log_dir, 'the summary names the run’s logs');
  return readFile(join(summary?.log_dir as string, 'release.log'), 'utf8');
}

async function oneOffContainers(): Promise<string[]> {
  const out = await dockerText([
    'ps',
    '-a',
    '--filter',
    `label=bakery.app=${APP}`,
    '--filter',
    'label=bakery.role=one-off',
    '--format',
    '{{.Names}}',
  ]);
  return out.split('\n').filter(Boolean);
}

async function history(project: TempProject): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(project.dir, '.deploy', 'local', 'history.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function runTs(project: TempProject, command: string[]) {
  return execa(
    'node',
    ['--import', 'tsx', join(REPO, 'run.ts'), 'local', '--config', project.config, '--', ...command],
    {
      cwd: REPO,
      reject: false,
      stdin: 'ignore',
      env: { CI: 'true', BAKERY_NO_CONTAINER: '1', ...SECRET_ENV },
      timeout: 5 * 60_000,
    },
  );
}

interface Context {
  project?: TempProject;
  firstImage?: string;
}

const Release = suite<Context>('build and release commands, one-off commands, health checks with a Host', {});

Release.before(async (context) => {
  const project = await createProject({ app: APP, port: PORT });
  context.project = project;
  await mkdir(join(project.dir, 'rel'), { recursive: true });
  await writeFile(join(project.dir, 'rel', 'rel.py'), APP_PY('v1'));
  await writeFile(join(project.dir, 'rel', 'release.py'), RELEASE_PY);
});

Release.after(async (context) => {
  if (!context.project) return;
  await context.project.destroy();
  await context.project.remove();
});

Release(
  'a first deploy: the build output is in the image, the release runs once with the settings, Host-checking app healthy',
  async (context) => {
    const project = context.project as TempProject;
    await writeFile(project.config, yaml(['python3 release.py'], 'hello'));
    const result = await deploy(project);
    assert.is(result.exitCode, 0, result.stderr);
    const names = result.summary?.stages.map((stage) => stage.name) ?? [];
    assert.ok(names.indexOf('release') > names.indexOf('provision'), names.join(' '));
    assert.ok(names.indexOf('release') < names.indexOf('rollout'), names.join(' '));
    assert.is(result.summary?.stages.find((stage) => stage.name === 'release')?.status, 'ok');

    // The app answers 400 unless Host is 127.0.0.1: its instances only became UP because
    // HAProxy's checks send that Host.
    assert.equal(await get(`${project.url}version`), { status: 200, body: 'v1' });
    assert.equal(await get(`${project.url}built`), { status: 200, body: `built by ${APP}\n` });

    const log = await releaseLog(result.summary);
    assert.match(log, new RegExp(`release-env GREETING=hello token-sha=${TOKEN_SHA} user=${APP} cwd=/opt/${APP}/app`));
    assert.match(log, /release-serving nothing/, 'no instance served before the release ran');
    assert.not.ok(log.includes(TOKEN), 'the secret never reaches the log');
    const last = (await history(project)).at(-1) as { release?: { image: string }; image?: string };
    assert.is(last.release?.image, result.summary?.image, 'the history records that the release ran, and on what');
    assert.equal(await oneOffContainers(), [], 'the release container was removed');
    context.firstImage = result.summary?.image;
  },
);

Release('a deploy that changes nothing skips the release, saying why', async (context) => {
  const project = context.project as TempProject;
  const result = await deploy(project);
  assert.is(result.exitCode, 0, result.stderr);
  const release = result.summary?.stages.find((stage) => stage.name === 'release');
  assert.is(release?.status, 'skipped');
  assert.match(release?.skipped_reason ?? '', /nothing changed/);
});

Release(
  './run.ts runs a command with the settings on the release in service and passes its exit code on',
  async (context) => {
    const project = context.project as TempProject;
    const result = await runTs(project, [
      'sh',
      '-c',
      'echo "run GREETING=$GREETING user=$(id -un) cwd=$(pwd)"; cat static/built.txt; exit 7',
    ]);
    assert.is(result.exitCode, 7, String(result.stderr));
    assert.match(String(result.stdout), new RegExp(`run GREETING=hello user=${APP} cwd=/opt/${APP}/app`));
    assert.match(String(result.stdout), new RegExp(`built by ${APP}`));
    const last = (await history(project)).at(-1) as { command: string; exit_code: number; one_off?: { image: string } };
    assert.equal(
      { command: last.command, exit_code: last.exit_code, image: last.one_off?.image },
      { command: 'run', exit_code: 7, image: context.firstImage },
    );
    assert.equal(await oneOffContainers(), []);

    const bad = await runTs(project, []);
    assert.is(bad.exitCode, 2, 'no command after -- is bad input');
  },
);

Release('./run.ts is interactive with a TTY when it has a terminal', async (context) => {
  const project = context.project as TempProject;
  // script(1) gives the command a pseudo-terminal, as a person's shell would.
  const inner = [
    'node',
    '--import',
    'tsx',
    join(REPO, 'run.ts'),
    'local',
    '--config',
    project.config,
    '--',
    'python3',
    '-c',
    `"import sys; print('tty', sys.stdin.isatty(), sys.stdout.isatty())"`,
  ].join(' ');
  const result = await execa('script', ['-qec', inner, '/dev/null'], {
    cwd: REPO,
    reject: false,
    env: { CI: 'true', BAKERY_NO_CONTAINER: '1', ...SECRET_ENV },
    timeout: 5 * 60_000,
  });
  assert.is(result.exitCode, 0, String(result.stdout));
  assert.match(String(result.stdout), /tty True True/);
});

Release('a release that fails stops the deploy, 0 failed requests, the old release keeps serving', async (context) => {
  const project = context.project as TempProject;
  await writeFile(join(project.dir, 'rel', 'rel.py'), APP_PY('v2'));
  await writeFile(project.config, yaml(['python3 release.py --fail'], 'hello'));
  const load = startLoad(`${project.url}version`, { concurrency: 4, pauseMs: 20 });
  const result = await deploy(project);
  const traffic = await load.stop();
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /service\.release\[0\] \(python3 release\.py --fail\) failed with exit code 3/);
  assert.match(result.stderr, /OperationalError: migration 0002 failed/);
  assert.ok(traffic.total > 50, `load ran (${traffic.total} requests)`);
  assert.is(traffic.failed, 0, traffic.failures.join('\n'));
  assert.equal(await get(`${project.url}version`), { status: 200, body: 'v1' });
  assert.match(await releaseLog(result.summary), /release-serving v1/, 'the old release served while it ran');
  assert.equal(await oneOffContainers(), []);
});

Release('a release that hangs is stopped after release_timeout_s; the old release keeps serving', async (context) => {
  const project = context.project as TempProject;
  await writeFile(project.config, yaml(['python3 release.py --hang'], 'hello', ['release_timeout_s: 5']));
  const started = Date.now();
  const result = await deploy(project);
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /did not finish within release_timeout_s \(5 s\) and was stopped/);
  assert.equal(await get(`${project.url}version`), { status: 200, body: 'v1' });
  assert.equal(await oneOffContainers(), [], 'the hung container was killed and removed');
  assert.ok(Date.now() - started < 5 * 60_000);
});

Release('a good release runs before the new image serves, under load with 0 failed requests', async (context) => {
  const project = context.project as TempProject;
  await writeFile(project.config, yaml(['python3 release.py'], 'hello-again'));
  const load = startLoad(`${project.url}version`, { concurrency: 4, pauseMs: 20 });
  const result = await deploy(project);
  const traffic = await load.stop();
  assert.is(result.exitCode, 0, result.stderr);
  assert.is(traffic.failed, 0, traffic.failures.join('\n'));
  assert.equal(await get(`${project.url}version`), { status: 200, body: 'v2' });
  const log = await releaseLog(result.summary);
  assert.match(log, /release-env GREETING=hello-again/);
  assert.match(log, /release-serving v1/, 'the new image served nothing before the release succeeded');
});

Release('--rollback warns that the schema does not go back', async (context) => {
  const project = context.project as TempProject;
  const result = await deploy(project, '--rollback');
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stderr, /the schema does not go back/);
  assert.equal(await get(`${project.url}version`), { status: 200, body: 'v1' });
  const logs = await readdir(join(project.dir, '.deploy', 'local', 'logs'));
  assert.ok(logs.length >= 5);
});

Release('a failing build command fails the bake naming the command and its last lines', async (context) => {
  const project = context.project as TempProject;
  await writeFile(
    project.config,
    yaml(['python3 release.py'], 'hello-again', [], ['echo collecting; echo "no STATIC_ROOT" >&2; exit 4']),
  );
  const result = await deploy(project);
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /service\.build\[0\] \(echo collecting;.*exit 4\) failed with exit\s+code 4/);
  assert.match(result.stderr, /no STATIC_ROOT/);
  assert.equal(await get(`${project.url}version`), { status: 200, body: 'v1' }, 'nothing was rolled out');
});

Release.run();
