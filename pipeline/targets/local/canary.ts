// The canary of a local rollout: the first new instance(s) take their share of real
// traffic next to the old fleet for rollout.canary.bake_s, and are judged on what
// HAProxy saw: responses by class and connection/response errors per server (the
// runtime API's counters, taken as differences over the window), and the 99th
// percentile of response times from HAProxy's access log. A canary that fails more than
// rollout.max_error_rate (or is slower than max_p99_ms) while the old servers do not is
// stopped as soon as that is clear; waiting out the window would only hurt more users.

import type { RolloutSettings } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { pollUntil } from '../../process/poll.ts';
import { serverStates, type ServerState, type ServerTraffic } from './lb-servers.ts';
import type { LocalScope } from './scope.ts';
import { dockerLogs } from './docker-commands.ts';

const POLL_MS = 1000;

/** What a group of servers did during the window. */
export interface WindowStats {
  requests: number;
  /** 5xx responses plus connection and response errors. */
  errors: number;
  /** 99th percentile of the server response time (Tr) in ms; undefined without samples. */
  p99Ms: number | undefined;
}

export interface CanaryVerdict {
  ok: boolean;
  /** One line with the numbers that decided it. */
  summary: string;
  /** Set when the window ended early because the verdict was already clear. */
  early: boolean;
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

/**
 * The rule, as a pure function: the canary fails when it fails more than allowed, or is
 * slower than allowed, while the old fleet does not (a problem both share is not the
 * release's). With fewer than min_requests it is not judged on errors.
 */
export function judge(
  canary: WindowStats,
  old: WindowStats,
  settings: RolloutSettings,
  seconds: number,
): CanaryVerdict & { decided: boolean } {
  const numbers = `canary: ${describe(canary)}; old fleet: ${describe(old)}; over ${seconds.toFixed(1)} s`;
  const enough = canary.requests >= settings.min_requests;
  const tooManyErrors = enough && rate(canary) > settings.max_error_rate && rate(old) <= settings.max_error_rate;
  const limit = settings.max_p99_ms;
  const tooSlow =
    limit !== undefined &&
    enough &&
    canary.p99Ms !== undefined &&
    canary.p99Ms > limit &&
    (old.p99Ms === undefined || old.p99Ms <= limit);
  if (tooManyErrors)
    return {
      ok: false,
      decided: true,
      early: false,
      summary: `error rate above rollout.max_error_rate ${settings.max_error_rate}: ${numbers}`,
    };
  if (tooSlow)
    return { ok: false, decided: true, early: false, summary: `p99 above rollout.max_p99_ms ${limit} ms: ${numbers}` };
  if (!enough)
    return {
      ok: true,
      decided: false,
      early: false,
      summary: `not judged: the canary served ${canary.requests} request(s), fewer than rollout.min_requests ${settings.min_requests}; ${numbers}`,
    };
  return { ok: true, decided: false, early: false, summary: numbers };
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

/** Lets the canary bake and judges it; resolves to the verdict (the caller removes a failed canary). */
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

  const measure = async (): Promise<{ canary: WindowStats; old: WindowStats }> => {
    const now = await serverStates(io, names.lb);
    const times = responseTimes(await accessLog(io, scope, started));
    const p99Of = (set: ReadonlySet<string>): number | undefined =>
      percentile(
        [...times].filter(([server]) => set.has(server)).flatMap(([, list]) => list),
        0.99,
      );
    return {
      canary: { ...windowCounts(before, now, canarySet), p99Ms: p99Of(canarySet) },
      old: { ...windowCounts(before, now, oldSet), p99Ms: p99Of(oldSet) },
    };
  };

  io.info(
    `canary ${canaryNames.join(', ')} takes its share of traffic for ${settings.canary.bake_s} s (rollout.canary.bake_s)`,
  );
  let latest = judge(
    { requests: 0, errors: 0, p99Ms: undefined },
    { requests: 0, errors: 0, p99Ms: undefined },
    settings,
    0,
  );
  const result = await pollUntil(io, {
    what: `the canary's ${settings.canary.bake_s} s`,
    deadlineMs: bakeMs,
    intervalMs: POLL_MS,
    onStatus: (status) => io.progress(status),
    attempt: async () => {
      const stats = await measure();
      const seconds = (Date.now() - started.getTime()) / 1000;
      latest = judge(stats.canary, stats.old, settings, seconds);
      if (latest.decided && !latest.ok)
        return { done: true, value: { ...latest, early: seconds < settings.canary.bake_s } };
      return {
        done: false,
        status: `canary ${Math.min(seconds, settings.canary.bake_s).toFixed(0)}/${settings.canary.bake_s} s: ${describe(stats.canary)} | old: ${describe(stats.old)}`,
      };
    },
  });
  if (result.done) return result.value;
  // The window is over: one last reading decides.
  const stats = await measure();
  return judge(stats.canary, stats.old, settings, (Date.now() - started.getTime()) / 1000);
}
