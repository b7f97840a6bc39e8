// Ctrl-C and SIGTERM. The first signal is forwarded once to every running tool's
// process group so the tool can clean up (packer removes its builder, terraform
// releases its lock) and the pipeline stops starting new work; a second signal
// kills what is still running and says what may be left behind.

import type { ResultPromise } from 'execa';

export type ForwardedSignal = 'SIGINT' | 'SIGTERM';

interface TrackedChild {
  tool: string;
  pid: number;
  /** Cleanup work keeps running after the first signal. */
  cleanup: boolean;
}

export interface InterruptNotices {
  onFirst(signal: ForwardedSignal, running: string[]): void;
  onSecond(running: string[]): void;
}

export class Interrupts {
  private readonly controller = new AbortController();
  private readonly children = new Set<TrackedChild>();
  private received: ForwardedSignal | undefined;
  private forced = false;
  private readonly handlers: Array<[ForwardedSignal, () => void]> = [];

  constructor(private readonly notices?: InterruptNotices) {}

  /** Aborted on the first SIGINT/SIGTERM. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interrupted(): ForwardedSignal | undefined {
    return this.received;
  }

  get wasForced(): boolean {
    return this.forced;
  }

  install(): this {
    for (const name of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => this.receive(name);
      this.handlers.push([name, handler]);
      process.on(name, handler);
    }
    return this;
  }

  uninstall(): void {
    for (const [name, handler] of this.handlers) process.off(name, handler);
    this.handlers.length = 0;
  }

  /** Registers a started child (a process group leader); returns the function that forgets it. */
  track(tool: string, child: ResultPromise, options: { cleanup: boolean }): () => void {
    if (child.pid === undefined) return () => {};
    const entry: TrackedChild = { tool, pid: child.pid, cleanup: options.cleanup };
    this.children.add(entry);
    if (this.forced) killGroup(entry.pid, 'SIGKILL');
    return () => this.children.delete(entry);
  }

  /** What a signal does; public so tests can drive it without signalling the test runner. */
  receive(signal: ForwardedSignal): void {
    const running = [...this.children].map((child) => child.tool);
    if (this.received === undefined) {
      this.received = signal;
      this.controller.abort(new Error(`received ${signal}`));
      for (const child of this.children) if (!child.cleanup) killGroup(child.pid, signal);
      this.notices?.onFirst(signal, running);
      return;
    }
    if (this.forced) return;
    this.forced = true;
    for (const child of this.children) killGroup(child.pid, 'SIGKILL');
    this.notices?.onSecond(running);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group, so a tool's own children hear it too.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
