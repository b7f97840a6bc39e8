// The one polling loop: ask until the answer is "done", the deadline passes or the run
// is interrupted. Every wait in bakery (health, load balancer, instance refresh, target
// health) is this loop with its own attempt(); each attempt is logged, and shown with
// --verbose, so a slow wait can always be followed.

import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError } from '../errors.ts';

/** What one attempt found: done with a value, or not yet, with a status for the progress line. */
export type Attempt<T> = { done: true; value: T } | { done: false; status: string };

export interface PollOptions<T> {
  /** What is waited for, as a noun phrase ("the instance refresh"). */
  what: string;
  /** How long to wait from now; or `deadline`, an absolute Date.now() value. */
  deadlineMs?: number;
  deadline?: number;
  /** Pause between attempts; a function may shorten it once answers look good. */
  intervalMs: number | ((last: Attempt<T>) => number);
  attempt: (count: number) => Promise<Attempt<T>>;
  /** Called with each attempt's status (the stage's progress line). */
  onStatus?: (status: string) => void;
}

export type PollResult<T> =
  { done: true; value: T; attempts: number } | { done: false; status: string; attempts: number };

/** What polling needs of a stage: its signal and a debug channel. */
export interface PollIO {
  readonly signal: AbortSignal;
  debug(text: string): void;
}

export async function pollUntil<T>(io: PollIO, options: PollOptions<T>): Promise<PollResult<T>> {
  const deadline = options.deadline ?? Date.now() + (options.deadlineMs ?? 0);
  let attempts = 0;
  let status: string;
  do {
    if (io.signal.aborted) throw new InterruptedError(`interrupted while waiting for ${options.what}`);
    attempts += 1;
    const result = await options.attempt(attempts);
    if (result.done) {
      io.debug(`${options.what}: attempt ${attempts}: done`);
      return { done: true, value: result.value, attempts };
    }
    status = result.status;
    io.debug(`${options.what}: attempt ${attempts}: ${status}`);
    options.onStatus?.(status);
    const pause = typeof options.intervalMs === 'function' ? options.intervalMs(result) : options.intervalMs;
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(pause, left), undefined, { signal: io.signal }).catch(() => {});
  } while (Date.now() < deadline);
  if (io.signal.aborted) throw new InterruptedError(`interrupted while waiting for ${options.what}`);
  return { done: false, status, attempts };
}
