// Everything the runner tells a person or a machine is one of these typed entries.
// The TTY, CI and --json outputs are all formatted from the same stream.

export type StageStatus = 'ok' | 'skipped' | 'failed' | 'interrupted' | 'planned';

export interface StageSummary {
  name: string;
  status: StageStatus;
  seconds: number;
  skipped_reason?: string;
  /** What the stage would do (--dry-run). */
  plan?: string;
}

/** The machine summary printed by --json: stable field names, snake_case like the config. */
export interface RunSummary {
  command: 'deploy' | 'destroy';
  env: string;
  target: string;
  image?: string;
  fingerprint?: string;
  /** The base layer the image was baked on, when the target bakes in layers. */
  base_layer?: string;
  url?: string;
  /** deploy: the images retention removed (prune), when it removed any. */
  pruned?: string[];
  /** deploy: builders an earlier, killed run had left behind and this one removed (bake-base). */
  removed_builders?: string[];
  stages: StageSummary[];
  ok: boolean;
  exit_code: number;
  error?: { message: string; details: string[] };
  log_dir?: string;
  /** Problems that did not fail the run but leave something incomplete (a log cut off by a full disk). */
  warnings?: string[];
}

export type LogEvent =
  | { kind: 'run-start'; command: RunSummary['command']; env: string; target: string; logDir: string; dryRun: boolean }
  | { kind: 'stage-start'; stage: string; title: string }
  | { kind: 'stage-progress'; stage: string; text: string }
  /** Detail for --verbose only: each poll attempt, each retried AWS call. */
  | { kind: 'debug'; stage: string; text: string }
  | { kind: 'tool-line'; stage: string; tool: string; stream: 'stdout' | 'stderr'; line: string }
  | { kind: 'stage-end'; stage: string; title: string; status: StageStatus; seconds: number; reason?: string }
  | { kind: 'message'; level: 'info' | 'warn' | 'error'; text: string; details?: string[] }
  | { kind: 'run-end'; summary: RunSummary };

export interface Reporter {
  emit(event: LogEvent): void;
  /** Stops timers, restores the cursor. Safe to call twice. */
  close(): void;
}
