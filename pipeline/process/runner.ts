// The one way bakery runs an external tool. Commands arrive as data (command.ts) and run
// in one of three modes:
// - ProcessRunner.run (every stage's tools): output is streamed, redacted, into the
//   stage's log file and turned into progress lines; signals are forwarded through
//   Interrupts; a failure becomes a ToolError that names the tool, the exit code, the log
//   file and only the lines that look like errors.
// - runAttached (the re-exec into the tooling container): stdio is inherited so the
//   inner run owns the terminal; signals are forwarded and the exit code passed through.
// - runCaptured (probes before any stage or log exists: tool versions, the KVM boot
//   check): output is returned, with a deadline and an early stop, never shown.

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { Command } from './command.ts';
import { InterruptedError, PreflightError, ToolError } from '../errors.ts';
import type { Interrupts } from './interrupts.ts';
import type { Reporter } from '../output/events.ts';
import { stripAnsi } from '../output/format.ts';
import type { Redactor } from './redact.ts';

export interface ToolRun extends Command {
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

export type ForwardedSignal = 'SIGINT' | 'SIGTERM';

export interface AttachedRun extends Command {
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
  /** What to tell the user when the tool is not installed. */
  missingHint: string;
}

/** Exit code as a shell reports it: the code, or 128 + the signal's number. */
export function exitCodeOfChild(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal ? constants.signals[signal] : undefined;
  return number === undefined ? 1 : 128 + number;
}

/**
 * Attached mode: runs the command on the terminal's own streams, forwarding SIGINT and
 * SIGTERM while it runs; resolves to its exit code. Nothing is logged or redacted here
 * because nothing is read: the child writes straight to the terminal, and the inner run
 * it starts keeps its own (redacted) logs.
 */
export function runAttached(spec: AttachedRun): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.tool, spec.args, { stdio: spec.stdio, detached: spec.detached, env: spec.env });
    const forward = spec.forward ?? ((signal, target) => target.kill(signal));
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
          ? new PreflightError(`${spec.tool} is not installed or not on PATH`, [spec.missingHint])
          : error,
      );
    });
    child.once('exit', (code, signal) => {
      if (!done()) return;
      resolve(exitCodeOfChild(code, signal));
    });
  });
}

export interface CapturedRun extends Command {
  /** The child's whole environment; the default is bakery's own. */
  env?: NodeJS.ProcessEnv;
  /** Kill the tool (SIGKILL) after this long; the result says so. */
  timeoutMs?: number;
  /** Stops the tool (SIGKILL) as soon as the output so far satisfies it. */
  until?: (output: string) => boolean;
  /** How output bytes become text; latin1 for a serial console's raw bytes. */
  encoding?: BufferEncoding;
}

export interface Captured {
  /** False when the tool could not be started (not installed, not executable). */
  started: boolean;
  /** Why it could not start (ENOENT, EACCES…). */
  startError?: string;
  exitCode: number | undefined;
  /** stdout and stderr, interleaved as they arrived. */
  output: string;
  stdout: string;
  stderr: string;
  /** Set when bakery stopped it: the deadline passed, or `until` was satisfied. */
  stopped?: 'timeout' | 'until';
  seconds: number;
}

/**
 * Captured mode: runs the command with its output collected and returned, for probes
 * that must work before a run's logs exist. Never rejects: a tool that cannot start or
 * fails is described in the result, for the caller to judge.
 */
export function runCaptured(spec: CapturedRun): Promise<Captured> {
  const started = performance.now();
  return new Promise((resolve) => {
    // Its own process group, killed whole: a child it started (sh's sleep, nice's qemu)
    // would otherwise keep the pipes open, and the run, until it ended by itself.
    const child = spawn(spec.tool, spec.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: spec.env ?? process.env,
      detached: true,
    });
    let output = '';
    let stdout = '';
    let stderr = '';
    let stopped: Captured['stopped'];
    let settled = false;
    const stop = (why: 'timeout' | 'until'): void => {
      stopped ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL'); // the group is gone already: at most the leader is left
      }
    };
    const timer = spec.timeoutMs === undefined ? undefined : setTimeout(() => stop('timeout'), spec.timeoutMs);
    const take = (chunk: Buffer, stream: 'stdout' | 'stderr'): void => {
      const text = chunk.toString(spec.encoding ?? 'utf8');
      output += text;
      if (stream === 'stdout') stdout += text;
      else stderr += text;
      if (stopped === undefined && spec.until?.(output)) stop('until');
    };
    child.stdout.on('data', (chunk: Buffer) => take(chunk, 'stdout'));
    child.stderr.on('data', (chunk: Buffer) => take(chunk, 'stderr'));
    const finish = (result: Pick<Captured, 'started' | 'exitCode'> & { startError?: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        ...result,
        output,
        stdout,
        stderr,
        ...(stopped ? { stopped } : {}),
        seconds: (performance.now() - started) / 1000,
      });
    };
    child.once('error', (error: NodeJS.ErrnoException) =>
      finish({ started: false, startError: error.code ?? error.message, exitCode: undefined }),
    );
    child.once('close', (code, signal) => finish({ started: true, exitCode: exitCodeOfChild(code, signal) }));
  });
}
