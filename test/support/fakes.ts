// Hand-written fakes shared by the unit tests: a reporter that records events and a
// text sink that records what was written.

import type { LogEvent, Reporter } from '../../pipeline/output/events.ts';
import type { TextSink } from '../../pipeline/output/reporters.ts';

/** Records every event; `closed` counts close() calls. */
export class RecordingReporter implements Reporter {
  readonly events: LogEvent[] = [];
  closed = 0;

  emit(event: LogEvent): void {
    this.events.push(event);
  }

  close(): void {
    this.closed++;
  }

  ofKind<K extends LogEvent['kind']>(kind: K): Array<Extract<LogEvent, { kind: K }>> {
    return this.events.filter((event): event is Extract<LogEvent, { kind: K }> => event.kind === kind);
  }
}

/** A stream stand-in that keeps everything written to it. */
export class StringSink implements TextSink {
  text = '';
  columns?: number;

  constructor(columns?: number) {
    if (columns !== undefined) this.columns = columns;
  }

  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** The error `run` throws, checked to be of `type`; fails the test when nothing is thrown. */
export function thrownBy<E extends Error>(type: new (...args: never[]) => E, run: () => unknown): E {
  try {
    run();
  } catch (error) {
    if (!(error instanceof type)) throw new Error(`expected a ${type.name}, got ${String(error)}`, { cause: error });
    return error;
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}
