// The canary of a local rollout: the first new instance(s) take their share of real
// traffic next to the old fleet, and are judged on what HAProxy saw: responses by class
// and connection/response errors per server (the runtime API's counters, taken as
// differences over the window), and response times from HAProxy's access log. It decides
// on evidence (evidence.ts): it passes as soon as it has served rollout.canary.min_requests
// and the upper bound of its error rate (and of its share of responses slower than
// max_p99_ms) is within the limits, and fails as soon as the lower bound says it is worse
// than the limit while the old fleet is not. With too little traffic for either, it waits
// out rollout.canary.bake_s and decides as a fixed window would.

import type { RolloutSettings } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { pollUntil } from '../../process/poll.ts';
import { serverStates, type ServerState, type ServerTraffic } from './lb-servers.ts';
import type { LocalScope } from './scope.ts';
import { dockerLogs } from './docker-commands.ts';
import { defaultMinRequests, FAIL_MIN_COUNT, FAIL_Z, PASS_Z, percent, SLOW_SHARE, wilsonBounds } from './evidence.ts';

/** Each look costs a docker exec and a docker logs: often enough to stop a bad release within a second. */
const POLL_MS = 400;

/** What a group of servers did during the window. */
export interface WindowStats {
  requests: number;
  /** 5xx responses plus connection and response errors. */
  errors: number;
  /** 99th percentile of the server response time (Tr) in ms; undefined without samples. */
  p99Ms: number | undefined;
  /** Responses with a server response time in the access log. */
  timed: number;
  /** Of those, the ones slower than rollout.max_p99_ms (0 without a latency gate). */
  slow: number;
}

export interface CanaryVerdict {
  ok: boolean;
  /** One line with the numbers that decided it, and why it stopped. */
  summary: string;
  /** Set when the canary stopped before its window ended because the evidence was already clear. */
  early: boolean;
}

/** How far into its window the canary is. */
export interface WindowTime {
  seconds: number;
  /** bake_s has passed: decide now, with what there is. */
  over: boolean;
}

function failures(traffic: ServerTraffic): number {
  return traffic.responses['5xx'] + traffic.connectionErrors + traffic.responseErrors;
}

/** Sessions and failures of `names` between two readings of the stats. */
export function windowCounts(
  before: ServerState[],
  after: ServerState[],
  names: ReadonlySet<string>,
): { requests: number; errors: number } {
  const start = new Map(before.map((server) => [server.name, server.traffic]));
  let requests = 0;
  let errors = 0;
  for (const server of after) {
    if (!names.has(server.name)) continue;
    const then = start.get(server.name);
    requests += server.traffic.sessions - (then?.sessions ?? 0);
    errors += failures(server.traffic) - (then ? failures(then) : 0);
  }
  return { requests, errors };
}

/** Server response times (Tr, ms) per server, from HAProxy httplog lines (`backend/server TR/Tw/Tc/Tr/Ta status`). */
export function responseTimes(logLines: readonly string[]): Map<string, number[]> {
  const times = new Map<string, number[]>();
  for (const line of logLines) {
    const match = / [^\s/]+\/(\S+) -?\d+\/-?\d+\/-?\d+\/(-?\d+)\/\+?-?\d+ \d{3} /.exec(line);
    if (!match) continue;
    const [, server = '', tr = '-1'] = match;
    const ms = Number(tr);
    if (ms < 0) continue; // no response from the server: counted as an error, not a time
    const list = times.get(server) ?? [];
    list.push(ms);
    times.set(server, list);
  }
  return times;
}

