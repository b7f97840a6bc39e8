// The HTTP half of the verify stage, shared by every target: poll the URL's health path
// through the load balancer until it answers 200 enough times in a row.

import { request, type Dispatcher } from 'undici';
import { DeployError } from '../errors.ts';
import { pollUntil } from '../process/poll.ts';

export interface HttpHealthOptions {
  /** Full URL of the health endpoint. */
  url: string;
  /** 200s in a row that count as healthy. */
  healthyThreshold: number;
  intervalMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Overall deadline, from the first request. */
  deadlineMs: number;
  signal: AbortSignal;
  onAttempt?: (attempt: HealthAttempt) => void;
  /** Extra lines for the timeout error (target health reasons, instance logs). */
  explainTimeout?: () => Promise<string[]>;
  /** Where each attempt is logged (the stage's debug channel). */
  debug?: (text: string) => void;
  /** Connection settings (the aws target checks TLS against the certificate, not the ALB's name). */
  dispatcher?: Dispatcher;
}

export interface HealthAttempt {
  ok: boolean;
  /** "200", "503", or an error code such as ECONNREFUSED. */
  result: string;
  streak: number;
}

// undici.request never follows redirects, so a redirect counts as not healthy.
export async function probeOnce(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
  dispatcher?: Dispatcher,
): Promise<string> {
  try {
    const response = await request(url, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(signal ? { signal } : {}),
      ...(dispatcher ? { dispatcher } : {}),
    });
    await response.body.dump();
    return String(response.statusCode);
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code ?? (error instanceof Error ? error.message : String(error));
  }
}

export async function waitForHttpHealthy(options: HttpHealthOptions): Promise<void> {
  let streak = 0;
  const io = { signal: options.signal, debug: options.debug ?? (() => {}) };
  const result = await pollUntil(io, {
    what: `GET ${options.url}`,
    deadlineMs: options.deadlineMs,
    // Back to back once healthy answers start; otherwise at the health interval.
    intervalMs: () => (streak > 0 ? Math.min(options.intervalMs, 250) : options.intervalMs),
    attempt: async () => {
      const answer = await probeOnce(options.url, options.timeoutMs, options.signal, options.dispatcher);
      const ok = answer === '200';
      streak = ok ? streak + 1 : 0;
      options.onAttempt?.({ ok, result: answer, streak });
      return streak >= options.healthyThreshold ? { done: true, value: undefined } : { done: false, status: answer };
    },
  });
  if (result.done) return;
  const explanation = options.explainTimeout ? await options.explainTimeout() : [];
  throw new DeployError(
    `${options.url} did not answer 200 ${options.healthyThreshold} times in a row within ${Math.round(options.deadlineMs / 1000)} s (last result: ${result.status})`,
    explanation,
  );
}
