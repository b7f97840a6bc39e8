// What a run knows: the environment, the options, where state and logs live, and the
// stage-bound helpers targets use to run tools and report progress.

import { join } from 'node:path';
import type { RuntimeSettings } from './config/runtime-settings.ts';
import type { Config, Environment } from './config/schema.ts';
import type { Reporter } from './output/events.ts';
import type { ProcessRunner, ToolResult, ToolRun } from './process/runner.ts';
import type { HistoryStore } from './state/history.ts';

export type RolloutStrategy = 'rolling' | 'recreate';

/** --rebake: the app layer (or the one image); --rebake=all: the base layer too. */
export type Rebake = 'none' | 'app' | 'all';

export interface DeployOptions {
  rebake: Rebake;
  /** Deploy this already-baked image instead of baking (roll back, promote). */
  image?: string;
  /** Deploy the image of the N-th previous successful release (deploy.ts --rollback[=N]). */
  rollback?: number;
  strategy: RolloutStrategy;
  /** What the instances start with (service.env, secrets), resolved before anything started. */
  settings: RuntimeSettings;
}

export interface DestroyOptions {
  keepImages: boolean;
  /** Take the database's final backup before removing it (false: a preview's, unless --backup). */
  backupDatabase: boolean;
}

export interface RunContext {
  /** The user's project: the directory holding deploy.yaml and .deploy/ (bakery's own files come from BAKERY_ROOT). */
  root: string;
  config: Config;
  env: Environment;
  /** .deploy/ENV: terraform state, deployment record, logs. */
  stateDir: string;
  /** The environment's deploy history: .deploy/ENV/history.jsonl, and the shared copy in S3 when there is one. */
  history: HistoryStore;
  logDir: string;
  runner: ProcessRunner;
  reporter: Reporter;
  signal: AbortSignal;
  /** The runner's environment variables: the only way code reads them. */
  processEnv: NodeJS.ProcessEnv;
}

/** Stage-bound helpers: every tool run and message lands in the current stage's log. */
export interface StageIO {
  readonly stage: string;
  readonly signal: AbortSignal;
  run(spec: ToolRun): Promise<ToolResult>;
  progress(text: string): void;
  info(text: string, details?: string[]): void;
  warn(text: string, details?: string[]): void;
  /** Writes to the stage's log only. */
  note(text: string): void;
  /** Writes to the stage's log, and to the terminal with --verbose (poll attempts, retries). */
  debug(text: string): void;
}

export function stageIO(context: RunContext, stage: string): StageIO {
  const { runner, reporter } = context;
  return {
    stage,
    signal: context.signal,
    run: (spec) => runner.run(stage, spec),
    progress: (text) => reporter.emit({ kind: 'stage-progress', stage, text }),
    info: (text, details) => {
      runner.note(stage, text);
      reporter.emit({ kind: 'message', level: 'info', text, ...(details ? { details } : {}) });
    },
    warn: (text, details) => {
      runner.note(stage, `warning: ${text}`);
      reporter.emit({ kind: 'message', level: 'warn', text, ...(details ? { details } : {}) });
    },
    note: (text) => runner.note(stage, text),
    debug: (text) => {
      runner.note(stage, text);
      reporter.emit({ kind: 'debug', stage, text });
    },
  };
}

export function stateDirOf(root: string, envName: string): string {
  return join(root, '.deploy', envName);
}
