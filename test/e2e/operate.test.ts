// Operating a deployment on the local target, with the real Packer, Ansible, Docker,
// HAProxy and service: status (as deployed, an instance killed, the load balancer
// stopped), logs of a known request, the history of deploys, a failed deploy, a rollback
// under load and a destroy. One project, two bakes, shared by every test in order.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import { request } from 'undici';
import type { HistoryEntry } from '../../pipeline/state/history.ts';
import {
  createProject,
  dockerText,
  runEntry,
  spawnEntry,
  type CommandResult,
  type TempProject,
} from '../helpers/local-project.ts';
import { startLoad } from '../helpers/load.ts';
import { suite } from '../support/suite.ts';

const APP = 'e2e-ops';
const PORT = 18320;
const URL = `http://127.0.0.1:${PORT}/`;

interface StatusJson {
  ok: boolean;
  record: { image: string } | null;
  image: { id: string; fingerprint?: string; gitRevision?: string; bakedAt?: string } | null;
  url: { result: string; ok: boolean } | null;
  load_balancer: { state: string; up: boolean };
  instances: Array<{ name: string; image?: string; health: string; healthy: boolean }>;
  drift: string[];
}

interface Context {
  project: TempProject;
  /** Images of the first and the second release. */
  first: string;
  second: string;
}

const lastJsonLine = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').pop() as string) as T;

async function status(context: Context, ...args: string[]): Promise<CommandResult> {
  return runEntry('status.ts', ['local', '--config', context.project.config, ...args]);
}

async function history(context: Context): Promise<HistoryEntry[]> {
  const result = await status(context, '--history', '50', '--json');
  assert.is(result.exitCode, 0, result.stderr);
  return (lastJsonLine<HistoryEntry[]>(result.stdout) ?? []).reverse();
}

/** Polls status until it exits with `code` (drift appears or heals on the health checks' clock). */
async function statusUntil(context: Context, code: number, timeoutMs = 60_000): Promise<CommandResult> {
  const deadline = Date.now() + timeoutMs;
  let result = await status(context);
  while (result.exitCode !== code && Date.now() < deadline) {
    await sleep(500);
    result = await status(context);
  }
  return result;
}

