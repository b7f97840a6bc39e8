// Stages are data: a name, a title, an optional skip() that says why, a plan() for
// --dry-run, and run(). The runner times them and reports every transition.

import { InterruptedError, isBakeryError } from '../errors.ts';
import type { Reporter, StageSummary } from '../output/events.ts';

export interface Stage {
  name: string;
  title: string;
  /** A reason to skip ("image 3f9c… already baked"), or false to run. */
  skip?: () => string | false | Promise<string | false>;
  /** What run() would do, for --dry-run. Stages without it only say they would run. */
  plan?: () => string | Promise<string>;
  run: () => Promise<void>;
  /** Changes nothing, so it runs for real under --dry-run too (preflight). */
  readOnly?: boolean;
}

export interface StageRunOptions {
  reporter: Reporter;
  dryRun: boolean;
  /** Summaries are pushed here as stages finish, so a failure still reports the earlier ones. */
  summaries: StageSummary[];
  signal: AbortSignal;
}

export async function runStages(stages: readonly Stage[], options: StageRunOptions): Promise<void> {
  const { reporter, summaries } = options;
  for (const stage of stages) {
    if (options.signal.aborted) throw new InterruptedError(`interrupted before ${stage.name}`);
    const started = performance.now();
    const seconds = (): number => Math.round((performance.now() - started) / 100) / 10;
    const finish = (status: StageSummary['status'], reason?: string): void => {
      const field = status === 'planned' ? 'plan' : 'skipped_reason';
      const summary: StageSummary = { name: stage.name, status, seconds: seconds(), ...(reason ? { [field]: reason } : {}) };
      summaries.push(summary);
      reporter.emit({ kind: 'stage-end', stage: stage.name, title: stage.title, status, seconds: summary.seconds, ...(reason ? { reason } : {}) });
    };

    reporter.emit({ kind: 'stage-start', stage: stage.name, title: stage.title });
    try {
      const skip = stage.skip ? await stage.skip() : false;
      if (skip !== false) {
        finish('skipped', skip);
        continue;
      }
      if (options.dryRun && !stage.readOnly) {
        finish('planned', stage.plan ? await stage.plan() : undefined);
        continue;
      }
      await stage.run();
      finish('ok');
    } catch (error) {
      const interrupted = error instanceof InterruptedError || (options.signal.aborted && !isBakeryError(error));
      finish(interrupted ? 'interrupted' : 'failed');
      throw error;
    }
  }
}
