// `npm run bench`: bakery against the naive pipeline (--rebake=all --strategy recreate) on
// the local target, in one run so both see the same machine: cold deploy, no-op
// redeploy, app-change redeploy under load, self-heal, destroy, runner overhead, and
// the service's own throughput. Writes bench/results/<date>.json and .md. Then the
// bad-release scenario (bad-release-scenario.ts): a release whose pages fail deployed
// by both, bakery's canary against the naive switch; <date>-bad-release.json and .md.
// Then start-up (startup.ts): `bakery --help` and a no-op redeploy against bare Node;
// <date>-startup.json and .md. `--scenario pipelines|bad-release|startup` runs one of
// them. Loopback only; everything the benchmark creates is destroyed, even when a step fails.

import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { createProject, leftovers, runEntry, type TempProject } from '../harness/local-project.ts';
import { updateBadReleaseSection, writeBadReleaseResults } from './bad-release-report.ts';
import { runBadReleaseScenario } from './bad-release-scenario.ts';
import { round } from './child-time.ts';
import { evaluateGoals } from './goals.ts';
import { renderGoalTable, updateReadme, writeResults } from './report.ts';
import {
  PIPELINES,
  type MachineFacts,
  type PipelineBenchResult,
  type PipelineName,
  type PipelineResults,
  type RunMeasurement,
} from './results.ts';
import { DEFAULT_SELF_HEAL, measureSelfHeal } from './self-heal.ts';
import { benchService, formatServiceBench } from './service.ts';
import { createStepRunner, type StepRunner } from './steps.ts';
import { measureStartup, renderStartup, writeStartupResults } from './startup.ts';
import { describeMeasurement, measureRun } from './timed-run.ts';
import { DEFAULT_LOAD, underLoad } from './traffic.ts';

const RESULTS_DIR = join(import.meta.dirname, 'results');
// The benchmark's own README and the project's both show the latest table.
const READMES = [join(import.meta.dirname, 'README.md'), join(import.meta.dirname, '..', 'README.md')];

/** App names and ports of their own: the end-to-end tests use e2e-* on 18181/18191. */
const SETUP: Record<PipelineName, { app: string; port: number; deployFlags: string[] }> = {
  bakery: { app: 'bench-bakery', port: 18281, deployFlags: [] },
  naive: { app: 'bench-naive', port: 18282, deployFlags: ['--rebake=all', '--strategy', 'recreate'] },
};

/** Rough step lengths for the time budget, refined once a bake has been measured. */
const ESTIMATE_S = { bake: 180, deployWithoutBake: 20, selfHeal: 40, destroy: 30 };

const SCENARIOS = ['all', 'pipelines', 'bad-release', 'startup'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Options {
  budgetS: number;
  serviceDurationS: number;
  pipelines: PipelineName[];
  scenario: Scenario;
}

/** What is known before the last step: the rest is filled in at the end. */
type BenchInProgress = Omit<PipelineBenchResult, 'finishedAt' | 'durationS' | 'goals' | 'leftovers'>;

interface Contender {
  name: PipelineName;
  project: TempProject;
  results: PipelineResults;
  /** The last deploy succeeded: there is a fleet to redeploy, load or kill. */
  deployed: boolean;
  destroyed: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      'budget-min': { type: 'string', default: '25' },
      'service-duration': { type: 'string', default: '3' },
      only: { type: 'string' },
      scenario: { type: 'string', default: 'all' },
    },
  });
  const scenario = values.scenario as Scenario;
  const budgetMin = Number(values['budget-min']);
  const serviceDurationS = Number(values['service-duration']);
  const only = values.only as PipelineName | undefined;
  if (
    !(budgetMin > 0) ||
    !(serviceDurationS > 0) ||
    (only !== undefined && !PIPELINES.includes(only)) ||
    !SCENARIOS.includes(scenario)
  ) {
    throw new UsageError(
      `usage: npm run bench -- [--scenario ${SCENARIOS.join('|')}] [--budget-min 25] [--service-duration 3] [--only ${PIPELINES.join('|')}]`,
    );
  }
  return { budgetS: budgetMin * 60, serviceDurationS, pipelines: only ? [only] : [...PIPELINES], scenario };
}

class UsageError extends Error {}

async function machineFacts(): Promise<MachineFacts> {
  const cpus = os.cpus();
  const docker = await execa('docker', ['version', '--format', '{{.Server.Version}}'], { reject: false });
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemoryBytes: os.totalmem(),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    ...(docker.exitCode === 0 ? { docker: String(docker.stdout).trim() } : {}),
    loadAverageAtStart: round(os.loadavg()[0] ?? 0),
  };
}

/** How long the runner takes to start and exit doing nothing: the floor of its overhead. */
async function measureRunnerStartup(): Promise<number> {
  const started = performance.now();
  await runEntry('deploy.ts', ['--version']);
  return round((performance.now() - started) / 1000);
}

