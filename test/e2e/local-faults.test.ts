// Faults on the local target, as an operator's bad night brings them (issue 14), with
// the real Packer, Ansible, Docker engine, HAProxy and service: a full .deploy/, a
// runner killed during a bake, releases that never become healthy followed by a good
// one (and the way back to the first), the load balancer killed under load, and a
// record that cannot be written after a healthy rollout. Bounded in time; loopback and
// the project's own containers only. Failed requests per scenario are printed.

import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { Agent, request } from 'undici';
import * as assert from 'uvu/assert';
import { createProject, dockerText, leftovers, spawnEntry, type TempProject } from '../helpers/local-project.ts';
import { startLoad, type LoadLoop } from '../helpers/load.ts';
import { suite } from '../support/suite.ts';

const APP = 'e2e-faults';
const PORT = 18300;
const DEADLINE_S = 90;
const FAILING_DEADLINE_S = 30;

interface Summary {
  ok: boolean;
  exit_code: number;
  image?: string;
  stages: Array<{ name: string; status: string }>;
}

function summaryOf(stdout: string): Summary {
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Summary;
}

async function containerIds(role: 'instance' | 'lb' | 'builder'): Promise<string[]> {
  const out = await dockerText([
    'ps',
    '--all',
    '--quiet',
    '--no-trunc',
    '--filter',
    `label=bakery.app=${APP}`,
    '--filter',
    `label=bakery.role=${role}`,
  ]);
  return out.split('\n').filter(Boolean).sort();
}

async function imageExists(id: string): Promise<boolean> {
  const { exitCode } = await execa('docker', ['image', 'inspect', id], { reject: false });
  return exitCode === 0;
}

async function filesNamed(dir: string, pattern: RegExp): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((name) => pattern.test(name));
}

/** Every request's outcome with its time, so an outage can be placed against the moment the LB answered again. */
interface Sample {
  at: number;
  ok: boolean;
  what: string;
}

function sampleTraffic(url: string, workers = 2): { stop(): Promise<Sample[]> } {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`traffic only to loopback, not ${url}`);
  const agent = new Agent({ keepAliveTimeout: 1000, connections: workers });
  const samples: Sample[] = [];
  let running = true;
  const until = Date.now() + 5 * 60_000;
  const loop = async (): Promise<void> => {
    while (running && Date.now() < until) {
      try {
        const response = await request(url, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 });
        await response.body.dump();
        samples.push({ at: Date.now(), ok: response.statusCode === 200, what: `HTTP ${response.statusCode}` });
      } catch (error) {
        samples.push({ at: Date.now(), ok: false, what: (error as Error).message });
        await sleep(20);
      }
      await sleep(10);
    }
  };
  const loops = Array.from({ length: workers }, () => loop());
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      await agent.close();
      return samples;
    },
  };
}

const measured: string[] = [];

const faults = suite<{
  project: TempProject;
  good?: string;
  goodAgain?: string;
  failed: string[];
  traffic?: LoadLoop | undefined;
}>('faults on the local target');

faults.before(async (context) => {
  context.failed = [];
  context.project = await createProject({
    app: APP,
    port: PORT,
    desired: 2,
    deadlineS: DEADLINE_S,
    envYaml: ['image: { keep: 2 }'],
  });
});

faults.after(async (context) => {
  await context.traffic?.stop().catch(() => {});
  await execa('umount', [join(context.project.dir, '.deploy')], { reject: false });
  await context.project.destroy();
  await context.project.remove();
  process.stdout.write(`\nfailed requests per fault scenario:\n${measured.map((line) => `  ${line}`).join('\n')}\n`);
});

