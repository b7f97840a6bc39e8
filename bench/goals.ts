// The goals of issue 8, tightened by the layered bake's (issue 15: no-op ≤ 1 s) and by
// issue 32's (cold ≤ 45 s; an app change live in ≤ 15 s with the canary on, ≤ 8 s of it
// baking, 0 failed requests at ≥ 200 requests/s), evaluated against one benchmark run.
// A benchmark reports: a missed goal is a row marked "no", never a failed command.

import type { ServiceBenchResult } from './service.ts';
import type { GoalRow, PipelineName, PipelineResults, RunName } from './results.ts';

type Results = Record<PipelineName, PipelineResults>;
type Pick = (pipeline: PipelineResults) => number | undefined;

interface GoalSpec {
  metric: string;
  pick: Pick;
  goal: string;
  /** No isMet: reported without a goal. isMet returning undefined: not decidable (no naive number). */
  isMet?: (bakery: number, ratio: number | undefined) => boolean | undefined;
  /** Whether naive ÷ bakery is worth showing (times and latencies; not counts). */
  ratio: boolean;
  /** The command whose stages explain the number. */
  run?: RunName;
}

/** Seconds spent baking in one run: both layers, the ones that ran (a skipped stage counts 0). */
const bakeSeconds =
  (run: RunName): Pick =>
  (pipeline) => {
    const measured = pipeline.runs[run];
    if (!measured?.ok) return undefined;
    const bakes = measured.stages.filter((stage) => stage.name.startsWith('bake') && stage.status !== 'skipped');
    return Math.round(bakes.reduce((sum, stage) => sum + stage.seconds, 0) * 10) / 10;
  };

const wall =
  (run: RunName): Pick =>
  (pipeline) =>
    pipeline.runs[run]?.ok ? pipeline.runs[run]?.wallS : undefined;

export const GOALS: GoalSpec[] = [
  { metric: 'cold deploy (s)', pick: wall('cold'), goal: '≤ 45 s', isMet: (b) => b <= 45, ratio: true, run: 'cold' },
  {
    metric: 'no-op redeploy (s)',
    pick: wall('noop'),
    goal: '≤ 1 s and ≥ 10× faster than naive',
    isMet: (b, ratio) => (ratio === undefined ? undefined : b <= 1 && ratio >= 10),
    ratio: true,
    run: 'noop',
  },
  {
    metric: 'app-change redeploy, canary on (s)',
    pick: wall('appChange'),
    goal: '≤ 15 s',
    isMet: (b) => b <= 15,
    ratio: true,
    run: 'appChange',
  },
  {
    metric: 'bake during app-change redeploy, both layers (s)',
    pick: bakeSeconds('appChange'),
    goal: '≤ 8 s',
    isMet: (b) => b <= 8,
    ratio: true,
    run: 'appChange',
  },
  {
    metric: 'new instance started → UP in HAProxy, app-change redeploy (s, slowest batch)',
    pick: (p) => {
      const times = p.runs.appChange?.upAfterStartS;
      return times && times.length > 0 ? Math.max(...times) : undefined;
    },
    goal: '— (reported)',
    ratio: true,
    run: 'appChange',
  },
  {
    metric: 'failed requests during app-change redeploy',
    pick: (p) => p.appChangeLoad?.failed,
    goal: '0 (rolling)',
    isMet: (b) => b === 0,
    ratio: false,
  },
  {
    metric: 'p99 latency during app-change redeploy (ms)',
    pick: (p) => p.appChangeLoad?.p99Ms,
    goal: '— (reported)',
    ratio: true,
  },
  {
    metric: 'load during app-change redeploy (req/s)',
    pick: (p) => p.appChangeLoad?.ratePerS,
    goal: '≥ 200 (method)',
    isMet: (b) => b >= 200,
    ratio: false,
  },
  {
    metric: 'self-heal: kill → UP again (s)',
    pick: (p) => (p.selfHeal?.healed ? p.selfHeal.upAgainS : undefined),
    goal: '≤ 10 s',
    isMet: (b) => b <= 10,
    ratio: true,
  },
  {
    metric: 'failed requests during self-heal',
    pick: (p) => p.selfHeal?.load.failed,
    goal: '0',
    isMet: (b) => b === 0,
    ratio: false,
  },
  { metric: 'destroy (s)', pick: wall('destroy'), goal: '≤ 15 s', isMet: (b) => b <= 15, ratio: true, run: 'destroy' },
  {
    metric: 'runner overhead, no-op redeploy (s)',
    pick: (p) => p.runs.noop?.time?.overheadS,
    goal: '≤ 1 s',
    isMet: (b) => b <= 1,
    ratio: true,
    run: 'noop',
  },
];

export function evaluateGoals(results: Results, service?: ServiceBenchResult): GoalRow[] {
  const rows = GOALS.map((spec): GoalRow => {
    const bakery = spec.pick(results.bakery);
    const naive = spec.pick(results.naive);
    const ratio =
      spec.ratio && bakery !== undefined && naive !== undefined && bakery > 0
        ? Math.round((naive / bakery) * 10) / 10
        : undefined;
    const met = spec.isMet && bakery !== undefined ? spec.isMet(bakery, ratio) : undefined;
    return {
      metric: spec.metric,
      ...(bakery !== undefined ? { bakery } : {}),
      ...(naive !== undefined ? { naive } : {}),
      ...(ratio !== undefined ? { ratio } : {}),
      goal: spec.goal,
      ...(met !== undefined ? { met } : {}),
      ...(spec.run ? { run: spec.run } : {}),
    };
  });
  // The service is the same for both pipelines: one number, no comparison.
  for (const route of service?.routes ?? []) {
    rows.push({
      metric: `service throughput ${route.path} (req/s, p99 ${route.latencyP99Ms} ms)`,
      bakery: route.requestsPerSec,
      goal: '— (reported)',
    });
  }
  return rows;
}
