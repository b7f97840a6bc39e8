// Steady loopback load through the load balancer around something that happens (a
// redeploy, a killed service), summarised as rate, failures and latency percentiles.
// The request loop itself is the end-to-end tests' (harness/load.ts, shared with test/).

import { percentile, startLoad } from '../harness/load.ts';
import { round } from './child-time.ts';
import type { LoadMeasurement } from './results.ts';

export interface LoadSettings {
  /** Parallel request loops. */
  concurrency: number;
  /** Pause after each request in a loop; with loopback latencies of a few ms, 5 loops × 15 ms ≈ 250 requests/s. */
  pauseMs: number;
}

/** At least the 200 requests/s the app-change goal is stated at, on a busy 2-core machine too. */
export const DEFAULT_LOAD: LoadSettings = { concurrency: 5, pauseMs: 15 };

/** Runs `during` while `url` is under load, and returns both results. */
export async function underLoad<T>(
  url: string,
  settings: LoadSettings,
  during: () => Promise<T>,
): Promise<{ value: T; load: LoadMeasurement }> {
  const started = performance.now();
  const loop = startLoad(url, { ...settings, maxMs: 20 * 60_000 });
  // The loop is stopped before an error of `during` is rethrown: it must never outlive the step.
  const outcome = await during().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const traffic = await loop.stop();
  if (!outcome.ok) throw outcome.error;
  const durationS = (performance.now() - started) / 1000;
  return {
    value: outcome.value,
    load: {
      ...settings,
      durationS: round(durationS),
      requests: traffic.total,
      failed: traffic.failed,
      ratePerS: round(traffic.total / durationS, 1),
      p50Ms: round(percentile(traffic.latenciesMs, 50), 1),
      p99Ms: round(percentile(traffic.latenciesMs, 99), 1),
      maxMs: round(
        traffic.latenciesMs.reduce((max, ms) => Math.max(max, ms), 0),
        1,
      ),
      ...(traffic.firstFailureAtMs !== undefined && traffic.lastFailureAtMs !== undefined
        ? { failureSpanS: round((traffic.lastFailureAtMs - traffic.firstFailureAtMs) / 1000) }
        : {}),
      firstFailures: traffic.failures,
    },
  };
}