faults(
  'a full .deploy/ stops the deploy before anything starts, naming the path, leaving no *.tmp',
  async (context) => {
    const state = join(context.project.dir, '.deploy');
    await mkdir(state, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', state]);
    try {
      // Fill it: dd stops at ENOSPC.
      await execa('dd', ['if=/dev/zero', `of=${join(state, 'filler')}`, 'bs=4k'], { reject: false });
      const result = await context.project.deploy();
      assert.is(result.exitCode, 1, result.stderr);
      assert.match(result.stderr, /could not write .*: the disk is full \(ENOSPC\)/);
      assert.match(result.stderr, new RegExp(`path: ${state}/local/`));
      assert.not.match(result.stderr, /\n\s+at .*\(.*\.ts:\d+:\d+\)/, 'no stack trace');
      assert.equal(await leftovers(APP), [], 'nothing started');
      assert.equal(await filesNamed(state, /\.tmp$/), [], 'no temporary file left');
    } finally {
      await execa('umount', [state]);
    }
  },
);

faults('a runner killed during a bake leaks its builder; the next deploy removes it and says so', async (context) => {
  const child = spawnEntry('deploy.ts', ['local', '--config', context.project.config]);
  let leaked: string[] = [];
  const started = Date.now();
  while (leaked.length === 0 && Date.now() - started < 120_000) {
    await sleep(500);
    leaked = await containerIds('builder');
  }
  assert.ok(leaked.length > 0, 'a builder container appeared during the bake');
  // Packer runs in its own process group: SIGKILL of the runner alone leaves it, and its builder, behind.
  const packer = (await execa('pgrep', ['-P', String(child.pid), 'packer'], { reject: false })).stdout.trim();
  child.kill('SIGKILL');
  await child;
  // An orphaned Packer stops at its next write to the runner's closed pipe; give it a moment, then end it.
  for (const pid of packer.split('\n').filter(Boolean)) {
    for (let wait = 0; wait < 10 && (await execa('kill', ['-0', pid], { reject: false })).exitCode === 0; wait++)
      await sleep(500);
    await execa('kill', ['-s', 'KILL', '--', `-${pid}`], { reject: false });
  }
  leaked = await containerIds('builder');
  assert.ok(leaked.length > 0, 'the builder outlived the killed run');

  const result = await context.project.deploy('--json');
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stderr, /took over a stale lock/);
  assert.match(result.stderr, /removed \d+ builder\(s\) left by an earlier run/);
  const names = await dockerText(['ps', '--all', '--format', '{{.Names}}', '--filter', `label=bakery.app=${APP}`]);
  assert.equal(await containerIds('builder'), [], `no builder left (containers: ${names})`);
  context.good = summaryOf(result.stdout).image;
  assert.ok(context.good);
});

