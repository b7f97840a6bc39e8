// Running the benchmark's steps: progress lines with the elapsed time, a heartbeat
// while a long step (a bake) runs, a time budget that skips what would not fit, and
// Ctrl-C turning into "skip the rest, clean up".

import type { PipelineResults } from './results.ts';

export interface StepRunner {
  say(text: string): void;
  /** True after SIGINT/SIGTERM: steps are skipped, clean-up still runs. */
  readonly interrupted: boolean;
  elapsedS(): number;
  /**
   * Runs `body` unless the budget or an interruption rules it out, in which case the
   * step is recorded as skipped in `results` and undefined is returned. A step that
   * throws is recorded too; the benchmark goes on with the next one.
   */
  step<T>(
    results: Pick<PipelineResults, 'skipped'>,
    label: string,
    estimateS: number,
    body: () => Promise<T>,
  ): Promise<T | undefined>;
  /** Stops listening for signals. */
  close(): void;
}

const HEARTBEAT_MS = 30_000;

export function createStepRunner(options: { budgetS: number; errors: string[] }): StepRunner {
  const startedAt = performance.now();
  let interrupted = false;
  const elapsedS = (): number => (performance.now() - startedAt) / 1000;
  const say = (text: string): void => {
    const seconds = Math.round(elapsedS());
    process.stderr.write(
      `[${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}] ${text}\n`,
    );
  };
  // The deploy child in the same process group gets the same Ctrl-C and stops itself;
  // we only stop starting new steps, so that the clean-up in `finally` still runs.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      say(`${signal} again: exiting without clean-up (run destroy.ts on the bench-* apps by hand)`);
      process.exit(130);
    }
    interrupted = true;
    say(`${signal}: skipping the remaining steps, then cleaning up (send it again to exit at once)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  return {
    say,
    get interrupted() {
      return interrupted;
    },
    elapsedS,
    async step(results, label, estimateS, body) {
      const skip = (reason: string): undefined => {
        results.skipped.push({ step: label, reason });
        say(`${label}: skipped (${reason})`);
        return undefined;
      };
      if (interrupted) return skip('interrupted');
      const leftS = options.budgetS - elapsedS();
      if (leftS < estimateS)
        return skip(`time budget: ${Math.round(leftS)} s left, the step needs about ${Math.round(estimateS)} s`);

      say(`${label} …`);
      const stepStarted = performance.now();
      const heartbeat = setInterval(
        () => say(`  ${label}: still running (${Math.round((performance.now() - stepStarted) / 1000)} s)`),
        HEARTBEAT_MS,
      );
      heartbeat.unref();
      try {
        return await body();
      } catch (error) {
        const message = `${label}: ${error instanceof Error ? error.message : String(error)}`;
        options.errors.push(message);
        say(`${label}: error: ${message}`);
        return undefined;
      } finally {
        clearInterval(heartbeat);
      }
    },
    close() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
