// Formatting of log entries, in one place for every output mode.

import type { LogEvent, RunSummary, StageStatus } from './events.ts';

// eslint-disable-next-line no-control-regex -- ANSI escapes are control characters by definition
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  // Round once, then split: 119.6 s is 2m00s, not 1m60s.
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

export const STATUS_WORD: Record<StageStatus, string> = {
  ok: 'done',
  skipped: 'skipped',
  failed: 'FAILED',
  interrupted: 'interrupted',
  planned: 'would run',
};

/** One plain line per entry (CI and --json's stderr); undefined for entries plain mode hides. */
export function formatPlain(event: LogEvent, verbose: boolean): string | undefined {
  switch (event.kind) {
    case 'run-start':
      return `${event.dryRun ? 'dry run: ' : ''}${event.command} ${event.env} (target ${event.target}); logs in ${event.logDir}`;
    case 'stage-start':
      return `[${event.stage}] ${event.title}`;
    case 'stage-progress':
      return `[${event.stage}] ${event.text}`;
    case 'debug':
      return verbose ? `[${event.stage}] ${event.text}` : undefined;
    case 'tool-line':
      return verbose ? `[${event.stage}] ${event.tool}: ${event.line}` : undefined;
    case 'stage-end': {
      const reason = event.reason ? `: ${event.reason}` : '';
      return `[${event.stage}] ${STATUS_WORD[event.status]} in ${formatSeconds(event.seconds)}${reason}`;
    }
    case 'message':
      return formatMessage(event.level, event.text, event.details);
    case 'run-end':
      return undefined;
  }
}

export function formatMessage(level: 'info' | 'warn' | 'error', text: string, details: string[] = []): string {
  const prefix = level === 'info' ? '' : level === 'warn' ? 'warning: ' : 'error: ';
  return [`${prefix}${text}`, ...details.map((line) => `  ${line}`)].join('\n');
}

/** The closing table: one row per stage, then the URL or the error. */
export function formatSummaryTable(summary: RunSummary): string {
  const rows = summary.stages.map((stage) => [
    stage.name,
    STATUS_WORD[stage.status],
    formatSeconds(stage.seconds),
    stage.skipped_reason ?? stage.plan ?? '',
  ]);
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => (row[column] as string).length), 5));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column < 3 ? cell.padEnd(widths[column] as number) : cell))
      .join('  ')
      .trimEnd(),
  );
  const total = summary.stages.reduce((sum, stage) => sum + stage.seconds, 0);
  lines.push(`${'total'.padEnd(widths[0] as number)}  ${''.padEnd(widths[1] as number)}  ${formatSeconds(total)}`);
  return lines.join('\n');
}