async function instanceNames(): Promise<string[]> {
  const out = await dockerText([
    'ps',
    '--format',
    '{{.Names}}',
    '--filter',
    `label=bakery.app=${APP}`,
    '--filter',
    'label=bakery.role=instance',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

const operate = suite<Context>('operating a local deployment');

operate.before(async (context) => {
  context.project = await createProject({ app: APP, port: PORT, desired: 2, deadlineS: 60 });
});

operate.after(async (context) => {
  await context.project.destroy();
  await context.project.remove();
});

operate(
  'status after a deploy: exit 0, the image with its labels, every instance UP, the URL answers',
  async (context) => {
    const deployed = await context.project.deploy('--json');
    assert.is(deployed.exitCode, 0, deployed.stderr);
    context.first = lastJsonLine<{ image: string }>(deployed.stdout).image;

    const text = await status(context);
    assert.is(text.exitCode, 0, `${text.stdout}\n${text.stderr}`);
    assert.match(text.stdout, 'as deployed: no drift');
    assert.match(text.stdout, `${URL}health → 200`);

    const result = await status(context, '--json');
    assert.is(result.exitCode, 0, result.stderr);
    const report = lastJsonLine<StatusJson>(result.stdout);
    assert.ok(report.ok);
    assert.is(report.record?.image, context.first);
    assert.match(report.image?.fingerprint ?? '', /^[0-9a-f]{64}$/);
    assert.match(report.image?.bakedAt ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.ok(report.image?.gitRevision, 'the git revision label is shown');
    assert.is(report.instances.length, 2);
    assert.equal(
      report.instances.map((instance) => [instance.image, instance.health]),
      [
        [context.first, 'UP'],
        [context.first, 'UP'],
      ],
    );
    assert.equal(report.drift, []);
  },
);

operate('--logs shows a known request, prefixed with the instance that served it', async (context) => {
  const marker = `/ops-log-${randomBytes(4).toString('hex')}`;
  const response = await request(`http://127.0.0.1:${PORT}${marker}`);
  await response.body.dump();
  const names = await instanceNames();
  let lines: string[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const logs = await status(context, '--logs', '--since', '5m');
    assert.is(logs.exitCode, 0, logs.stderr);
    lines = logs.stdout.split('\n').filter((line) => line.includes(`path=${marker}`));
    if (lines.length > 0) break;
    await sleep(500);
  }
  assert.is(lines.length, 1, `one access-log line for ${marker}`);
  const [prefix] = (lines[0] as string).split(' | ');
  assert.ok(names.includes(prefix as string), `the line starts with an instance name: ${lines[0]}`);

  const one = await status(context, '--logs', '--instance', names[0] as string, '--since', '1h');
  assert.is(one.exitCode, 0, one.stderr);
  const prefixes = new Set(
    one.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' | ')[0]),
  );
  assert.equal([...prefixes], [names[0]], 'only the named instance');

  const bad = await status(context, '--logs', '--since', 'yesterday');
  assert.is(bad.exitCode, 2);
  assert.match(bad.stderr, /--since "yesterday" is not allowed/);
});

operate('--logs --follow prints a request made after it started, and Ctrl-C ends it with exit 0', async (context) => {
  const marker = `/ops-follow-${randomBytes(4).toString('hex')}`;
  const child = spawnEntry('status.ts', ['local', '--config', context.project.config, '--logs', '--follow']);
  let seen = '';
  const found = new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(`path=${marker}`)) resolve();
    });
  });
  // The journal's last lines come first: once they are there, following has begun.
  const deadline = Date.now() + 20_000;
  while (!seen.includes(' | ') && Date.now() < deadline) await sleep(200);
  const response = await request(`http://127.0.0.1:${PORT}${marker}`);
  await response.body.dump();
  const appeared = await Promise.race([found.then(() => true), sleep(20_000).then(() => false)]);
  child.kill('SIGINT');
  const result = await child;
  assert.ok(appeared, `the request ${marker} appeared while following:\n${seen.slice(-2000)}`);
  assert.is(result.exitCode, 0, String(result.stderr));
});

operate('an instance killed with docker kill is drift: exit 1 naming it; it heals', async (context) => {
  const [victim] = await instanceNames();
  await dockerText(['kill', victim as string]);
  const result = await statusUntil(context, 1);
  assert.is(result.exitCode, 1, result.stdout);
  const drift = result.stdout.split('\n').filter((line) => line.startsWith('drift: '));
  assert.ok(
    drift.some((line) => line.includes(`instance ${victim}`)),
    `a drift line names ${victim}:\n${result.stdout}`,
  );
  assert.ok(drift.some((line) => /1 of 2 desired instance\(s\) serve the deployed image/.test(line)));
  await dockerText(['start', victim as string]).catch(() => '');
  const healed = await statusUntil(context, 0);
  assert.is(healed.exitCode, 0, healed.stdout);
});

operate('a stopped load balancer is drift; started again, status is back to 0', async (context) => {
  const lb = `${APP}-local-lb`;
  await dockerText(['stop', lb]);
  const result = await status(context);
  assert.is(result.exitCode, 1, result.stdout);
  assert.match(result.stdout, new RegExp(`^drift: load balancer ${lb} is exited$`, 'm'));
  assert.match(result.stdout, /^drift: .*health answers ECONNREFUSED, not 200$/m);
  await dockerText(['start', lb]);
  const healed = await statusUntil(context, 0);
  assert.is(healed.exitCode, 0, healed.stdout);
});

