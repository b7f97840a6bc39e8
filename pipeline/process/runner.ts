// The one way bakery runs an external tool. Output is streamed, redacted, into the
// stage's log file and turned into progress lines; signals are forwarded through
// Interrupts; a failure becomes a ToolError that names the tool, the exit code, the log
// file and only the lines that look like errors.

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { InterruptedError, PreflightError, ToolError } from '../errors.ts';
import type { Interrupts } from './interrupts.ts';
import type { Reporter } from '../output/events.ts';
import { stripAnsi } from '../output/format.ts';
import type { Redactor } from './redact.ts';

export interface ToolRun {
  /** Executable name, looked up on PATH. */
  tool: string;
  args: string[];
  cwd?: string;
  /** Added to (and overriding) the inherited environment. */
  env?: Record<string, string | undefined>;
  input?: string;
  /** Turns an output line into a progress line; undefined hides it. Default: every non-empty line. */
  progress?: (line: string) => string | undefined;
  /** Picks the lines worth showing when the tool fails. Default: error-looking lines. */
  errorLines?: (lines: readonly string[]) => string[];
  /** Exit codes that are not failures (for example 1 from `grep`). */
  okExitCodes?: number[];
  /** Keeps running after the first Ctrl-C: cleanup work that must finish. */
  cleanup?: boolean;
  /** No progress at all, neither the command nor its lines (frequent polls, lookups). */
  quiet?: boolean;
  /** Kill the tool after this long; the error says it timed out. */
  timeoutMs?: number;
}

export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ProcessRunnerOptions {
  logDir: string;
  reporter: Reporter;
  redactor: Redactor;
  interrupts: Interrupts;
}

