// bench/results/<date>.json and .md: the goals table first, then everything needed to
// see where the time goes (per-stage timings, bake profiles, overhead, self-heal).

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { GoalRow, PipelineBenchResult, PipelineName, RunMeasurement, RunName } from './results.ts';
import { PIPELINES } from './results.ts';

const RUN_TITLES: Record<RunName, string> = {
  cold: 'cold deploy',
  noop: 'no-op redeploy',
  appChange: 'app-change redeploy',
  destroy: 'destroy',
  badRelease: 'bad-release deploy',
};
const RUN_ORDER: RunName[] = ['cold', 'noop', 'appChange', 'destroy'];

export async function writeResults(
  result: PipelineBenchResult,
  dir: string,
  stem = result.date,
): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, `${stem}.json`);
  const markdown = join(dir, `${stem}.md`);
  await writeFile(json, JSON.stringify(result, null, 2) + '\n');
  await writeFile(markdown, renderMarkdown(result));
  return { json, markdown };
}

const LATEST_START = '<!-- latest-results:start (written by bench/run.ts) -->';
const LATEST_END = '<!-- latest-results:end -->';

/** Replaces the README's latest-results section, so it always shows the last run's table. */
export async function updateReadme(
  readme: string,
  result: PipelineBenchResult,
  markdownPath: string,
): Promise<boolean> {
  // Links are relative to the README being written.
  const link = relative(dirname(readme), markdownPath);
  const text = await readFile(readme, 'utf8');
  const start = text.indexOf(LATEST_START);
  const end = text.indexOf(LATEST_END);
  if (start === -1 || end < start) return false;
  const section = [
    LATEST_START,
    `From [${link}](${link}) (${result.machine.cpus} CPUs, load average ${result.machine.loadAverageAtStart} at the start, ${(result.durationS / 60).toFixed(1)} min):`,
    '',
    renderGoalTable(result.goals),
    LATEST_END,
  ].join('\n');
  await writeFile(readme, text.slice(0, start) + section + text.slice(end + LATEST_END.length));
  return true;
}

export function renderMarkdown(result: PipelineBenchResult): string {
  return [
    `# Pipeline benchmark, ${result.date}`,
    '',
    describeSetup(result),
    '',
    renderGoalTable(result.goals),
    '',
    ...section('Where the time goes (missed goals)', renderMisses(result)),
    ...section('Per-stage timings (s)', renderStageTable(result)),
    ...section('Bakes (Packer and the slowest Ansible tasks)', renderBakes(result)),
    ...section('Runner overhead (wall time minus time in child processes)', renderOverhead(result)),
    ...section('Traffic', renderTraffic(result)),
    ...section('Self-heal timelines', renderSelfHeal(result)),
    ...section('Skipped steps and errors', renderProblems(result)),
  ].join('\n');
}

function section(title: string, lines: string[]): string[] {
  return lines.length === 0 ? [] : [`## ${title}`, '', ...lines, ''];
}

function describeSetup(result: PipelineBenchResult): string {
  const { machine } = result;
  const gib = (machine.totalMemoryBytes / 2 ** 30).toFixed(1);
  return [
    `Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${gib} GiB, ${machine.platform}, Node ${machine.node}` +
      `${machine.docker ? `, Docker ${machine.docker}` : ''}; load average ${machine.loadAverageAtStart} at the start.`,
    `Run: ${result.startedAt} → ${result.finishedAt} (${(result.durationS / 60).toFixed(1)} min).` +
      (result.runnerStartupS !== undefined
        ? ` Bare runner start-up (\`deploy.ts --version\`): ${result.runnerStartupS} s.`
        : ''),
    `bakery = \`deploy.ts\` as is (reuse the image by fingerprint, rolling rollout); ` +
      `naive = \`deploy.ts ${result.pipelines.naive.deployFlags.join(' ')}\` (bake every time, stop all, then start new). ` +
      `Ratio = naive ÷ bakery.`,
  ].join('\n');
}

