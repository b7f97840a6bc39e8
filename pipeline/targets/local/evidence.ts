// The statistics behind a canary that decides on evidence: Wilson score bounds on a
// proportion (failed requests of those served, or responses slower than max_p99_ms of
// those timed). The canary passes early once the upper bound of its error rate is within
// the limit, and fails early once the lower bound is above it. Wilson rather than the
// normal approximation because the rates are near 0 and the counts small, where the
// normal interval collapses to a point (0 of n failed would prove a rate of 0).

/** z for a one-sided 95 % bound: the bound a canary must be under to pass early. */
export const PASS_Z = 1.645;
/**
 * z for a one-sided 99 % bound: the bound a canary must be over to fail early. Stricter
 * than the pass because the counters are looked at again every poll (each look is a
 * chance of a false alarm), and a failed canary throws a good release away.
 */
export const FAIL_Z = 2.326;
/** The fewest failures that can fail a canary early: one or two are a blip, not evidence. */
export const FAIL_MIN_COUNT = 3;
/** A p99 over the limit means more than 1 % of responses over it. */
export const SLOW_SHARE = 0.01;
/** The largest rollout.canary.min_requests (schema limit); also the default when the rate is 0. */
export const MAX_MIN_REQUESTS = 100_000;

export interface Bounds {
  lower: number;
  upper: number;
}

/** Wilson score interval of `count` out of `total` at `z`; [0, 1] without observations. */
export function wilsonBounds(count: number, total: number, z: number): Bounds {
  if (total <= 0) return { lower: 0, upper: 1 };
  const p = Math.min(1, Math.max(0, count / total));
  const z2 = z * z;
  const denominator = 1 + z2 / total;
  const center = (p + z2 / (2 * total)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  return { lower: Math.max(0, center - half), upper: Math.min(1, center + half) };
}

/**
 * Requests with no failure after which the 95 % upper bound of the rate is at most
 * `rate`: from z²/(n + z²) ≤ rate, n ≥ z²(1 − rate)/rate. 268 for a rate of 1 %.
 */
export function requestsToBound(rate: number): number {
  if (rate <= 0) return MAX_MIN_REQUESTS;
  if (rate >= 1) return 1;
  return Math.min(MAX_MIN_REQUESTS, Math.ceil((PASS_Z * PASS_Z * (1 - rate)) / rate - 1e-9));
}

/**
 * The default of rollout.canary.min_requests: enough requests for a canary that failed
 * none to show its error rate within max_error_rate, and, with a latency gate, its share
 * of slow responses within 1 % (what "p99 within max_p99_ms" means).
 */
export function defaultMinRequests(maxErrorRate: number, latencyGate: boolean): number {
  const forErrors = requestsToBound(maxErrorRate);
  return latencyGate ? Math.max(forErrors, requestsToBound(SLOW_SHARE)) : forErrors;
}

/** "1.0%" with one decimal; bounds are shown as percentages. */
export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}
