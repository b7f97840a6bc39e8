// A steady request loop against the local load balancer, counting every failure:
// a non-2xx status or a connection error. Bounded in time; loopback only.

import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

export interface LoadResult {
  total: number;
  failed: number;
  /** The first few failures, for the assertion message. */
  failures: string[];
  latenciesMs: number[];
  /** Epoch ms of the first and the last failure, when there was one: how long an outage lasted. */
  firstFailureAtMs?: number;
  lastFailureAtMs?: number;
}

/** One request's outcome, for a caller that needs more than the totals (when the answers changed). */
export interface RequestOutcome {
  /** Epoch ms when the answer (or the error) came. */
  atMs: number;
  /** The HTTP status; undefined for a connection or response error. */
  status?: number;
  /** The error of a request that got no answer. */
  error?: string;
}

export interface LoadLoop {
  stop(): Promise<LoadResult>;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Starts `concurrency` loops, each sending a request every `pauseMs`, until stop() or maxMs. */
export function startLoad(
  url: string,
  options: {
    concurrency?: number;
    pauseMs?: number;
    maxMs?: number;
    onResponse?: (outcome: RequestOutcome) => void;
  } = {},
): LoadLoop {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`load only goes to loopback, not ${url}`);
  const agent = new Agent({ keepAliveTimeout: 4000, connections: options.concurrency ?? 4 });
  const result: LoadResult = { total: 0, failed: 0, failures: [], latenciesMs: [] };
  const until = Date.now() + (options.maxMs ?? 10 * 60_000);
  let running = true;
  const worker = async (): Promise<void> => {
    while (running && Date.now() < until) {
      const started = performance.now();
      try {
        let response;
        try {
          response = await request(url, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
          await response.body.dump();
        } catch (error) {
          options.onResponse?.({ atMs: Date.now(), error: (error as Error).message });
          throw error;
        }
        options.onResponse?.({ atMs: Date.now(), status: response.statusCode });
        if (response.statusCode < 200 || response.statusCode > 299) throw new Error(`HTTP ${response.statusCode}`);
      } catch (error) {
        result.failed++;
        result.firstFailureAtMs ??= Date.now();
        result.lastFailureAtMs = Date.now();
        if (result.failures.length < 10)
          result.failures.push(`${new Date().toISOString()} ${(error as Error).message}`);
      }
      result.total++;
      result.latenciesMs.push(performance.now() - started);
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  };
  const workers = Array.from({ length: options.concurrency ?? 4 }, () => worker());
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      await agent.close();
      return result;
    },
  };
}