export function renderGoalTable(goals: GoalRow[]): string {
  const lines = ['| metric | bakery | naive | ratio | goal | met? |', '|---|---:|---:|---:|---|---|'];
  for (const row of goals) {
    const met = row.met === undefined ? (row.goal.startsWith('—') ? '—' : 'n/a') : row.met ? 'yes' : '**no**';
    lines.push(
      `| ${row.metric} | ${num(row.bakery)} | ${num(row.naive)} | ${row.ratio !== undefined ? `${row.ratio}×` : '—'} | ${row.goal} | ${met} |`,
    );
  }
  return lines.join('\n');
}

function num(value: number | undefined): string {
  return value === undefined ? '—' : String(value);
}

function runsOf(result: PipelineBenchResult): Array<{ pipeline: PipelineName; run: RunMeasurement }> {
  return PIPELINES.flatMap((pipeline) =>
    RUN_ORDER.flatMap((name) => {
      const run = result.pipelines[pipeline].runs[name];
      return run ? [{ pipeline, run }] : [];
    }),
  );
}

function renderStageTable(result: PipelineBenchResult): string[] {
  const runs = runsOf(result);
  if (runs.length === 0) return [];
  const stageNames = [...new Set(runs.flatMap(({ run }) => run.stages.map((stage) => stage.name)))];
  const lines = [
    `| pipeline | run | wall | ${stageNames.join(' | ')} | in child processes | overhead | load average at start |`,
    `|---|---|---:|${stageNames.map(() => '---:').join('|')}|---:|---:|---:|`,
  ];
  for (const { pipeline, run } of runs) {
    const cells = stageNames.map((name) => {
      const stage = run.stages.find((candidate) => candidate.name === name);
      if (!stage) return '';
      return stage.status === 'ok' ? String(stage.seconds) : `${stage.seconds} (${stage.status})`;
    });
    const status = run.ok ? '' : ` (exit ${run.exitCode})`;
    lines.push(
      `| ${pipeline} | ${RUN_TITLES[run.run]}${status} | ${run.wallS} | ${cells.join(' | ')} | ${num(run.time?.childProcessS)} | ${num(run.time?.overheadS)} | ${run.loadAverageAtStart} |`,
    );
  }
  const reasons = runs.flatMap(({ pipeline, run }) =>
    run.stages
      .filter((stage) => stage.skipped_reason)
      .map((stage) => `- ${pipeline} ${RUN_TITLES[run.run]}: ${stage.name} skipped: ${stage.skipped_reason}`),
  );
  return [...lines, ...(reasons.length > 0 ? ['', ...reasons] : [])];
}

function describeBake(run: RunMeasurement, tasks = 5): string | undefined {
  if (!run.bake) return undefined;
  const slowest = run.bake.slowestTasks
    .slice(0, tasks)
    .map((task) => `${task.task} ${task.seconds} s`)
    .join('; ');
  const { packerS, beforeAnsibleS, ansibleS, afterAnsibleS } = run.bake;
  return `packer ${packerS} s = container start ${num(beforeAnsibleS)} + Ansible ${num(ansibleS)} + commit/import ${num(afterAnsibleS)}; slowest tasks: ${slowest}`;
}

function renderBakes(result: PipelineBenchResult): string[] {
  return runsOf(result).flatMap(({ pipeline, run }) => {
    const bake = describeBake(run);
    return bake ? [`- ${pipeline} ${RUN_TITLES[run.run]}: ${bake}`] : [];
  });
}

function describeOverhead(run: RunMeasurement): string | undefined {
  const time = run.time;
  if (!time) return undefined;
  const byStage = time.stages
    .filter((stage) => stage.runnerS >= 0.05)
    .sort((a, b) => b.runnerS - a.runnerS)
    .map((stage) => `${stage.name} ${stage.runnerS}`)
    .join(', ');
  return (
    `${time.overheadS} s of ${time.wallS} s (${time.childProcessCount} child processes for ${time.childProcessS} s): ` +
    `outside the stages ${time.outsideStagesS} s (spawn → first child ${num(time.untilFirstChildS)} s, last child → exit ${num(time.afterLastChildS)} s); ` +
    `inside them ${byStage || 'nothing'}`
  );
}

function renderOverhead(result: PipelineBenchResult): string[] {
  return runsOf(result).flatMap(({ pipeline, run }) => {
    const overhead = describeOverhead(run);
    return overhead ? [`- ${pipeline} ${RUN_TITLES[run.run]}: ${overhead}`] : [];
  });
}