function emptyResults(name: PipelineName): PipelineResults {
  const { app, port, deployFlags } = SETUP[name];
  return { deployFlags, app, port, runs: {}, skipped: [] };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const errors: string[] = [];
  const steps = createStepRunner({ budgetS: options.budgetS, errors });
  try {
    const runs = (scenario: Scenario): boolean =>
      (options.scenario === 'all' || options.scenario === scenario) && !steps.interrupted;
    if (runs('pipelines')) await pipelineScenario(options, steps, errors);
    if (runs('bad-release')) await badReleaseScenario(steps, errors);
    if (runs('startup')) await startupScenario(steps);
  } finally {
    steps.close();
  }
  if (steps.interrupted) process.exitCode = 130;
}

/** Start-up of `bakery --help` and of a no-op redeploy: its own results file. */
async function startupScenario(steps: StepRunner): Promise<void> {
  const machine = await machineFacts();
  steps.say(`start-up benchmark on ${machine.cpus} CPUs, load average ${machine.loadAverageAtStart}`);
  const result = await measureStartup(steps, machine.loadAverageAtStart);
  const written = await writeStartupResults(result, RESULTS_DIR);
  process.stdout.write(`${renderStartup(result)}\n`);
  steps.say(`wrote ${written}`);
  if (result.errors.length > 0) process.exitCode = 1;
}

/** The bad release, bakery's canary against the naive switch: its own results file and README table. */
async function badReleaseScenario(steps: StepRunner, errors: string[]): Promise<void> {
  const machine = await machineFacts();
  steps.say(`bad-release benchmark on ${machine.cpus} CPUs, load average ${machine.loadAverageAtStart}`);
  const before = errors.length;
  const scenario = await runBadReleaseScenario(steps, machine);
  // A step that threw was recorded by the step runner: it belongs in this scenario's results too.
  const result = { ...scenario, errors: [...errors.slice(before), ...scenario.errors] };
  const written = await writeBadReleaseResults(result, RESULTS_DIR);
  process.stdout.write(`${renderGoalTable(result.goals)}\n\n`);
  steps.say(`wrote ${written.json} and ${written.markdown}`);
  const complete = result.runs.bakery !== undefined && result.runs.naive !== undefined;
  if (complete && !steps.interrupted && (await updateBadReleaseSection(READMES[0] as string, result, written.markdown)))
    steps.say(`updated the bad-release results in ${READMES[0]}`);
  if (result.errors.length > 0 || result.leftovers.length > 0 || !complete) process.exitCode = 1;
}

