// Start-up: how long bakery takes before it does anything, against bare Node measured in
// the same run (the machine may be busy: the ratio to `node -e ''` is what compares
// between runs). `bakery --help` and a no-op redeploy on the local target (nothing
// changed: no bake, no restart), each the median of five. bakery is started as an
// installed one is, `node bin/bakery.js`: the compiled runner when it is built and fresh.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { chooseRunner } from '../bin/runner.js';
import { BAKERY_BIN, REPO, createProject, leftovers, runEntry } from '../harness/local-project.ts';
import { round } from './child-time.ts';
import type { StepRunner } from './steps.ts';

const RUNS = 5;
/** Own app and port: the end-to-end tests use 18xxx, the package test 19210. */
const PROJECT = { app: 'bench-startup', port: 19281 };
export const STARTUP_GOALS_S = { help: 0.2, noOpRedeploy: 0.6 };

export interface StartupResult {
  date: string;
  loadAverageAtStart: number;
  /** Whether bin/bakery.js ran the compiled runner (dist/) or the sources through tsx. */
  runner: 'compiled' | 'sources';
  nodeS: number;
  helpS: number;
  noOpRedeployS?: number;
  samples: Record<'node' | 'help' | 'noOpRedeploy', number[]>;
  errors: string[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

export async function measureStartup(steps: StepRunner, loadAverage: number): Promise<StartupResult> {
  const samples: StartupResult['samples'] = { node: [], help: [], noOpRedeploy: [] };
  const errors: string[] = [];
  // Interleaved, so that a busy moment of the machine falls on both alike.
  for (let index = 0; index < RUNS; index++) {
    samples.node.push(await timed(() => execa('node', ['-e', ''])));
    samples.help.push(await timed(() => execa('node', [BAKERY_BIN, '--help'])));
  }
  steps.say(`bakery --help: median ${round(median(samples.help))} s (node -e '': ${round(median(samples.node))} s)`);

  const project = await createProject({ ...PROJECT, desired: 1 });
  try {
    const first = await project.deploy();
    if (first.exitCode !== 0) throw new Error(`the first deploy failed: ${first.stderr.slice(-2000)}`);
    for (let index = 0; index < RUNS; index++) {
      samples.noOpRedeploy.push(
        await timed(async () => {
          const again = await project.deploy();
          if (again.exitCode !== 0) throw new Error(`a no-op redeploy failed: ${again.stderr.slice(-2000)}`);
        }),
      );
    }
    steps.say(`no-op redeploy: median ${round(median(samples.noOpRedeploy))} s`);
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  } finally {
    const destroyed = await runEntry('destroy.ts', ['local', '--config', project.config]);
    if (destroyed.exitCode !== 0) errors.push(`destroy failed: ${destroyed.stderr.slice(-2000)}`);
    const left = await leftovers(PROJECT.app);
    if (left.length > 0) errors.push(`left behind: ${left.join(', ')}`);
    await project.remove();
  }
  return {
    date: new Date().toISOString().slice(0, 10),
    loadAverageAtStart: loadAverage,
    runner: chooseRunner(REPO),
    nodeS: round(median(samples.node)),
    helpS: round(median(samples.help)),
    ...(samples.noOpRedeploy.length === RUNS ? { noOpRedeployS: round(median(samples.noOpRedeploy)) } : {}),
    samples: {
      node: samples.node.map((s) => round(s)),
      help: samples.help.map((s) => round(s)),
      noOpRedeploy: samples.noOpRedeploy.map((s) => round(s)),
    },
    errors,
  };
}

export function renderStartup(result: StartupResult): string {
  const row = (name: string, value: number | undefined, goal: number): string =>
    `| ${name} | ${value ?? '—'} | ${value === undefined ? '—' : round(value - result.nodeS)} | ≤ ${goal} s | ${value !== undefined && value <= goal ? 'yes' : '**no**'} |`;
  return [
    `Start-up, median of ${RUNS} (${result.date}, load average ${result.loadAverageAtStart} at the start, ${result.runner} runner; \`node -e ''\`: ${result.nodeS} s):`,
    '',
    '| metric | seconds | over bare node | goal | met? |',
    '|---|---:|---:|---|---|',
    row('`bakery --help`', result.helpS, STARTUP_GOALS_S.help),
    row('no-op redeploy, local', result.noOpRedeployS, STARTUP_GOALS_S.noOpRedeploy),
    ...(result.errors.length > 0 ? ['', ...result.errors.map((error) => `- error: ${error}`)] : []),
    '',
  ].join('\n');
}

export async function writeStartupResults(result: StartupResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, `${result.date}-startup`);
  await writeFile(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(`${base}.md`, `# bakery start-up\n\n${renderStartup(result)}`);
  return `${base}.md`;
}
