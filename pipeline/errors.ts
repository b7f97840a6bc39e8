// Typed errors. Every error's class says whose fault it is, and the class alone decides
// the exit code: bad input is the caller's (2: InputError and its kinds), an environment
// that is not ready or a failed deployment is the system's (1), a deployment that
// succeeded with a stale record is 3, an interruption is the user's choice (130).

export const EXIT = {
  ok: 0,
  deployFailed: 1,
  badInput: 2,
  /** The new image serves, but .deploy/ENV/deployment.json could not be written: the record is stale. */
  recordStale: 3,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export abstract class BakeryError extends Error {
  abstract readonly exitCode: ExitCode;
  /** Extra lines shown under the message (hints, log excerpts). */
  readonly details: string[];

  constructor(message: string, details: string[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

/**
 * The user's input is wrong: a flag, deploy.yaml, or a value in it that only the world
 * can refute (the local port is taken by another program, the VPC does not exist). The
 * user fixes the input; nothing was started.
 */
export class InputError extends BakeryError {
  readonly exitCode = EXIT.badInput;
}

/** Bad flags or arguments on the command line. */
export class UsageError extends InputError {}

/** One problem in deploy.yaml, located by its field path. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** Where in the file the problem is (the value, or the mapping a missing key belongs in). */
  line?: number;
  column?: number;
}

function describeIssue(issue: ConfigIssue): string {
  const text = issue.path ? `${issue.path}: ${issue.message}` : issue.message;
  return issue.line === undefined ? text : `${text} (line ${issue.line}, column ${issue.column ?? 1})`;
}

/** deploy.yaml is missing, unparsable or invalid; carries every issue found. */
export class ConfigError extends InputError {
  readonly issues: ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[]) {
    const noun = issues.length === 1 ? 'problem' : 'problems';
    super(`${file}: ${issues.length} ${noun}`, issues.map(describeIssue));
    this.issues = issues;
  }
}

/**
 * The machine or the account is not ready, found before anything starts: a tool missing
 * or too old, the Docker engine down, AWS credentials expired. The input may be right;
 * the environment must be fixed first. (Wrong input found in preflight is an InputError.)
 */
export class PreflightError extends BakeryError {
  readonly exitCode = EXIT.deployFailed;
}

/** The deployment itself failed: a tool, a health check, a rollout. */
export class DeployError extends BakeryError {
  readonly exitCode = EXIT.deployFailed;
}

/** A file under .deploy/ could not be written (disk full, read-only, permissions). */
export class StateFileError extends DeployError {}

/**
 * The rollout succeeded and the new image serves, but the deployment record could not
 * be written: the deployment is fine, what .deploy/ says about it is not.
 */
export class RecordStaleError extends BakeryError {
  readonly exitCode = EXIT.recordStale;
}

/** Another run holds the environment's lock. */
export class LockError extends BakeryError {
  readonly exitCode = EXIT.deployFailed;
}

export interface ToolFailure {
  tool: string;
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  logPath: string;
  errorLines: string[];
}

/** An external tool exited non-zero or was killed by a signal. */
export class ToolError extends DeployError {
  readonly failure: ToolFailure;

  constructor(failure: ToolFailure, headline?: string) {
    const how = failure.signal
      ? `was killed by ${failure.signal}`
      : `exited with code ${failure.exitCode ?? 'unknown'}`;
    super(headline ?? `${failure.tool} ${how}`, [
      `command: ${failure.command}`,
      `log: ${failure.logPath}`,
      ...(failure.errorLines.length > 0 ? ['last error lines:', ...failure.errorLines.map((l) => `  ${l}`)] : []),
    ]);
    this.failure = failure;
  }
}

/** The user pressed Ctrl-C (or the process got SIGTERM). */
export class InterruptedError extends BakeryError {
  readonly exitCode = EXIT.interrupted;
}

export function isBakeryError(error: unknown): error is BakeryError {
  return error instanceof BakeryError;
}

/** Exit code for anything thrown: unknown errors are bugs and count as a failed deployment. */
export function exitCodeOf(error: unknown): ExitCode {
  return isBakeryError(error) ? error.exitCode : EXIT.deployFailed;
}