async function pipelineScenario(options: Options, steps: StepRunner, errors: string[]): Promise<void> {
  const startedAt = new Date();
  const machine = await machineFacts();
  steps.say(
    `pipeline benchmark on ${machine.cpus} CPUs, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, load average ${machine.loadAverageAtStart}; budget ${options.budgetS / 60} min`,
  );

  const contenders: Contender[] = [];
  const results = Object.fromEntries(PIPELINES.map((name) => [name, emptyResults(name)])) as Record<
    PipelineName,
    PipelineResults
  >;
  const bench: BenchInProgress = {
    kind: 'pipeline',
    date: startedAt.toISOString().slice(0, 10),
    startedAt: startedAt.toISOString(),
    machine,
    pipelines: results,
    errors,
  };
  let leftBehind: string[];
  try {
    for (const name of options.pipelines) {
      const { app, port } = SETUP[name];
      contenders.push({
        name,
        project: await createProject({ app, port, desired: 2 }),
        results: results[name],
        deployed: false,
        destroyed: false,
      });
    }
    await measureAll(steps, contenders, bench, options);
  } catch (error) {
    errors.push(`benchmark aborted: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    leftBehind = await cleanUp(steps, contenders, errors);
  }

  const finishedAt = new Date();
  const result: PipelineBenchResult = {
    ...bench,
    finishedAt: finishedAt.toISOString(),
    durationS: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
    goals: evaluateGoals(results, bench.service),
    leftovers: leftBehind,
  };
  // Only a complete run of both pipelines is "the" result of the day and speaks for the README.
  const complete = options.pipelines.length === PIPELINES.length;
  const written = await writeResults(
    result,
    RESULTS_DIR,
    complete ? result.date : `${result.date}-only-${options.pipelines.join('-')}`,
  );
  process.stdout.write(`${renderGoalTable(result.goals)}\n\n`);
  steps.say(`wrote ${written.json} and ${written.markdown}`);
  for (const readme of complete && !steps.interrupted ? READMES : []) {
    if (await updateReadme(readme, result, written.markdown)) steps.say(`updated the latest results in ${readme}`);
  }
  if (errors.length > 0 || leftBehind.length > 0) process.exitCode = 1;
}

async function measureAll(
  steps: StepRunner,
  contenders: Contender[],
  bench: BenchInProgress,
  options: Options,
): Promise<void> {
  const bakeS = (): number => {
    const measured = contenders.flatMap((c) => Object.values(c.results.runs)).find((run) => run.bake)?.bake?.packerS;
    return (measured ?? ESTIMATE_S.bake) * 1.2;
  };

  bench.runnerStartupS = await measureRunnerStartup();
  steps.say(`runner start-up (deploy.ts --version): ${bench.runnerStartupS} s`);
  // The service is the same in both pipelines; its number goes with bakery's.
  const service = await steps.step(
    bench.pipelines.bakery,
    'service throughput',
    options.serviceDurationS * 2 + 10,
    () => benchService({ durationS: options.serviceDurationS, warmupS: 1 }),
  );
  if (service) {
    bench.service = service;
    steps.say(formatServiceBench(service));
  }

  // A previous run that was killed may have left its environment behind: start cold.
  for (const contender of contenders) {
    const leftover = await leftovers(contender.results.app);
    if (leftover.length > 0) {
      steps.say(`${contender.name}: removing what an earlier run left: ${leftover.join(', ')}`);
      await contender.project.destroy();
    }
  }

  const deploy = async (contender: Contender, run: 'cold' | 'noop' | 'appChange'): Promise<RunMeasurement> => {
    const measurement = await measureRun(contender.project, run, contender.results.deployFlags);
    contender.results.runs[run] = measurement;
    contender.deployed = measurement.ok;
    steps.say(`  ${contender.name}: ${describeMeasurement(measurement)}`);
    return measurement;
  };
  const willBake = (contender: Contender, run: 'cold' | 'noop' | 'appChange'): boolean =>
    run !== 'noop' || contender.name === 'naive';
  const estimate = (contender: Contender, run: 'cold' | 'noop' | 'appChange'): number =>
    (willBake(contender, run) ? bakeS() : 0) + ESTIMATE_S.deployWithoutBake;

  // Pairs run back to back, bakery then naive, so that each ratio compares like with like.
  for (const contender of contenders) {
    await steps.step(contender.results, `${contender.name}: cold deploy`, estimate(contender, 'cold'), () =>
      deploy(contender, 'cold'),
    );
  }
  for (const contender of contenders.filter((c) => c.deployed)) {
    await steps.step(contender.results, `${contender.name}: no-op redeploy`, estimate(contender, 'noop'), () =>
      deploy(contender, 'noop'),
    );
  }
  for (const contender of contenders.filter((c) => c.deployed)) {
    await steps.step(
      contender.results,
      `${contender.name}: app-change redeploy under load`,
      estimate(contender, 'appChange'),
      async () => {
        await contender.project.edit(
          'service/bakery_service/health.py',
          (text) => `${text}\n# changed by the benchmark at ${new Date().toISOString()}\n`,
        );
        const { load } = await underLoad(contender.project.url, DEFAULT_LOAD, () => deploy(contender, 'appChange'));
        contender.results.appChangeLoad = load;
        steps.say(
          `  ${contender.name}: ${load.requests} requests at ${load.ratePerS}/s, ${load.failed} failed, p99 ${load.p99Ms} ms`,
        );
      },
    );
  }
  for (const contender of contenders.filter((c) => c.deployed)) {
    await steps.step(contender.results, `${contender.name}: self-heal`, ESTIMATE_S.selfHeal, async () => {
      const heal = await measureSelfHeal({
        app: contender.results.app,
        url: contender.project.url,
        load: DEFAULT_LOAD,
        ...DEFAULT_SELF_HEAL,
      });
      contender.results.selfHeal = heal;
      steps.say(
        `  ${contender.name}: UP again after ${heal.upAgainS ?? '—'} s (restarted ${heal.serviceRestartedS ?? '—'} s, HAProxy noticed ${heal.lbNoticedS ?? '—'} s), ${heal.load.failed} of ${heal.load.requests} requests failed`,
      );
    });
  }
  for (const contender of contenders) {
    await steps.step(contender.results, `${contender.name}: destroy`, ESTIMATE_S.destroy, async () => {
      const measurement = await measureRun(contender.project, 'destroy', []);
      contender.results.runs.destroy = measurement;
      contender.destroyed = measurement.ok;
      steps.say(`  ${contender.name}: ${describeMeasurement(measurement)}`);
    });
  }
}

/** Destroys whatever a failed or skipped step left running, and reports what remains. */
async function cleanUp(steps: StepRunner, contenders: Contender[], errors: string[]): Promise<string[]> {
  const remaining: string[] = [];
  for (const contender of contenders) {
    try {
      if (!contender.destroyed) {
        steps.say(`${contender.name}: clean-up: destroy`);
        const result = await contender.project.destroy();
        if (result.exitCode !== 0)
          errors.push(
            `${contender.name}: clean-up destroy exited ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-5).join(' / ')}`,
          );
      }
      remaining.push(...(await leftovers(contender.results.app)));
    } catch (error) {
      errors.push(`${contender.name}: clean-up: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await contender.project.remove();
    }
  }
  if (remaining.length > 0) steps.say(`left behind: ${remaining.join(', ')}`);
  return remaining;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
