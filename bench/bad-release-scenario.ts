// The bad-release scenario of `npm run bench`: one throwaway project, a good release
// deployed cold, then the bad release under load, first by bakery (the canary stops it,
// the fleet stays good), then by the naive pipeline (recreate, no canary) onto that same
// good fleet. Whatever
// it creates is destroyed at the end, also after a failed step or Ctrl-C.

import { createProject, leftovers, type TempProject } from '../harness/local-project.ts';
import {
  BAD_RELEASE,
  badReleaseGoals,
  breakThePage,
  deployBadRelease,
  describeExposure,
  rolloutYaml,
  type BadReleaseRun,
} from './bad-release.ts';
import type { BadReleaseResult } from './bad-release-report.ts';
import { round } from './child-time.ts';
import type { MachineFacts, PipelineName } from './results.ts';
import type { StepRunner } from './steps.ts';
import { describeMeasurement, measureRun } from './timed-run.ts';

/**
 * The naive pipeline's rollout: stop all, start new, gated on the health checks only (no
 * canary). Without the main scenario's --rebake: the bad image bakery just baked is
 * reused, since a second bake would only add minutes of the old fleet serving before the
 * same switch (and keep the scenario within a few minutes).
 */
const NAIVE_FLAGS = ['--strategy', 'recreate'];
/** Rough step lengths for the time budget: a cold deploy bakes both layers, bakery's redeploy the app layer. */
const ESTIMATE_S = { cold: 150, badRelease: 90 };

export async function runBadReleaseScenario(steps: StepRunner, machine: MachineFacts): Promise<BadReleaseResult> {
  const settings = BAD_RELEASE;
  const startedAt = new Date();
  const errors: string[] = [];
  const runs: Partial<Record<PipelineName, BadReleaseRun>> = {};
  const skipped = { skipped: [] as Array<{ step: string; reason: string }> };
  let good: BadReleaseResult['good'];
  let project: TempProject | undefined;
  let remaining: string[] = [];
  try {
    project = await createProject({
      app: settings.app,
      port: settings.port,
      desired: settings.desired,
      deadlineS: 60,
      envYaml: [rolloutYaml(settings)],
    });
    const created = project;
    if ((await leftovers(settings.app)).length > 0) {
      steps.say(`bad release: removing what an earlier run left of ${settings.app}`);
      await created.destroy();
    }
    good = await steps.step(skipped, 'bad release: the good release, cold deploy', ESTIMATE_S.cold, async () => {
      const run = await measureRun(created, 'cold', []);
      steps.say(`  good release: ${describeMeasurement(run)}`);
      if (!run.ok) throw new Error(`the good release did not deploy: ${run.error ?? `exit ${run.exitCode}`}`);
      return run;
    });
    if (good?.ok) {
      await breakThePage(created);
      for (const [pipeline, flags] of [
        ['bakery', []],
        ['naive', NAIVE_FLAGS],
      ] as Array<[PipelineName, string[]]>) {
        const run = await steps.step(skipped, `bad release: ${pipeline} under load`, ESTIMATE_S.badRelease, () =>
          deployBadRelease(created, settings, pipeline, flags, steps.say),
        );
        if (!run) break;
        runs[pipeline] = run;
        steps.say(`  ${describeExposure(run)}`);
      }
    }
  } catch (error) {
    errors.push(`bad release: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    if (project) {
      steps.say('bad release: clean-up: destroy');
      const result = await project
        .destroy()
        .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: String(error) }));
      if (result.exitCode !== 0)
        errors.push(
          `bad release: clean-up destroy exited ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`,
        );
      remaining = await leftovers(settings.app);
      await project.remove();
    }
  }
  errors.push(...skipped.skipped.map((s) => `${s.step} skipped: ${s.reason}`));
  const finishedAt = new Date();
  return {
    kind: 'bad-release',
    date: startedAt.toISOString().slice(0, 10),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
    machine,
    settings,
    ...(good ? { good } : {}),
    runs,
    goals: badReleaseGoals(settings, runs),
    leftovers: remaining,
    errors,
  };
}