faults(
  'two releases that never become healthy do not cost the last good image: a good one after them prunes them, and the way back works',
  async (context) => {
    // A crash loop on a loaded machine may never reach systemd's start limit (20 starts in
    // 60 s): then the rollout waits health.deadline_s, so the failing releases get a short one.
    await context.project.edit('deploy.yaml', (text) =>
      text.replace(`deadline_s: ${DEADLINE_S}`, `deadline_s: ${FAILING_DEADLINE_S}`),
    );
    const traffic = startLoad(context.project.url, { concurrency: 2, pauseMs: 20, maxMs: 8 * 60_000 });
    context.traffic = traffic;
    for (const code of [3, 4]) {
      // Imports and starts, but its health check fails: an image that never becomes healthy.
      await context.project.edit('service/bakery_service/health.py', (text) =>
        text.replace(/return \{"status": "[^"]*"\}(, 500)?/, `return {"status": "broken-${code}"}, 500`),
      );
      const started = Date.now();
      const result = await context.project.deploy('--json');
      const seconds = (Date.now() - started) / 1000;
      assert.is(result.exitCode, 1, result.stderr);
      const how = /the new image (failed for good|did not become healthy within \d+ s)/.exec(result.stderr)?.[1];
      assert.ok(how, result.stderr.slice(-3000));
      assert.match(result.stderr, /previous instance\(s\) keep serving/);
      const failedImage = summaryOf(result.stdout).image as string;
      assert.ok(failedImage && failedImage !== context.good);
      context.failed.push(failedImage);
      measured.push(
        `never-healthy release ${context.failed.length}: exit 1 after ${seconds.toFixed(0)} s (${how}), the previous release kept serving`,
      );
    }
    await context.project.edit('deploy.yaml', (text) =>
      text.replace(`deadline_s: ${FAILING_DEADLINE_S}`, `deadline_s: ${DEADLINE_S}`),
    );
    // A good release again, with a different image.
    await context.project.edit('service/bakery_service/health.py', (text) =>
      text.replace(/return \{"status": "[^"]*"\}, 500/, 'return {"status": "ok again"}'),
    );
    const result = await context.project.deploy('--json');
    assert.is(result.exitCode, 0, result.stderr);
    context.goodAgain = summaryOf(result.stdout).image as string;
    assert.ok(context.goodAgain !== context.good);
    assert.match(result.stderr, /removed 2 old image\(s\)/);
    assert.match(result.stderr, /never healthy/);
    for (const id of context.failed) assert.not.ok(await imageExists(id), `never-healthy ${id} was pruned`);
    assert.ok(await imageExists(context.good as string), 'the last good image before them is kept');

    const back = await context.project.deploy('--json', '--image', context.good as string);
    assert.is(back.exitCode, 0, back.stderr);
    assert.is(summaryOf(back.stdout).image, context.good);
    const load = await traffic.stop();
    context.traffic = undefined;
    measured.push(
      `two never-healthy releases, a good one, rollback to the first: ${load.failed} of ${load.total} requests failed${load.failures.length > 0 ? ` (${load.failures.slice(0, 3).join('; ')})` : ''}`,
    );
    const page = await request(context.project.url);
    assert.is(page.statusCode, 200);
    await page.body.dump();
  },
);

faults(
  'the load balancer killed under load: the next deploy brings it back with its servers, no 503, same instances',
  async (context) => {
    const before = await containerIds('instance');
    assert.is(before.length, 2);
    const traffic = sampleTraffic(context.project.url);
    await sleep(1000);
    await execa('docker', ['kill', `${APP}-local-lb`]);
    const killedAt = Date.now();
    await sleep(1000);
    const result = await context.project.deploy('--image', context.good as string);
    await sleep(2000);
    const samples = await traffic.stop();
    assert.is(result.exitCode, 0, result.stderr);

    const firstAnswer = samples.find((sample) => sample.at > killedAt && sample.ok);
    assert.ok(firstAnswer, 'the load balancer answered again');
    const afterRepair = samples.filter((sample) => sample.at >= (firstAnswer?.at ?? 0) && !sample.ok);
    const outage = samples.filter((sample) => !sample.ok);
    const status503 = samples.filter((sample) => sample.what === 'HTTP 503');
    measured.push(
      `LB killed, then deploy: ${outage.length} of ${samples.length} failed while no LB ran ` +
        `(${((firstAnswer?.at ?? killedAt) - killedAt) / 1000} s), ${afterRepair.length} after it answered again, ${status503.length} × 503`,
    );
    assert.equal(
      afterRepair.map((s) => s.what),
      [],
      'no failure once the LB answers again',
    );
    assert.is(status503.length, 0, 'no 503 while healthy instances exist');
    assert.equal(await containerIds('instance'), before, 'the healthy instances were kept');
  },
);

faults(
  'a record that cannot be written after a healthy rollout exits 3 and says the new image serves',
  async (context) => {
    const record = join(context.project.dir, '.deploy', 'local', 'deployment.json');
    await rm(record, { force: true });
    // A directory where the record belongs: the rollout works, the record cannot be replaced.
    await mkdir(record);
    await writeFile(join(record, 'keep'), '');
    try {
      const result = await context.project.deploy('--image', context.good as string);
      assert.is(result.exitCode, 3, result.stderr);
      assert.match(result.stderr, /deployed and healthy, but the deployment record is stale/);
      assert.match(result.stderr, /serves at http:\/\/127\.0\.0\.1:18300\/; nothing needs rolling back/);
      assert.match(result.stderr, new RegExp(`path: ${record}`));
      assert.not.match(result.stderr, /\n\s+at .*\(.*\.ts:\d+:\d+\)/, 'no stack trace');
      assert.equal(await filesNamed(join(context.project.dir, '.deploy'), /\.tmp$/), []);
      const page = await request(context.project.url);
      assert.is(page.statusCode, 200);
      await page.body.dump();
    } finally {
      await rm(record, { recursive: true, force: true });
    }
    const again = await context.project.deploy('--image', context.good as string);
    assert.is(again.exitCode, 0, again.stderr);
  },
);

faults('destroy leaves nothing behind', async (context) => {
  const result = await context.project.destroy();
  assert.is(result.exitCode, 0, result.stderr);
  assert.equal(await leftovers(APP), []);
});

faults.run();
