// Starting the docker client for container mode. This is the one place bakery runs a
// tool outside the process runner, on purpose: the process runner pipes output into a
// log and progress lines, while here docker must own the terminal itself (a TTY passed
// through to the container, raw mode for Ctrl-C, the inner run's own progress view), so
// stdio is inherited. Signals are still forwarded, and the exit code is preserved.

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import { PreflightError } from '../errors.ts';

export type ForwardedSignal = 'SIGINT' | 'SIGTERM';

export interface SpawnForwardingOptions {
  stdio: StdioOptions;
  /**
   * Own process group: a Ctrl-C on the terminal then reaches only bakery, which forwards
   * exactly one signal. Must be false when the child reads the terminal (docker -i), or
   * it would be stopped by SIGTTIN.
   */
  detached: boolean;
  /** Delivers a signal bakery received; the default sends it to the child. */
  forward?: (signal: ForwardedSignal, child: ChildProcess) => void;
  /** The child's whole environment (the host's, as handed to the command). */
  env: NodeJS.ProcessEnv;
}

/** Exit code as a shell reports it: the code, or 128 + the signal's number. */
export function exitCodeOfChild(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal ? constants.signals[signal] : undefined;
  return number === undefined ? 1 : 128 + number;
}

/** Runs `file args`, forwarding SIGINT/SIGTERM while it runs; resolves to its exit code. */
export function runForwardingSignals(
  file: string,
  args: readonly string[],
  options: SpawnForwardingOptions,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: options.stdio, detached: options.detached, env: options.env });
    const forward = options.forward ?? ((signal, target) => target.kill(signal));
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
      const handler = (): void => forward(signal, child);
      process.on(signal, handler);
      return [signal, handler] as const;
    });
    let settled = false;
    const done = (): boolean => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      const first = !settled;
      settled = true;
      return first;
    };
    // 'error' alone when it could not start; a failed kill() after the exit also lands here.
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (!done()) return;
      reject(
        error.code === 'ENOENT'
          ? new PreflightError(`${file} is not installed or not on PATH`, [
              'container mode needs Docker: install it, or run with the host tools: --no-container',
            ])
          : error,
      );
    });
    child.once('exit', (code, signal) => {
      if (!done()) return;
      resolve(exitCodeOfChild(code, signal));
    });
  });
}
