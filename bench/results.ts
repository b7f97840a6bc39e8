// The shape of bench/results/<date>.json: every number the pipeline benchmark
// measures, for bakery and for the naive pipeline, plus the machine it ran on.

import type { StageSummary } from '../pipeline/output/events.ts';
import type { ServiceBenchResult } from './service.ts';

export const PIPELINES = ['bakery', 'naive'] as const;
export type PipelineName = (typeof PIPELINES)[number];

/** The measured commands, in the order the benchmark runs them. */
export type RunName = 'cold' | 'noop' | 'appChange' | 'destroy' | 'badRelease';

/** Where the wall time of one command went: child processes versus the runner itself. */
export interface TimeBreakdown {
  wallS: number;
  /** Time in which at least one child process (docker, packer, git…) was running. */
  childProcessS: number;
  childProcessCount: number;
  /** wallS − childProcessS: Node and tsx start-up, the runner's own work and its waits between polls. */
  overheadS: number;
  /** wallS − the sum of the stages' seconds: start-up, config, lock, summary. */
  outsideStagesS: number;
  /** From spawning the command to its first child process: Node, tsx, imports, config, lock. */
  untilFirstChildS?: number;
  /** From its last child process to its exit: summary, lock release, pending handles. */
  afterLastChildS?: number;
  stages: StageTime[];
}

export interface StageTime {
  name: string;
  seconds: number;
  childProcessS: number;
  /** seconds − childProcessS: in-process work and waits (sleeps between polls, the HTTP health poll). */
  runnerS: number;
  childProcessCount: number;
}

/** Where a bake's time went, from the timestamps of Packer's machine-readable output (1 s resolution). */
export interface BakeProfile {
  /** The whole `packer build`, from the process runner's start/exit lines. */
  packerS: number;
  /** From Packer's first line to Ansible's PLAY: starting the builder container. */
  beforeAnsibleS?: number;
  /** From PLAY to PLAY RECAP. */
  ansibleS?: number;
  /** From PLAY RECAP to Packer's last line: committing and importing the image. */
  afterAnsibleS?: number;
  /** The slowest Ansible tasks and handlers, slowest first. */
  slowestTasks: Array<{ task: string; seconds: number }>;
}

export interface RunMeasurement {
  run: RunName;
  /** Arguments after ENV, as passed to deploy.ts or destroy.ts. */
  args: string[];
  exitCode: number;
  ok: boolean;
  wallS: number;
  /** From the --json summary. */
  stages: StageSummary[];
  fingerprint?: string;
  image?: string;
  logDir?: string;
  /** The error the runner reported, or the last lines of stderr when it printed no summary. */
  error?: string;
  time?: TimeBreakdown;
  bake?: BakeProfile;
  /** Rollout: seconds from a new instance's container start to UP in HAProxy, per batch (canary, rest). */
  upAfterStartS?: number[];
  /** Rollout: the canary's verdict line ("passed: …", "failed: …"), when it ran. */
  canaryVerdict?: string;
  /** 1-minute load average when the command started: how busy the machine was. */
  loadAverageAtStart: number;
}

/** Steady loopback traffic through the load balancer while something happens. */
export interface LoadMeasurement {
  concurrency: number;
  pauseMs: number;
  durationS: number;
  requests: number;
  failed: number;
  ratePerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** From the first to the last failed request: how long users saw errors. */
  failureSpanS?: number;
  firstFailures: string[];
}

export interface RolloutUnderLoad {
  run: RunMeasurement;
  load: LoadMeasurement;
}

export interface SelfHealMeasurement {
  instance: string;
  /** A new main PID of the service was seen (systemd restarted it). */
  serviceRestartedS?: number;
  /** HAProxy first reported the server as anything but UP (a failed check). */
  lbNoticedS?: number;
  /** HAProxy reported the server UP again after that (or, if it never noticed, after the restart). */
  upAgainS?: number;
  healed: boolean;
  /** Mean time between two observations: the resolution of the times above. */
  pollIntervalMs: number;
  /** Every change of (main PID, HAProxy status), seconds after the kill. */
  timeline: Array<{ atS: number; pid: string; status: string; check: string }>;
  load: LoadMeasurement;
  error?: string;
}

export interface PipelineResults {
  /** The deploy flags that make this pipeline (empty for bakery's defaults). */
  deployFlags: string[];
  app: string;
  port: number;
  runs: Partial<Record<RunName, RunMeasurement>>;
  appChangeLoad?: LoadMeasurement;
  selfHeal?: SelfHealMeasurement;
  /** Steps not run, and why (a failed earlier step, the time budget, an interruption). */
  skipped: Array<{ step: string; reason: string }>;
}

export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  totalMemoryBytes: number;
  platform: string;
  node: string;
  docker?: string;
  /** 1-minute load average when the benchmark started: how noisy the machine was. */
  loadAverageAtStart: number;
}

export interface GoalRow {
  metric: string;
  bakery?: number;
  naive?: number;
  /** naive ÷ bakery, for metrics where a ratio means something. */
  ratio?: number;
  goal: string;
  /** undefined: a reported number without a goal, or not measured. */
  met?: boolean;
  /** The measured command whose stages explain this number. */
  run?: RunName;
}

export interface PipelineBenchResult {
  kind: 'pipeline';
  date: string;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: MachineFacts;
  /** Bare start-up of the runner: `deploy.ts --version`, to read the overhead against. */
  runnerStartupS?: number;
  pipelines: Record<PipelineName, PipelineResults>;
  service?: ServiceBenchResult;
  goals: GoalRow[];
  /** Docker resources labelled with a bench app after clean-up (should be none). */
  leftovers: string[];
  errors: string[];
}