operate('a failed deploy and a second release enter the history', async (context) => {
  const failed = await context.project.deploy('--image', 'bakery/no-such-image:0');
  assert.is(failed.exitCode, 2, failed.stderr);
  await context.project.edit('service/bakery_service/health.py', (text) => `${text}\n# second release\n`);
  const second = await context.project.deploy('--json');
  assert.is(second.exitCode, 0, second.stderr);
  context.second = lastJsonLine<{ image: string }>(second.stdout).image;
  assert.is.not(context.second, context.first);

  const entries = await history(context);
  assert.equal(
    entries.map((entry) => [entry.command, entry.outcome, entry.exit_code, entry.image]),
    [
      ['deploy', 'succeeded', 0, context.first],
      ['deploy', 'failed', 2, undefined],
      ['deploy', 'succeeded', 0, context.second],
    ],
  );
  assert.match(entries[1]?.error ?? '', /no such Docker image/);
  assert.ok(entries[2]?.git_revision, 'the git revision of the image is recorded');
  assert.ok(entries.every((entry) => entry.who.length > 0 && entry.seconds > 0));
});

operate('--rollback under load goes back to the first release without one failed request', async (context) => {
  const load = startLoad(URL, { concurrency: 4, pauseMs: 20 });
  const started = Date.now();
  const result = await context.project.deploy('--rollback', '--json');
  const seconds = (Date.now() - started) / 1000;
  const traffic = await load.stop();
  assert.is(result.exitCode, 0, result.stderr);
  const summary = lastJsonLine<{ image: string; stages: Array<{ name: string; skipped_reason?: string }> }>(
    result.stdout,
  );
  assert.is(summary.image, context.first);
  assert.match(summary.stages.find((stage) => stage.name === 'bake')?.skipped_reason ?? '', /^rolling back to /);
  assert.ok(traffic.total >= 200, `requests during the rollback: ${traffic.total}`);
  assert.is(traffic.failed, 0, `failed requests: ${traffic.failures.join('; ')}`);
  console.log(`rollback: ${seconds.toFixed(1)} s, ${traffic.total} requests, ${traffic.failed} failed`);

  const report = lastJsonLine<StatusJson>((await status(context, '--json')).stdout);
  assert.ok(report.ok, report.drift.join('\n'));
  assert.ok(report.instances.every((instance) => instance.image === context.first));
  const last = (await history(context)).pop();
  assert.is(last?.command, 'rollback');
  assert.is(last?.outcome, 'succeeded');
  assert.is(last?.image, context.first);
});

operate('--rollback refuses what it cannot do, with exit 2', async (context) => {
  const tooFar = await context.project.deploy('--rollback=5');
  assert.is(tooFar.exitCode, 2, tooFar.stderr);
  assert.match(tooFar.stderr, /--rollback=5: local has only 1 earlier release\(s\) to go back to/);

  const combined = await context.project.deploy('--rollback', '--rebake');
  assert.is(combined.exitCode, 2);
  assert.match(combined.stderr, /--rollback cannot be combined with --rebake/);

  // The second release's image removed by hand: rolling back to it is refused, nothing changes.
  await dockerText(['rmi', '--force', context.second]);
  const pruned = await context.project.deploy('--rollback');
  assert.is(pruned.exitCode, 2, pruned.stderr);
  assert.match(pruned.stderr, new RegExp(`the image ${context.second} of the release of .* no longer exists`));
  assert.is((await status(context)).exitCode, 0, 'the first release still serves, as deployed');
});

operate('destroy enters the history; --history shows the newest first as a table', async (context) => {
  const destroyed = await context.project.destroy();
  assert.is(destroyed.exitCode, 0, destroyed.stderr);
  const entries = await history(context);
  assert.equal(
    entries.map((entry) => entry.command),
    // The refused rollbacks count too (they took the lock); the usage error before it does not.
    ['deploy', 'deploy', 'deploy', 'rollback', 'rollback', 'rollback', 'destroy'],
  );
  assert.is(entries.at(-1)?.outcome, 'succeeded');

  const table = await status(context, '--history', '3');
  assert.is(table.exitCode, 0, table.stderr);
  const rows = table.stdout.trim().split('\n');
  assert.match(rows[0] as string, /^STARTED\s+COMMAND\s+OUTCOME\s+EXIT/);
  assert.is(rows.length, 4, table.stdout);
  assert.match(rows[1] as string, /\sdestroy\s+succeeded\s+0\s/);

  const after = await status(context);
  assert.is(after.exitCode, 0, `${after.stdout}\n${after.stderr}`);
  assert.match(after.stdout, 'deployed: nothing (no deployment record)');
});

operate.run();
