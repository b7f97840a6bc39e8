// Where a bake's seconds went, timed as it runs: preparing the inputs (staging, the
// archive, the wheelhouse), Packer until Ansible's play starts (the builder), each
// Ansible task, and Packer after the play (commit or AMI). The bake stage says it in
// one line, so a slow bake shows its slow part without opening the log.

const TASK_HEADER = /\b(?:TASK|RUNNING HANDLER) \[([^\]]+)\]/;
const PLAY_HEADER = /\bPLAY \[/;
const PLAY_RECAP = /\bPLAY RECAP\b/;
/** Packer escapes commas in machine-readable messages. */
const PACKER_COMMA = /%!\(PACKER_COMMA\)/g;

export interface BakeTiming {
  prepareS: number;
  /** Packer's start and the builder (container or instance), until Ansible's play. */
  builderS: number;
  ansibleS: number;
  /** After the play: commit and import (Docker), or the AMI. */
  finishS: number;
  totalS: number;
  /** Ansible tasks (and handlers), slowest first; one entry per task name. */
  tasks: Array<{ task: string; seconds: number }>;
}

export class BakeClock {
  private readonly started: number;
  private preparedAt: number | undefined;
  private playAt: number | undefined;
  private recapAt: number | undefined;
  private current: { task: string; at: number } | undefined;
  private readonly tasks = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {
    this.started = now();
  }

  /** The inputs are ready; Packer starts now. */
  prepared(): void {
    this.preparedAt = this.now();
  }

  /** One line of Packer's output, as it arrives. */
  line(raw: string): void {
    const text = raw.replace(PACKER_COMMA, ',');
    const task = TASK_HEADER.exec(text)?.[1];
    const recap = PLAY_RECAP.test(text);
    if (task === undefined && !recap && !PLAY_HEADER.test(text)) return;
    const at = this.now();
    this.closeTask(at);
    if (recap) this.recapAt = at;
    else if (task === undefined) this.playAt ??= at;
    else this.current = { task, at };
  }

  finish(): BakeTiming {
    const end = this.now();
    this.closeTask(this.recapAt ?? end);
    const prepared = this.preparedAt ?? this.started;
    const play = this.playAt ?? end;
    const recap = this.recapAt ?? end;
    const seconds = (ms: number): number => Math.round(ms / 100) / 10;
    return {
      prepareS: seconds(prepared - this.started),
      builderS: seconds(play - prepared),
      ansibleS: seconds(recap - play),
      finishS: seconds(end - recap),
      totalS: seconds(end - this.started),
      tasks: [...this.tasks]
        .map(([task, ms]) => ({ task, seconds: seconds(ms) }))
        .sort((a, b) => b.seconds - a.seconds),
    };
  }

  private closeTask(at: number): void {
    if (!this.current) return;
    this.tasks.set(this.current.task, (this.tasks.get(this.current.task) ?? 0) + at - this.current.at);
    this.current = undefined;
  }
}

/** "6.2 s: inputs 0.3, builder 1.1, Ansible 3.8 (14 tasks; slowest: app : Install … 0.9), commit 1.0". */
export function describeBakeTiming(timing: BakeTiming, slowest = 3): string {
  const top = timing.tasks
    .slice(0, slowest)
    .map((task) => `${task.task} ${task.seconds.toFixed(1)}`)
    .join(', ');
  const tasks = timing.tasks.length > 0 ? ` (${timing.tasks.length} tasks; slowest: ${top})` : '';
  return `${timing.totalS.toFixed(1)} s: inputs ${timing.prepareS.toFixed(1)}, builder ${timing.builderS.toFixed(1)}, Ansible ${timing.ansibleS.toFixed(1)}${tasks}, image ${timing.finishS.toFixed(1)}`;
}
