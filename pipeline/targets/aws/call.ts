// The one way bakery calls the AWS API. Every SDK call of the aws target goes through
// callAws, which
//   - retries what may pass by itself (throttling, 5xx, a dropped connection, an answer
//     that was not AWS's) with exponential backoff and full jitter, a bounded number of
//     times, saying so on the progress line and in the log (--verbose);
//   - turns the final failure into an AwsCallError naming the call, the resource, AWS's
//     code and message, with a hint (never the SDK's error and its stack);
//   - keeps an interruption an InterruptedError (exit 130), during a call or a pause.
// The SDK clients do not retry (clients.ts sets maxAttempts: 1): two layers of retries
// would multiply the attempts, and the SDK's are invisible.

import { setTimeout as sleep } from 'node:timers/promises';
import type { StageIO } from '../../context.ts';
import { InterruptedError } from '../../errors.ts';
import {
  AwsCallError,
  awsErrorInfo,
  describeAwsError,
  isThrottling,
  isTransient,
  type AwsCallSpec,
  type AwsErrorInfo,
} from './errors.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The pause before the second attempt can be up to this; it doubles with each attempt. */
  baseDelayMs: number;
  /** The same for throttling: AWS asked to slow down, so start slower. */
  throttledBaseDelayMs: number;
  /** No single pause is longer. */
  maxDelayMs: number;
}

/** The SDK's own standard-mode numbers (100 ms, 500 ms throttled, 20 s cap), with more attempts for long polls. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 8,
  baseDelayMs: 100,
  throttledBaseDelayMs: 500,
  maxDelayMs: 20_000,
};

/** The policy of a run: AWS_MAX_ATTEMPTS (the SDK's own variable) sets the attempts. */
export function retryPolicy(env: NodeJS.ProcessEnv): RetryPolicy {
  const attempts = Number.parseInt(env.AWS_MAX_ATTEMPTS ?? '', 10);
  return { ...DEFAULT_RETRY, attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : DEFAULT_RETRY.attempts };
}

/** Full jitter (a random pause up to the exponential bound) keeps many clients from retrying in step. */
export function backoffMs(
  policy: RetryPolicy,
  attempt: number,
  throttled: boolean,
  random: () => number = Math.random,
): number {
  const base = throttled ? policy.throttledBaseDelayMs : policy.baseDelayMs;
  const bound = Math.min(policy.maxDelayMs, base * 2 ** (attempt - 1));
  return Math.round(random() * bound);
}

export interface AwsCall extends AwsCallSpec {
  retry: RetryPolicy;
}

export type AwsCallIO = Pick<StageIO, 'signal' | 'debug' | 'progress'>;

/**
 * Runs `send` (one SDK call, given the signal to pass as abortSignal) until it answers,
 * fails in a way retrying cannot help, or runs out of attempts.
 */
export async function callAws<T>(io: AwsCallIO, call: AwsCall, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { retry } = call;
  for (let attempt = 1; ; attempt++) {
    if (io.signal.aborted) throw interrupted(call);
    try {
      return await send(io.signal);
    } catch (error) {
      if (io.signal.aborted || (error as { name?: string }).name === 'AbortError') throw interrupted(call);
      const info = awsErrorInfo(error);
      if (!isTransient(info) || attempt >= retry.attempts) throw new AwsCallError(call, info, attempt, error);
      await pause(io, call, info, attempt, error);
    }
  }
}

async function pause(io: AwsCallIO, call: AwsCall, info: AwsErrorInfo, attempt: number, error: unknown): Promise<void> {
  const delay = backoffMs(call.retry, attempt, isThrottling(info));
  const next = `retrying in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${call.retry.attempts})`;
  io.debug(`${call.call} for ${call.resource}: attempt ${attempt} failed: ${describeAwsError(error)}; ${next}`);
  io.progress(`${call.call}: ${info.code}, ${next}`);
  try {
    await sleep(delay, undefined, { signal: io.signal });
  } catch {
    throw interrupted(call);
  }
}

function interrupted(call: AwsCallSpec): InterruptedError {
  return new InterruptedError(`interrupted during ${call.call} for ${call.resource}`);
}