const ERROR_LOOKING =
  /\b(error|errors|fail(ed|ure)?|fatal|denied|invalid|cannot|can't|unable|panic|exception|traceback|refused|not found|timed? ?out)\b/i;
const MAX_ERROR_LINES = 20;

/** The last lines that look like errors; when none do, the last few lines. */
export function pickErrorLines(lines: readonly string[], max = MAX_ERROR_LINES): string[] {
  const cleaned = lines.map((line) => stripAnsi(line).trimEnd()).filter((line) => line.trim() !== '');
  const errors = cleaned.filter((line) => ERROR_LOOKING.test(line));
  return (errors.length > 0 ? errors : cleaned).slice(-max);
}

/** Quotes an argv for display the way a shell would need it. */
export function formatCommand(tool: string, args: readonly string[]): string {
  return [tool, ...args]
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

export class ProcessRunner {
  private readonly logs = new Map<string, WriteStream>();
  /** Logs that stopped being written (disk full, permissions): path → why. */
  private readonly incomplete = new Map<string, string>();

  constructor(private readonly options: ProcessRunnerOptions) {
    // state/run-logs.ts made it already for a run; should it fail here, each log's
    // stream error says so rather than this constructor throwing a raw error.
    try {
      mkdirSync(options.logDir, { recursive: true });
    } catch {
      // Reported per log (see log()).
    }
  }

  logPath(stage: string): string {
    return join(this.options.logDir, `${stage}.log`);
  }

  /** Appends a line to the stage's log (redacted), for facts the runner learns itself. */
  note(stage: string, text: string): void {
    this.log(stage).write(`# ${this.options.redactor.redact(text)}\n`);
  }

  async run(stage: string, spec: ToolRun): Promise<ToolResult> {
    const { interrupts, redactor, reporter } = this.options;
    const command = redactor.redact(formatCommand(spec.tool, spec.args));
    if (interrupts.interrupted && !spec.cleanup) throw new InterruptedError(`interrupted before ${spec.tool} started`);

    const log = this.log(stage);
    log.write(`\n$ ${command}\n# started ${new Date().toISOString()}\n`);
    if (!spec.quiet) reporter.emit({ kind: 'stage-progress', stage, text: `running ${truncateCommand(command)}` });

    const child = execa(spec.tool, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      extendEnv: true,
      // Its own process group: Ctrl-C on the terminal reaches only us, and we decide
      // to forward exactly one signal (see Interrupts).
      detached: true,
      stdin: spec.input === undefined ? 'ignore' : 'pipe',
      input: spec.input,
      buffer: false,
      reject: false,
      stripFinalNewline: false,
      cleanup: true,
    });
    const forget = interrupts.track(spec.tool, child, { cleanup: spec.cleanup ?? false });
    // The timeout signals the whole process group, not only the tool: a child the tool
    // started keeps stdout open, so killing the tool alone would not end the run.
    let timedOut = false;
    const timers: NodeJS.Timeout[] = [];
    if (spec.timeoutMs && child.pid !== undefined) {
      const pid = child.pid;
      timers.push(
        setTimeout(() => {
          timedOut = true;
          signalGroup(pid, 'SIGTERM');
          timers.push(setTimeout(() => signalGroup(pid, 'SIGKILL'), FORCE_KILL_AFTER_MS));
        }, spec.timeoutMs),
      );
    }

    const stdout: string[] = [];
    const stderr: string[] = [];
    const all: string[] = [];
    const consume = (
      stream: NodeJS.ReadableStream | null,
      name: 'stdout' | 'stderr',
      sink: string[],
    ): Promise<void> => {
      if (!stream) return Promise.resolve();
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (raw) => {
        const line = redactor.redact(raw);
        sink.push(line);
        all.push(line);
        log.write(name === 'stderr' ? `! ${line}\n` : `${line}\n`);
        reporter.emit({ kind: 'tool-line', stage, tool: spec.tool, stream: name, line });
        const progress = spec.quiet ? undefined : spec.progress ? spec.progress(line) : defaultProgress(line);
        if (progress !== undefined) reporter.emit({ kind: 'stage-progress', stage, text: progress });
      });
      return new Promise((resolve) => lines.once('close', () => resolve()));
    };
    const [result] = await Promise.all([
      child,
      consume(child.stdout, 'stdout', stdout),
      consume(child.stderr, 'stderr', stderr),
    ]);
    for (const timer of timers) clearTimeout(timer);
    forget();

    const exitCode = result.exitCode;
    const signal = result.signal;
    log.write(`# exited ${signal ? `by ${signal}` : `with ${exitCode ?? 'unknown'}`} at ${new Date().toISOString()}\n`);

    if (result.failed && (result as { code?: string }).code === 'ENOENT') {
      throw new PreflightError(`${spec.tool} is not installed or not on PATH`, [
        `command: ${command}`,
        `install ${spec.tool} (scripts/setup.sh installs every tool bakery needs)`,
      ]);
    }
    // Cleanup work survives the first signal, not a forced stop (the second one).
    if (interrupts.interrupted && (!spec.cleanup || interrupts.wasForced)) {
      throw new InterruptedError(`${spec.tool} was interrupted (${interrupts.interrupted})`, [
        `log: ${this.logPath(stage)}`,
      ]);
    }
    const ok = exitCode !== undefined && (exitCode === 0 || (spec.okExitCodes ?? []).includes(exitCode));
    if (!ok || signal || timedOut) {
      const picked = (spec.errorLines ?? pickErrorLines)(all).map((line) => stripAnsi(line));
      throw new ToolError({
        tool: spec.tool,
        command,
        exitCode,
        signal: timedOut ? `timeout after ${spec.timeoutMs} ms (SIGTERM)` : signal,
        logPath: this.logPath(stage),
        errorLines: picked.slice(-MAX_ERROR_LINES),
      });
    }
    return { exitCode: exitCode ?? 0, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
  }

  /**
   * Flushes and closes every log; returns one line per log that could not be written in
   * full, so the run's summary says so instead of leaving a log silently cut off.
   */
  async close(): Promise<string[]> {
    await Promise.all(
      [...this.logs.values()].map(
        (stream) =>
          new Promise<void>((resolve) => {
            // 'close' comes after 'finish' or after 'error' (a write that failed at the end).
            if (stream.closed) return resolve();
            stream.once('close', () => resolve());
            stream.end();
          }),
      ),
    );
    this.logs.clear();
    return [...this.incomplete].map(([path, why]) => `log ${path} is incomplete: ${why}`);
  }

  private log(stage: string): WriteStream {
    let stream = this.logs.get(stage);
    if (!stream) {
      stream = createWriteStream(this.logPath(stage), { flags: 'a', mode: 0o600 });
      // A log that cannot be written (disk full) must not crash the deploy it records;
      // the run's summary says which log is incomplete (close()).
      const path = this.logPath(stage);
      stream.on('error', (error: NodeJS.ErrnoException) => {
        if (this.incomplete.has(path)) return;
        const why = error.code === 'ENOSPC' ? 'the disk is full (ENOSPC)' : error.message;
        this.incomplete.set(path, why);
        this.options.reporter.emit({ kind: 'message', level: 'warn', text: `cannot write ${path}: ${why}` });
      });
      this.logs.set(stage, stream);
    }
    return stream;
  }
}

const FORCE_KILL_AFTER_MS = 5000;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function defaultProgress(line: string): string | undefined {
  const text = stripAnsi(line).trim();
  return text === '' ? undefined : text;
}

function truncateCommand(command: string): string {
  return command.length > 80 ? `${command.slice(0, 79)}…` : command;
}
