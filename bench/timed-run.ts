// One measured command: deploy.ts or destroy.ts on a throwaway project, with --json.
// Wall time is taken around the whole process (what a user waits for, Node start-up
// included); the stages come from the JSON summary, the child-process time from the
// run's stage logs, and a bake's profile from its bake.log.

import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../pipeline/output/events.ts';
import type { CommandResult, TempProject } from '../harness/local-project.ts';
import { profileBake } from './bake-profile.ts';
import { breakDownTime, readStageLogs, round, type CommandSpan } from './child-time.ts';
import type { RunMeasurement, RunName } from './results.ts';

/** The last stdout line of a --json run, which is the summary object. */
export function parseSummary(stdout: string): RunSummary | undefined {
  const last = stdout.trim().split('\n').pop();
  if (!last) return undefined;
  try {
    return JSON.parse(last) as RunSummary;
  } catch {
    return undefined;
  }
}

/** What the rollout's log says about new instances and the canary (lines of pipeline/targets/local/rollout.ts). */
export function rolloutFacts(log: string): Pick<RunMeasurement, 'upAfterStartS' | 'canaryVerdict'> {
  const upAfterStartS = [...log.matchAll(/UP in HAProxy (\d+(?:\.\d+)?) s after/g)].map((match) => Number(match[1]));
  const verdict = /canary ((?:passed|failed): .*)$/m.exec(log)?.[1];
  return {
    ...(upAfterStartS.length > 0 ? { upAfterStartS } : {}),
    ...(verdict ? { canaryVerdict: verdict } : {}),
  };
}

export async function measureRun(project: TempProject, run: RunName, args: string[]): Promise<RunMeasurement> {
  const command = run === 'destroy' ? project.destroy : project.deploy;
  // Epoch time, not performance.now(): it is compared with the timestamps in the logs.
  const startedAtMs = Date.now();
  const loadAverageAtStart = round(os.loadavg()[0] ?? 0);
  const result = await command('--json', ...args);
  return describeRun(run, args, result, { startedAtMs, endedAtMs: Date.now() }, loadAverageAtStart);
}

async function describeRun(
  run: RunName,
  args: string[],
  result: CommandResult,
  span: CommandSpan,
  loadAverageAtStart: number,
): Promise<RunMeasurement> {
  const wallS = (span.endedAtMs - span.startedAtMs) / 1000;
  const summary = parseSummary(result.stdout);
  const measurement: RunMeasurement = {
    run,
    args,
    exitCode: result.exitCode,
    ok: result.exitCode === 0 && summary?.ok === true,
    wallS: round(wallS),
    stages: summary?.stages ?? [],
    loadAverageAtStart,
    ...(summary?.fingerprint ? { fingerprint: summary.fingerprint } : {}),
    ...(summary?.image ? { image: summary.image } : {}),
    ...(summary?.log_dir ? { logDir: summary.log_dir } : {}),
  };
  if (!measurement.ok) {
    measurement.error = summary?.error
      ? [summary.error.message, ...summary.error.details].join('\n')
      : result.stderr.trim().split('\n').slice(-15).join('\n');
  }
  if (summary?.log_dir) {
    const logs = await readStageLogs(summary.log_dir).catch(() => new Map<string, string>());
    measurement.time = breakDownTime(span, measurement.stages, logs);
    Object.assign(measurement, rolloutFacts(logs.get('rollout') ?? ''));
    if (measurement.stages.some((stage) => stage.name === 'bake' && stage.status === 'ok')) {
      const bake = await readFile(join(summary.log_dir, 'bake.log'), 'utf8').catch(() => '');
      const profile = profileBake(bake);
      if (profile) measurement.bake = profile;
    }
  }
  return measurement;
}

/** "cold deploy 171.2 s ok (bake 150.1, rollout 9.8, …)", for progress lines. */
export function describeMeasurement(measurement: RunMeasurement): string {
  const stages = measurement.stages
    .filter((stage) => stage.seconds >= 0.1 || stage.status !== 'ok')
    .map((stage) => `${stage.name} ${stage.status === 'ok' ? stage.seconds : stage.status}`)
    .join(', ');
  const status = measurement.ok ? 'ok' : `FAILED (exit ${measurement.exitCode})`;
  const overhead = measurement.time ? `; overhead ${measurement.time.overheadS} s` : '';
  return `${measurement.wallS} s ${status} (${stages})${overhead}`;
}
