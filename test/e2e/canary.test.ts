// End to end: the canary of a local rollout stops a bad release on live traffic. The
// releases answer /health with 200, so only the canary (not the health checks) can
// catch them: one whose page fails, one whose page is slow. Under load, with the real
// Packer, Ansible, Docker, HAProxy and service; loopback only.

import * as assert from 'uvu/assert';
import { request } from 'undici';
import { createProject, dockerText, type TempProject } from '../../harness/local-project.ts';
import { startLoad, type LoadResult } from '../../harness/load.ts';
import { suite } from '../support/suite.ts';

const APP = 'e2e-canary';
const PORT = 18195;
const BAKE_S = 8;
const PAGE = 'service/bakery_service/pages.py';

interface Context {
  project: TempProject;
  instances: string[];
  fingerprint: string;
}

async function instanceIds(): Promise<string[]> {
  const out = await dockerText([
    'ps',
    '-q',
    '--no-trunc',
    '--filter',
    `label=bakery.app=${APP}`,
    '--filter',
    'label=bakery.role=instance',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

async function page(): Promise<{ status: number; body: string }> {
  const response = await request(`http://127.0.0.1:${PORT}/`);
  return { status: response.statusCode, body: await response.body.text() };
}

/** The most failed requests the canary may cause: its share of the traffic for bake_s. */
function canaryBound(traffic: LoadResult, seconds: number, share: number): number {
  const perSecond = traffic.total / seconds;
  return Math.ceil(perSecond * BAKE_S * share);
}

const canary = suite<Context>('the canary of a local rollout');

canary.before(async (context) => {
  context.project = await createProject({
    app: APP,
    port: PORT,
    desired: 2,
    deadlineS: 60,
    envYaml: [
      `rollout: { canary: { instances: 1, bake_s: ${BAKE_S} }, max_error_rate: 0.01, max_p99_ms: 600, min_requests: 5 }`,
    ],
  });
  const first = await context.project.deploy('--json');
  assert.is(first.exitCode, 0, first.stderr);
  context.instances = await instanceIds();
  context.fingerprint = (
    JSON.parse(first.stdout.trim().split('\n').pop() as string) as { fingerprint: string }
  ).fingerprint;
});

canary.after(async (context) => {
  await context.project.destroy();
  await context.project.remove();
});

canary(
  'a release whose pages fail (but /health passes) is stopped at the canary; the old version keeps serving',
  async (context) => {
    await context.project.edit(PAGE, (text) =>
      text.replace('    facts = current_facts()\n', '    return "broken release", 500\n    facts = current_facts()\n'),
    );
    const started = Date.now();
    const load = startLoad(`http://127.0.0.1:${PORT}/`, { concurrency: 4, pauseMs: 20 });
    const result = await context.project.deploy();
    const traffic = await load.stop();
    const seconds = (Date.now() - started) / 1000;

    assert.is(result.exitCode, 1, result.stderr);
    assert.match(
      result.stderr,
      /the canary failed( before its window ended)?: error rate above rollout.max_error_rate 0.01: canary: \d+ of \d+ requests failed/,
    );
    assert.match(result.stderr, /old fleet: 0 of \d+ requests failed \(0\.0%\)/);
    assert.match(result.stderr, /the old fleet keeps serving/);
    // One canary next to two old instances: a third of the traffic, at most for bake_s.
    const bound = canaryBound(traffic, seconds, 1 / 3);
    console.log(
      `bad release: ${traffic.failed} of ${traffic.total} requests failed over ${seconds.toFixed(0)} s (bound ${bound})`,
    );
    assert.ok(traffic.failed > 0, 'the canary took real traffic');
    assert.ok(
      traffic.failed <= bound,
      `failed ${traffic.failed} > bound ${bound}: ${traffic.failures.slice(0, 3).join('; ')}`,
    );
    assert.equal(await instanceIds(), context.instances, 'the canary is gone and the old instances still run');
    const after = await page();
    assert.is(after.status, 200);
    assert.ok(after.body.includes(context.fingerprint), 'the old version (its fingerprint) serves');
    await context.project.edit(PAGE, (text) => text.replace('    return "broken release", 500\n', ''));
  },
);

canary('a release whose pages are slow (p99 over rollout.max_p99_ms) is stopped at the canary', async (context) => {
  await context.project.edit(PAGE, (text) =>
    text.replace(
      '    facts = current_facts()\n',
      '    import time\n    time.sleep(1.0)\n    facts = current_facts()\n',
    ),
  );
  const load = startLoad(`http://127.0.0.1:${PORT}/`, { concurrency: 4, pauseMs: 20 });
  const result = await context.project.deploy();
  const traffic = await load.stop();
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(
    result.stderr,
    /the canary failed( before its window ended)?: p99 above rollout.max_p99_ms 600 ms/,
    result.stderr
      .split('\n')
      .filter((line) => /canary/.test(line))
      .join('\n'),
  );
  assert.is(traffic.failed, 0, `a slow canary fails no request: ${traffic.failures.join('; ')}`);
  assert.equal(await instanceIds(), context.instances, 'the canary is gone and the old instances still run');
});

canary.run();
