// Runner overhead from the stage logs. The process runner writes `# started <ISO>`
// before it spawns a tool and `# exited … at <ISO>` after the tool's output closed, so
// the logs of one run say exactly when a child process was running. Overhead is the
// wall time when none was: Node and tsx start-up, the runner's own work, and its waits
// between polls (sleeps, the in-process HTTP health poll).

import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { StageSummary } from '../pipeline/output/events.ts';
import type { StageTime, TimeBreakdown } from './results.ts';

const STARTED = /^# started (\d{4}-\d\d-\d\dT[\d:.]+Z)$/;
const EXITED = /^# exited .* at (\d{4}-\d\d-\d\dT[\d:.]+Z)$/;

interface Edge {
  atMs: number;
  /** +1 a child started, −1 one exited. */
  delta: 1 | -1;
}

/** The start and exit instants of every child process one stage log records. */
export function childEdges(log: string): Edge[] {
  const edges: Edge[] = [];
  for (const line of log.split('\n')) {
    const started = STARTED.exec(line);
    if (started) edges.push({ atMs: Date.parse(started[1] as string), delta: 1 });
    const exited = EXITED.exec(line);
    if (exited) edges.push({ atMs: Date.parse(exited[1] as string), delta: -1 });
  }
  return edges;
}

/**
 * Seconds during which at least one child ran. A sweep over start/exit edges rather than
 * a sum of durations, so tools that run concurrently are not counted twice.
 */
export function busySeconds(edges: readonly Edge[]): number {
  // At equal instants, exits first: back-to-back tools leave no gap and no overlap.
  const sorted = [...edges].sort((a, b) => a.atMs - b.atMs || a.delta - b.delta);
  let running = 0;
  let busySince = 0;
  let busyMs = 0;
  for (const edge of sorted) {
    if (edge.delta === 1) {
      if (running === 0) busySince = edge.atMs;
      running++;
    } else if (running > 0) {
      running--;
      if (running === 0) busyMs += edge.atMs - busySince;
    }
  }
  return busyMs / 1000;
}

/** Reads every `<stage>.log` of a run's log directory. */
export async function readStageLogs(logDir: string): Promise<Map<string, string>> {
  const logs = new Map<string, string>();
  for (const file of (await readdir(logDir)).filter((name) => name.endsWith('.log')).sort()) {
    logs.set(basename(file, '.log'), await readFile(join(logDir, file), 'utf8'));
  }
  return logs;
}

/** When the measured command was spawned and when it exited, in epoch ms. */
export interface CommandSpan {
  startedAtMs: number;
  endedAtMs: number;
}

/** Splits one command's wall time into child-process time and the runner's own time, per stage. */
export function breakDownTime(
  span: CommandSpan,
  stages: readonly StageSummary[],
  logs: ReadonlyMap<string, string>,
): TimeBreakdown {
  const wallS = (span.endedAtMs - span.startedAtMs) / 1000;
  const allEdges: Edge[] = [];
  const stageTimes: StageTime[] = stages.map((stage) => {
    const edges = childEdges(logs.get(stage.name) ?? '');
    allEdges.push(...edges);
    const childProcessS = busySeconds(edges);
    return {
      name: stage.name,
      seconds: stage.seconds,
      childProcessS: round(childProcessS),
      runnerS: round(Math.max(0, stage.seconds - childProcessS)),
      childProcessCount: edges.filter((edge) => edge.delta === 1).length,
    };
  });
  // Logs of stages missing from the summary (none expected) still count as child time.
  for (const [name, log] of logs) if (!stages.some((stage) => stage.name === name)) allEdges.push(...childEdges(log));
  const childProcessS = busySeconds(allEdges);
  const stageSeconds = stages.reduce((sum, stage) => sum + stage.seconds, 0);
  const instants = allEdges.map((edge) => edge.atMs);
  return {
    wallS: round(wallS),
    childProcessS: round(childProcessS),
    childProcessCount: allEdges.filter((edge) => edge.delta === 1).length,
    overheadS: round(wallS - childProcessS),
    outsideStagesS: round(Math.max(0, wallS - stageSeconds)),
    ...(instants.length > 0
      ? {
          untilFirstChildS: round((Math.min(...instants) - span.startedAtMs) / 1000),
          afterLastChildS: round((span.endedAtMs - Math.max(...instants)) / 1000),
        }
      : {}),
    stages: stageTimes,
  };
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
