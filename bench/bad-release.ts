// `npm run bench -- --scenario bad-release`: a release whose /health answers 200 but
// whose / answers 500, deployed under load by bakery (rolling, canary first) and then
// by the naive pipeline (--strategy recreate, no canary), onto the same good fleet.
// bakery's canary takes its share of the traffic for at most bake_s, is judged on
// HAProxy's counters and removed (deploy exits 1, the old version keeps serving); the
// naive pipeline passes the health checks and puts the bad release in front of
// everyone. Measured from outside, as users see it: every request's answer, in time.

import { setTimeout as sleep } from 'node:timers/promises';
import { startLoad, type RequestOutcome } from '../harness/load.ts';
import type { TempProject } from '../harness/local-project.ts';
import { round } from './child-time.ts';
import type { GoalRow, PipelineName, RunMeasurement } from './results.ts';
import { describeMeasurement, measureRun } from './timed-run.ts';
import type { LoadSettings } from './traffic.ts';

/** Where the bad release breaks: the index page, not the health endpoint. */
export const PAGE = 'service/bakery_service/pages.py';
const GOOD_LINE = '    facts = current_facts()\n';
const BAD_LINES = '    return "broken release", 500\n' + GOOD_LINE;

export interface BadReleaseSettings {
  app: string;
  port: number;
  desired: number;
  canary: { instances: number; bake_s: number };
  maxErrorRate: number;
  /** Load keeps running this long after each deploy returns: is the bad release still served? */
  tailS: number;
  load: LoadSettings;
}

export const BAD_RELEASE: BadReleaseSettings = {
  app: 'bench-bad-release',
  port: 18340,
  desired: 2,
  canary: { instances: 1, bake_s: 10 },
  maxErrorRate: 0.01,
  tailS: 10,
  load: { concurrency: 4, pauseMs: 15 },
};

/** The environment's rollout settings in deploy.yaml (the project's other lines are the benchmark's defaults). */
export function rolloutYaml(settings: BadReleaseSettings): string {
  return `rollout: { canary: { instances: ${settings.canary.instances}, bake_s: ${settings.canary.bake_s} }, max_error_rate: ${settings.maxErrorRate} }`;
}

/** The canary's share of the traffic: HAProxy balances over the old fleet and the canary alike. */
export function canaryShare(settings: BadReleaseSettings): number {
  return settings.canary.instances / (settings.desired + settings.canary.instances);
}

export interface Exposure {
  /** From the deploy's start to `tailS` after it returned. */
  windowS: number;
  requests: number;
  ratePerS: number;
  /** Every failure: the bad release's 500s and whatever else failed (a 503 of an empty backend, a reset). */
  failed: number;
  /** Answers of the bad release (HTTP 500). */
  badAnswers: number;
  otherFailures: number;
  /** From the first to the last bad answer: how long the bad release served. */
  badSpanS?: number;
  /** Bad answers ÷ all requests within that span: its share of the traffic while it served. */
  badShareWhileServing?: number;
  /** The last `tailS`, after the deploy returned: requests and how many failed. */
  afterDeploy: { requests: number; failed: number; share: number };
  firstFailures: string[];
}

/** Sorts each request into good, the bad release's 500, or another failure, and finds when the bad release served. */
export function summariseExposure(
  outcomes: readonly RequestOutcome[],
  window: { startedAtMs: number; deployEndedAtMs: number; endedAtMs: number },
  badStatus = 500,
): Exposure {
  const isFailure = (o: RequestOutcome): boolean => o.status === undefined || o.status < 200 || o.status > 299;
  const bad = outcomes.filter((o) => o.status === badStatus);
  const failed = outcomes.filter(isFailure);
  const firstBad = bad[0]?.atMs;
  const lastBad = bad.at(-1)?.atMs;
  const windowS = (window.endedAtMs - window.startedAtMs) / 1000;
  const tail = outcomes.filter((o) => o.atMs >= window.deployEndedAtMs);
  const tailFailed = tail.filter(isFailure).length;
  const span =
    firstBad !== undefined && lastBad !== undefined
      ? outcomes.filter((o) => o.atMs >= firstBad && o.atMs <= lastBad)
      : [];
  return {
    windowS: round(windowS),
    requests: outcomes.length,
    ratePerS: round(outcomes.length / windowS, 1),
    failed: failed.length,
    badAnswers: bad.length,
    otherFailures: failed.length - bad.length,
    ...(firstBad !== undefined && lastBad !== undefined
      ? {
          badSpanS: round((lastBad - firstBad) / 1000),
          badShareWhileServing: round(bad.length / span.length, 3),
        }
      : {}),
    afterDeploy: {
      requests: tail.length,
      failed: tailFailed,
      share: tail.length > 0 ? round(tailFailed / tail.length, 3) : 0,
    },
    firstFailures: failed
      .slice(0, 5)
      .map((o) => `${new Date(o.atMs).toISOString()} ${o.status ? `HTTP ${o.status}` : (o.error ?? 'error')}`),
  };
}