function renderTraffic(result: PipelineBenchResult): string[] {
  const lines: string[] = [];
  for (const pipeline of PIPELINES) {
    const { appChangeLoad, selfHeal } = result.pipelines[pipeline];
    for (const [what, load] of [
      ['app-change redeploy', appChangeLoad],
      ['self-heal', selfHeal?.load],
    ] as const) {
      if (!load) continue;
      const span = load.failureSpanS !== undefined ? `, failures over ${load.failureSpanS} s` : '';
      lines.push(
        `- ${pipeline} ${what}: ${load.requests} requests in ${load.durationS} s (${load.ratePerS}/s, ${load.concurrency} loops, ${load.pauseMs} ms pause), ` +
          `${load.failed} failed${span}; latency p50 ${load.p50Ms} ms, p99 ${load.p99Ms} ms, max ${load.maxMs} ms`,
      );
      for (const failure of load.firstFailures.slice(0, 3)) lines.push(`  - ${failure}`);
    }
  }
  return lines;
}

function renderSelfHeal(result: PipelineBenchResult): string[] {
  return PIPELINES.flatMap((pipeline) => {
    const heal = result.pipelines[pipeline].selfHeal;
    if (!heal) return [];
    const steps = heal.timeline
      .map((step) => `${step.atS} s: pid ${step.pid}, ${step.status}${step.check ? ` (${step.check})` : ''}`)
      .join('; ');
    return [
      `- ${pipeline}, ${heal.instance}: restarted ${num(heal.serviceRestartedS)} s, HAProxy noticed ${num(heal.lbNoticedS)} s, UP again ${num(heal.upAgainS)} s ` +
        `(one observation every ${heal.pollIntervalMs} ms)${heal.error ? `; ${heal.error}` : ''}`,
      `  - ${steps}`,
    ];
  });
}

function renderMisses(result: PipelineBenchResult): string[] {
  return result.goals
    .filter((row) => row.met === false)
    .map((row) => {
      const run = row.run ? result.pipelines.bakery.runs[row.run] : undefined;
      const detail: string[] = [];
      if (run && row.metric.startsWith('runner overhead')) {
        detail.push(describeOverhead(run) ?? 'no stage logs');
      } else if (run) {
        const stages = [...run.stages]
          .sort((a, b) => b.seconds - a.seconds)
          .map((stage) => `${stage.name} ${stage.seconds} s`)
          .join(', ');
        detail.push(`${run.wallS} s = ${stages}, and ${num(run.time?.outsideStagesS)} s outside the stages`);
        const bake = describeBake(run, 3);
        if (bake) detail.push(`The bake: ${bake}`);
      }
      if (row.metric.startsWith('self-heal') && result.pipelines.bakery.selfHeal) {
        const heal = result.pipelines.bakery.selfHeal;
        detail.push(
          `restarted after ${num(heal.serviceRestartedS)} s, HAProxy noticed after ${num(heal.lbNoticedS)} s, UP again after ${num(heal.upAgainS)} s`,
        );
      }
      if (row.metric.startsWith('failed requests')) {
        const load = row.metric.includes('self-heal')
          ? result.pipelines.bakery.selfHeal?.load
          : result.pipelines.bakery.appChangeLoad;
        if (load) detail.push(`first failures: ${load.firstFailures.slice(0, 3).join('; ')}`);
      }
      return `- **${row.metric}**: ${row.bakery} (goal ${row.goal}). ${detail.join('. ')}`;
    });
}

function renderProblems(result: PipelineBenchResult): string[] {
  const lines = PIPELINES.flatMap((pipeline) => [
    ...result.pipelines[pipeline].skipped.map((skip) => `- ${pipeline}: ${skip.step} skipped: ${skip.reason}`),
    ...Object.values(result.pipelines[pipeline].runs)
      .filter((run) => !run.ok)
      .map(
        (run) =>
          `- ${pipeline} ${RUN_TITLES[run.run]} failed (exit ${run.exitCode}): ${(run.error ?? '').split('\n').join(' / ')}`,
      ),
  ]);
  lines.push(...result.errors.map((error) => `- ${error}`));
  if (result.leftovers.length > 0) lines.push(`- left behind after clean-up: ${result.leftovers.join(', ')}`);
  return lines;
}