export function percentile(values: readonly number[], fraction: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

function rate(stats: WindowStats): number {
  return stats.requests === 0 ? 0 : stats.errors / stats.requests;
}

function describe(stats: WindowStats): string {
  const p99 = stats.p99Ms === undefined ? 'p99 n/a' : `p99 ${stats.p99Ms} ms`;
  return `${stats.errors} of ${stats.requests} requests failed (${(rate(stats) * 100).toFixed(1)}%), ${p99}`;
}

/** rollout.canary.min_requests, or its default derived from the limits. */
export function minRequestsToPass(settings: RolloutSettings): number {
  return settings.canary.min_requests ?? defaultMinRequests(settings.max_error_rate, settings.max_p99_ms !== undefined);
}

type Decision = CanaryVerdict & { decided: boolean };

/**
 * The evidence that the canary is worse: its error rate's 99 % lower bound above the
 * limit (or, when the old fleet fails more than the limit too, above the old fleet's
 * upper bound: a problem both share is not the release's), or its share of responses
 * slower than max_p99_ms above 1 % while the old fleet's p99 is within it.
 */
function evidenceOfWorse(canary: WindowStats, old: WindowStats, settings: RolloutSettings): string | undefined {
  const limit = settings.max_error_rate;
  const baseline = rate(old) <= limit ? limit : Math.max(limit, wilsonBounds(old.errors, old.requests, FAIL_Z).upper);
  const errors = wilsonBounds(canary.errors, canary.requests, FAIL_Z);
  if (canary.errors >= FAIL_MIN_COUNT && errors.lower > baseline)
    return `error rate above rollout.max_error_rate ${limit}: NUMBERS; stopped on evidence: its 99% lower bound ${percent(errors.lower)} > ${percent(baseline)}${baseline > limit ? " (the old fleet's upper bound)" : ''}`;
  const p99Limit = settings.max_p99_ms;
  if (p99Limit === undefined || (old.p99Ms !== undefined && old.p99Ms > p99Limit)) return undefined;
  const slow = wilsonBounds(canary.slow, canary.timed, FAIL_Z);
  if (canary.slow >= FAIL_MIN_COUNT && slow.lower > SLOW_SHARE)
    return `p99 above rollout.max_p99_ms ${p99Limit} ms: NUMBERS; stopped on evidence: ${canary.slow} of ${canary.timed} responses slower than ${p99Limit} ms, 99% lower bound ${percent(slow.lower)} > ${percent(SLOW_SHARE)}`;
  return undefined;
}

/** The evidence that the canary is good enough: min_requests served, 95 % upper bounds within the limits. */
function evidenceOfGood(canary: WindowStats, settings: RolloutSettings): string | undefined {
  const needed = minRequestsToPass(settings);
  if (canary.requests < needed) return undefined;
  const errors = wilsonBounds(canary.errors, canary.requests, PASS_Z);
  if (errors.upper > settings.max_error_rate) return undefined;
  let latency = '';
  if (settings.max_p99_ms !== undefined) {
    const slow = wilsonBounds(canary.slow, canary.timed, PASS_Z);
    if (slow.upper > SLOW_SHARE) return undefined;
    latency = `, slower than ${settings.max_p99_ms} ms ${percent(slow.upper)} ≤ ${percent(SLOW_SHARE)}`;
  }
  return `passed on evidence after ${canary.requests} ≥ ${needed} requests (rollout.canary.min_requests): 95% upper bounds: error rate ${percent(errors.upper)} ≤ ${percent(settings.max_error_rate)}${latency}`;
}

/**
 * The rule, as a pure function. During the window it decides only on evidence (see
 * evidenceOfWorse and evidenceOfGood) and otherwise waits. Once the window is over it
 * decides on the counts as they are: the canary fails when it fails more than allowed,
 * or is slower than allowed, while the old fleet does not; with fewer than
 * rollout.min_requests it is not judged, and rollout.canary.too_little_traffic says
 * whether that passes or fails.
 */
export function judge(canary: WindowStats, old: WindowStats, settings: RolloutSettings, time: WindowTime): Decision {
  const numbers = `canary: ${describe(canary)}; old fleet: ${describe(old)}; over ${time.seconds.toFixed(1)} s`;
  const early = !time.over;
  const worse = evidenceOfWorse(canary, old, settings);
  if (worse) return { ok: false, decided: true, early, summary: worse.replace('NUMBERS', numbers) };
  const good = evidenceOfGood(canary, settings);
  if (good) return { ok: true, decided: true, early, summary: `${numbers}; ${good}` };
  if (!time.over) return { ok: true, decided: false, early, summary: `${numbers}; no verdict yet` };

  const enough = canary.requests >= settings.min_requests;
  const tooManyErrors = enough && rate(canary) > settings.max_error_rate && rate(old) <= settings.max_error_rate;
  const limit = settings.max_p99_ms;
  const tooSlow =
    limit !== undefined &&
    enough &&
    canary.p99Ms !== undefined &&
    canary.p99Ms > limit &&
    (old.p99Ms === undefined || old.p99Ms <= limit);
  const window = `the window of rollout.canary.bake_s ${settings.canary.bake_s} s is over`;
  if (tooManyErrors)
    return {
      ok: false,
      decided: true,
      early: false,
      summary: `error rate above rollout.max_error_rate ${settings.max_error_rate}: ${numbers}; ${window}`,
    };
  if (tooSlow)
    return {
      ok: false,
      decided: true,
      early: false,
      summary: `p99 above rollout.max_p99_ms ${limit} ms: ${numbers}; ${window}`,
    };
  if (!enough) {
    const policy = settings.canary.too_little_traffic ?? 'pass';
    const open = policy === 'pass';
    return {
      ok: open,
      decided: true,
      early: false,
      summary: `not judged: the canary served ${canary.requests} request(s), fewer than rollout.min_requests ${settings.min_requests}; ${numbers}; ${window}, and rollout.canary.too_little_traffic is ${policy}`,
    };
  }
  return { ok: true, decided: true, early: false, summary: `${numbers}; ${window} without evidence against it` };
}

/** HAProxy's access log lines since `since` (the load balancer logs to stdout). */
async function accessLog(io: StageIO, scope: LocalScope, since: Date): Promise<string[]> {
  const result = await io.run({
    ...dockerLogs(scope.names.lb, { since }),
    quiet: true,
    okExitCodes: [1],
  });
  return `${result.stdout}\n${result.stderr}`.split('\n');
}

/** Lets the canary take traffic until the evidence decides or its window ends; resolves to the verdict (the caller removes a failed canary). */
export async function bakeCanary(
  io: StageIO,
  scope: LocalScope,
  canaryNames: readonly string[],
  oldNames: readonly string[],
  settings: RolloutSettings,
): Promise<CanaryVerdict> {
  const { names } = scope;
  const canarySet = new Set(canaryNames);
  const oldSet = new Set(oldNames);
  const started = new Date();
  const before = await serverStates(io, names.lb);
  const bakeMs = settings.canary.bake_s * 1000;
  const p99Limit = settings.max_p99_ms;

  const measure = async (): Promise<{ canary: WindowStats; old: WindowStats }> => {
    const now = await serverStates(io, names.lb);
    const times = responseTimes(await accessLog(io, scope, started));
    const timesOf = (set: ReadonlySet<string>): number[] =>
      [...times].filter(([server]) => set.has(server)).flatMap(([, list]) => list);
    const statsOf = (set: ReadonlySet<string>): WindowStats => {
      const list = timesOf(set);
      return {
        ...windowCounts(before, now, set),
        p99Ms: percentile(list, 0.99),
        timed: list.length,
        slow: p99Limit === undefined ? 0 : list.filter((ms) => ms > p99Limit).length,
      };
    };
    return { canary: statsOf(canarySet), old: statsOf(oldSet) };
  };
  const elapsed = (): number => (Date.now() - started.getTime()) / 1000;

  io.info(
    `canary ${canaryNames.join(', ')} takes its share of traffic until it has served ${minRequestsToPass(settings)} requests (rollout.canary.min_requests) or at most ${settings.canary.bake_s} s (rollout.canary.bake_s)`,
  );
  const result = await pollUntil(io, {
    what: `the canary's evidence (at most ${settings.canary.bake_s} s)`,
    deadlineMs: bakeMs,
    intervalMs: POLL_MS,
    onStatus: (status) => io.progress(status),
    attempt: async () => {
      const stats = await measure();
      const seconds = elapsed();
      const verdict = judge(stats.canary, stats.old, settings, { seconds, over: false });
      if (verdict.decided) return { done: true, value: verdict };
      return {
        done: false,
        status: `canary ${Math.min(seconds, settings.canary.bake_s).toFixed(1)}/${settings.canary.bake_s} s: ${describe(stats.canary)} | old: ${describe(stats.old)}`,
      };
    },
  });
  if (result.done) return result.value;
  // The window is over without evidence either way: one last reading decides.
  const stats = await measure();
  return judge(stats.canary, stats.old, settings, { seconds: elapsed(), over: true });
}
