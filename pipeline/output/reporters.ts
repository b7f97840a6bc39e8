// The three outputs: a live TTY view, plain timestamped lines for CI and logs, and a
// JSON summary on stdout for machines (with plain lines on stderr).

import { isCi } from '../ci.ts';
import type { LogEvent, Reporter } from './events.ts';
import { formatMessage, formatPlain, formatSeconds, formatSummaryTable, stripAnsi, truncate } from './format.ts';

export type OutputMode = 'tty' | 'plain' | 'json';

/** Just what a reporter needs of a stream, so tests can pass a string sink. */
export interface TextSink {
  write(text: string): unknown;
  columns?: number;
}

export interface ReporterOptions {
  mode: OutputMode;
  /** Where human output goes (stderr: stdout is kept for the URL or the JSON summary). */
  err: TextSink;
  out: TextSink;
  verbose: boolean;
  now?: () => Date;
}

/** TTY when stderr is one and we are not in CI; plain otherwise; json when asked. */
export function chooseOutputMode(options: { json: boolean; isTTY: boolean; env: NodeJS.ProcessEnv }): OutputMode {
  if (options.json) return 'json';
  return options.isTTY && !isCi(options.env) ? 'tty' : 'plain';
}

export function createReporter(options: ReporterOptions): Reporter {
  switch (options.mode) {
    case 'tty':
      return new TtyReporter(options);
    case 'plain':
      return new PlainReporter(options);
    case 'json':
      return new JsonReporter(options);
  }
}

class PlainReporter implements Reporter {
  // Polls repeat the same progress line many times a second; a log wants it once.
  private lastProgress = '';

  constructor(protected readonly options: ReporterOptions) {}

  emit(event: LogEvent): void {
    if (event.kind === 'stage-progress') {
      const key = `${event.stage}\u0000${event.text}`;
      if (key === this.lastProgress) return;
      this.lastProgress = key;
    }
    const text = formatPlain(event, this.options.verbose);
    if (text === undefined) return;
    const stamp = (this.options.now?.() ?? new Date()).toISOString().slice(11, 19);
    for (const line of text.split('\n')) this.options.err.write(`${stamp} ${line}\n`);
  }

  close(): void {}
}

class JsonReporter extends PlainReporter {
  override emit(event: LogEvent): void {
    if (event.kind === 'run-end') {
      this.options.out.write(`${JSON.stringify(event.summary)}\n`);
      return;
    }
    super.emit(event);
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARK: Record<string, string> = { ok: '✔', skipped: '↷', failed: '✖', interrupted: '■', planned: '○' };

class TtyReporter implements Reporter {
  private live: { stage: string; title: string; started: number; text: string } | undefined;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReporterOptions) {}

  emit(event: LogEvent): void {
    switch (event.kind) {
      case 'run-start':
        this.print(formatPlain(event, false) ?? '');
        return;
      case 'stage-start':
        this.live = { stage: event.stage, title: event.title, started: Date.now(), text: '' };
        this.timer ??= setInterval(() => this.render(), 100);
        this.timer.unref();
        this.render();
        return;
      case 'stage-progress':
        if (this.live?.stage === event.stage) this.live.text = stripAnsi(event.text);
        return;
      case 'tool-line':
        if (this.options.verbose) this.print(`  ${event.tool}: ${stripAnsi(event.line)}`);
        return;
      case 'debug':
        if (this.options.verbose) this.print(`  ${event.text}`);
        return;
      case 'stage-end': {
        this.live = undefined;
        const reason = event.reason ? `  ${event.reason}` : '';
        this.print(
          `${MARK[event.status] ?? ' '} ${event.title.padEnd(28)} ${formatSeconds(event.seconds).padStart(7)}${reason}`,
        );
        return;
      }
      case 'message':
        this.print(formatMessage(event.level, event.text, event.details));
        return;
      case 'run-end':
        this.close();
        if (event.summary.stages.length > 0) this.print(`\n${formatSummaryTable(event.summary)}`);
        return;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLine();
  }

  private print(text: string): void {
    this.clearLine();
    this.options.err.write(`${text}\n`);
    this.render();
  }

  private clearLine(): void {
    this.options.err.write('\r\x1b[2K');
  }

  private render(): void {
    if (!this.live) return;
    this.frame = (this.frame + 1) % SPINNER.length;
    const elapsed = formatSeconds((Date.now() - this.live.started) / 1000);
    const head = `${SPINNER[this.frame]} ${this.live.title.padEnd(28)} ${elapsed.padStart(7)}`;
    const width = this.options.err.columns ?? 100;
    const line = this.live.text ? `${head}  ${this.live.text}` : head;
    this.options.err.write(`\r\x1b[2K${truncate(line, width - 1)}`);
  }
}