export interface BadReleaseRun {
  pipeline: PipelineName;
  deployFlags: string[];
  run: RunMeasurement;
  exposure: Exposure;
  /** The status of / once the tail was over: 200 means the good release serves. */
  servedAfter?: number;
}

/** Deploys the bad release with `flags` under load and keeps the load on for tailS after it returns. */
export async function deployBadRelease(
  project: TempProject,
  settings: BadReleaseSettings,
  pipeline: PipelineName,
  flags: string[],
  say: (text: string) => void,
): Promise<BadReleaseRun> {
  const outcomes: RequestOutcome[] = [];
  const startedAtMs = Date.now();
  const load = startLoad(project.url, { ...settings.load, maxMs: 15 * 60_000, onResponse: (o) => outcomes.push(o) });
  let run: RunMeasurement;
  let deployEndedAtMs: number;
  try {
    run = await measureRun(project, 'badRelease', flags);
    deployEndedAtMs = Date.now();
    say(`  ${pipeline}: ${describeMeasurement(run)}; load goes on for ${settings.tailS} s`);
    await sleep(settings.tailS * 1000);
  } finally {
    await load.stop();
  }
  const exposure = summariseExposure(outcomes, { startedAtMs, deployEndedAtMs, endedAtMs: Date.now() });
  const servedAfter = outcomes.at(-1)?.status;
  return { pipeline, deployFlags: flags, run, exposure, ...(servedAfter ? { servedAfter } : {}) };
}

/** One line for the progress output. */
export function describeExposure(run: BadReleaseRun): string {
  const e = run.exposure;
  const share = e.badShareWhileServing !== undefined ? `${(e.badShareWhileServing * 100).toFixed(1)} %` : '—';
  return `${run.pipeline}: exit ${run.run.exitCode}; ${e.failed} of ${e.requests} requests failed (${e.badAnswers} answered by the bad release, ${e.otherFailures} other) over ${e.windowS} s; the bad release served for ${e.badSpanS ?? 0} s, ${share} of the traffic meanwhile; after the deploy ${e.afterDeploy.failed} of ${e.afterDeploy.requests} failed`;
}

/** The most failures bakery may cause: the canary's share of the traffic for bake_s, at the measured rate. */
export function canaryBound(settings: BadReleaseSettings, ratePerS: number): number {
  return Math.ceil(ratePerS * settings.canary.bake_s * canaryShare(settings));
}

export function badReleaseGoals(
  settings: BadReleaseSettings,
  runs: Partial<Record<PipelineName, BadReleaseRun>>,
): GoalRow[] {
  const { bakery, naive } = runs;
  const share = round(canaryShare(settings), 3);
  const bound = bakery ? canaryBound(settings, bakery.exposure.ratePerS) : undefined;
  const row = (
    metric: string,
    pick: (run: BadReleaseRun) => number | undefined,
    goal: string,
    met?: (value: number) => boolean,
  ): GoalRow => {
    const ours = bakery ? pick(bakery) : undefined;
    const theirs = naive ? pick(naive) : undefined;
    return {
      metric,
      ...(ours !== undefined ? { bakery: ours } : {}),
      ...(theirs !== undefined ? { naive: theirs } : {}),
      goal,
      ...(met && ours !== undefined ? { met: met(ours) } : {}),
    };
  };
  return [
    row(
      'deploy exit code (bad release)',
      (r) => r.run.exitCode,
      '1 (stopped at the canary)',
      (v) => v === 1,
    ),
    row(
      `failed requests, deploy + ${settings.tailS} s after`,
      (r) => r.exposure.failed,
      `≤ ${bound ?? '—'} (canary share ${share} × ${settings.canary.bake_s} s at the measured rate)`,
      (v) => bound !== undefined && v <= bound,
    ),
    row('requests answered by the bad release (HTTP 500)', (r) => r.exposure.badAnswers, '— (reported)'),
    row(
      'seconds the bad release served (first → last 500)',
      (r) => r.exposure.badSpanS ?? 0,
      `≤ ${settings.canary.bake_s} s (bake_s)`,
      (v) => v <= settings.canary.bake_s,
    ),
    row(
      'share of traffic that saw the bad release while it served',
      (r) => r.exposure.badShareWhileServing,
      `— (reported: bakery ≈ ${share}, the canary's share; naive 1, everything after the switch)`,
    ),
    row(
      `share of requests failing ${settings.tailS} s after the deploy`,
      (r) => r.exposure.afterDeploy.share,
      '0 (the old version serves)',
      (v) => v === 0,
    ),
    row(
      'load (req/s)',
      (r) => r.exposure.ratePerS,
      '≥ 100 (method)',
      (v) => v >= 100,
    ),
  ];
}

/** Makes the project's service fail its index page (the health endpoint stays 200). */
export async function breakThePage(project: TempProject): Promise<void> {
  await project.edit(PAGE, (text) => {
    if (!text.includes(GOOD_LINE))
      throw new Error(`${PAGE} has no line "${GOOD_LINE.trim()}" to break the page before`);
    return text.replace(GOOD_LINE, BAD_LINES);
  });
}
