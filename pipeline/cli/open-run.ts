// The one way every command gets to work on an environment: a run context (process
// runner with its logs and redaction, the history, the interrupt signal) and the
// environment's target. deploy, destroy and status all open their run here; what they
// opened is closed through a Closing, last opened first, on every way out.

import type { RunContext } from '../context.ts';
import type { Reporter } from '../output/events.ts';
import type { Interrupts } from '../process/interrupts.ts';
import { Redactor } from '../process/redact.ts';
import { ProcessRunner } from '../process/runner.ts';
import type { HistoryStore } from '../state/history.ts';
import { createTarget } from '../targets/index.ts';
import type { AnyTarget } from '../targets/target.ts';
import type { Session, Streams } from './session.ts';

/** What a run opened, closed in reverse order; closing twice closes nothing twice. */
export class Closing {
  #steps: Array<() => Promise<void> | void> = [];

  add(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  async closeAll(): Promise<void> {
    const steps = this.#steps.reverse();
    this.#steps = [];
    for (const step of steps) await step();
  }
}

export interface RunPlace {
  /** The directory holding deploy.yaml and .deploy/. */
  root: string;
  stateDir: string;
  /** Where the tools' logs go: the run's log directory (status: a temporary one). */
  logDir: string;
  history: HistoryStore;
}

export interface RunWiring {
  interrupts: Interrupts;
  reporter: Reporter;
  streams: Streams;
  /** Values the logs must never show (resolved secrets). */
  redact?: readonly string[];
  /** Told which logs were cut short (a full disk) once the runner is closed. */
  onIncompleteLogs?(warnings: string[]): void;
}

export interface OpenRun {
  context: RunContext;
  target: AnyTarget;
}

/** The run's context and target; `closing` closes the process runner (and its logs). */
export async function openRun(
  session: Session,
  place: RunPlace,
  wiring: RunWiring,
  closing: Closing,
): Promise<OpenRun> {
  const { interrupts, reporter, streams } = wiring;
  const redactor = new Redactor(streams.env, [...(wiring.redact ?? [])]);
  const runner = new ProcessRunner({ logDir: place.logDir, reporter, redactor, interrupts });
  closing.add(async () => {
    const incomplete = await runner.close();
    if (incomplete.length > 0) wiring.onIncompleteLogs?.(incomplete);
  });
  const context: RunContext = {
    ...place,
    config: session.config,
    env: session.env,
    runner,
    reporter,
    signal: interrupts.signal,
    processEnv: streams.env,
  };
  return { context, target: await createTarget(context) };
}
