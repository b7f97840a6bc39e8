// bench/results/<date>-bad-release.json and .md, and the bad-release table in
// bench/README.md: the goals first, then each pipeline's deploy and what the traffic saw.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { canaryShare, type BadReleaseRun, type BadReleaseSettings } from './bad-release.ts';
import { renderGoalTable } from './report.ts';
import type { GoalRow, MachineFacts, PipelineName, RunMeasurement } from './results.ts';

export interface BadReleaseResult {
  kind: 'bad-release';
  date: string;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: MachineFacts;
  settings: BadReleaseSettings;
  /** The good release both pipelines start from. */
  good?: RunMeasurement;
  runs: Partial<Record<PipelineName, BadReleaseRun>>;
  goals: GoalRow[];
  leftovers: string[];
  errors: string[];
}

export async function writeBadReleaseResults(
  result: BadReleaseResult,
  dir: string,
): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const stem = `${result.date}-bad-release`;
  const json = join(dir, `${stem}.json`);
  const markdown = join(dir, `${stem}.md`);
  await writeFile(json, JSON.stringify(result, null, 2) + '\n');
  await writeFile(markdown, renderBadReleaseMarkdown(result));
  return { json, markdown };
}

const START = '<!-- bad-release:start (written by bench/run.ts --scenario bad-release) -->';
const END = '<!-- bad-release:end -->';

/** Replaces the README's bad-release section with this run's table; false when the README has none. */
export async function updateBadReleaseSection(
  readme: string,
  result: BadReleaseResult,
  markdownPath: string,
): Promise<boolean> {
  const link = relative(dirname(readme), markdownPath);
  const text = await readFile(readme, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end < start) return false;
  const section = [
    START,
    `From [${link}](${link}) (${result.machine.cpus} CPUs, load average ${result.machine.loadAverageAtStart} at the start, ${(result.durationS / 60).toFixed(1)} min):`,
    '',
    renderGoalTable(result.goals),
    END,
  ].join('\n');
  await writeFile(readme, text.slice(0, start) + section + text.slice(end + END.length));
  return true;
}

export function renderBadReleaseMarkdown(result: BadReleaseResult): string {
  const { settings, machine } = result;
  const gib = (machine.totalMemoryBytes / 2 ** 30).toFixed(1);
  const lines = [
    `# Bad-release benchmark, ${result.date}`,
    '',
    `Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${gib} GiB, ${machine.platform}, Node ${machine.node}` +
      `${machine.docker ? `, Docker ${machine.docker}` : ''}; load average ${machine.loadAverageAtStart} at the start.`,
    `Run: ${result.startedAt} → ${result.finishedAt} (${(result.durationS / 60).toFixed(1)} min).`,
    `A release whose \`/health\` answers 200 and whose \`/\` answers 500, deployed onto ${settings.desired} good instances ` +
      `under ${settings.load.concurrency} request loops (${settings.load.pauseMs} ms pause), load kept on ${settings.tailS} s after each deploy. ` +
      `bakery: canary of ${settings.canary.instances} for ${settings.canary.bake_s} s, max_error_rate ${settings.maxErrorRate} ` +
      `(share ${canaryShare(settings).toFixed(3)}); then naive: \`--strategy recreate\` (no canary; the bad image bakery baked is reused) onto the same good fleet.`,
    '',
    renderGoalTable(result.goals),
    '',
  ];
  for (const run of Object.values(result.runs)) {
    const e = run.exposure;
    lines.push(
      `## ${run.pipeline}${run.deployFlags.length > 0 ? ` (\`${run.deployFlags.join(' ')}\`)` : ''}`,
      '',
      `- deploy: exit ${run.run.exitCode}, ${run.run.wallS} s (${run.run.stages.map((s) => `${s.name} ${s.status === 'ok' ? s.seconds : s.status}`).join(', ')})`,
      `- traffic: ${e.requests} requests in ${e.windowS} s (${e.ratePerS}/s); ${e.failed} failed: ${e.badAnswers} answered 500 by the bad release, ${e.otherFailures} other failures`,
      `- the bad release served for ${e.badSpanS ?? 0} s, ${e.badShareWhileServing ?? 0} of the traffic meanwhile`,
      `- after the deploy returned: ${e.afterDeploy.failed} of ${e.afterDeploy.requests} requests failed; \`/\` answered ${run.servedAfter ?? '—'} at the end`,
      ...(e.firstFailures.length > 0 ? [`- first failures: ${e.firstFailures.join('; ')}`] : []),
      ...(run.run.error ? ['- the runner said:', '', '```', run.run.error, '```'] : []),
      '',
    );
  }
  const problems = [...result.errors, ...result.leftovers.map((l) => `left behind: ${l}`)];
  if (problems.length > 0) lines.push('## Errors', '', ...problems.map((p) => `- ${p}`), '');
  return lines.join('\n');
}
