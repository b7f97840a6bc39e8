// Stages are data: a name, a title, run() and, for --dry-run, plan(). They run in order
// over one typed context: each stage returns what it produced, the runner merges that
// into the context the next stage sees, and the whole context comes back at the end.
// A stage skips itself from inside run() or plan() with task.skip('why'), and may still
// return what it found (the bake skips and returns the image it already has).
//
// --dry-run is read here and nowhere else: a stage that changes nothing (readOnly) runs
// for real, every other stage is asked for its plan() instead of run().

import type { StageIO } from '../context.ts';
import { InterruptedError, isBakeryError } from '../errors.ts';
import type { Reporter, StageSummary } from '../output/events.ts';

export interface StageTask {
  /** Tool runs, progress and messages, all landing in this stage's log. */
  readonly io: StageIO;
  /** Marks the stage skipped with the reason shown to the user; run() may still return results. */
  skip(reason: string): void;
}

export interface Stage<C extends object> {
  name: string;
  title: string;
  /** Changes nothing, so it runs for real under --dry-run too (preflight). */
  readOnly?: boolean;
  run(context: Readonly<C>, task: StageTask): Promise<Partial<C> | void>;
  /** What run() would do, for --dry-run. Without it the stage only says it would run. */
  plan?(context: Readonly<C>, task: StageTask): Promise<Planned<C>>;
}

export interface Planned<C> {
  /** One line: what run() would do. */
  text: string;
  /** Results later plans build on (the image a dry-run bake found). */
  produced?: Partial<C>;
}

export interface StageRunOptions {
  reporter: Reporter;
  dryRun: boolean;
  signal: AbortSignal;
  /** The stage-bound IO for a stage name. */
  ioFor(stage: string): StageIO;
}

export interface StagesResult<C> {
  /** The context after the last stage that ran: everything the stages produced. */
  context: C;
  summaries: StageSummary[];
  /** Set when a stage failed or the run was interrupted; later stages did not run. */
  error?: unknown;
}

/** Runs the stages in order; never throws: a failure comes back in `error`, with what ran before it. */
export async function runStages<C extends object>(
  stages: readonly Stage<C>[],
  initial: C,
  options: StageRunOptions,
): Promise<StagesResult<C>> {
  const { reporter } = options;
  const summaries: StageSummary[] = [];
  let context = initial;

  for (const stage of stages) {
    if (options.signal.aborted)
      return { context, summaries, error: new InterruptedError(`interrupted before ${stage.name}`) };
    const started = performance.now();
    let skipped: string | undefined;
    const task: StageTask = {
      io: options.ioFor(stage.name),
      skip: (reason) => {
        skipped = reason;
      },
    };
    const finish = (status: StageSummary['status'], reason?: string): void => {
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      const field = status === 'planned' ? 'plan' : 'skipped_reason';
      summaries.push({ name: stage.name, status, seconds, ...(reason ? { [field]: reason } : {}) });
      reporter.emit({
        kind: 'stage-end',
        stage: stage.name,
        title: stage.title,
        status,
        seconds,
        ...(reason ? { reason } : {}),
      });
    };

    reporter.emit({ kind: 'stage-start', stage: stage.name, title: stage.title });
    try {
      if (options.dryRun && !stage.readOnly) {
        const planned = stage.plan ? await stage.plan(context, task) : undefined;
        context = { ...context, ...planned?.produced };
        if (skipped !== undefined) finish('skipped', skipped);
        else finish('planned', planned?.text);
        continue;
      }
      const produced = await stage.run(context, task);
      context = { ...context, ...produced };
      if (skipped !== undefined) finish('skipped', skipped);
      else finish('ok');
    } catch (error) {
      const interrupted = error instanceof InterruptedError || (options.signal.aborted && !isBakeryError(error));
      finish(interrupted ? 'interrupted' : 'failed');
      return { context, summaries, error };
    }
  }
  return { context, summaries };
}

/** A result an earlier stage must have produced; its absence is a bug in the stage list. */
export function required<T>(value: T | undefined, what: string, producer: string): T {
  if (value === undefined) throw new Error(`internal: no ${what} (the ${producer} stage did not produce one)`);
  return value;
}
