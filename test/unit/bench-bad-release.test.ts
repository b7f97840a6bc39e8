// How the bad-release benchmark (bench/bad-release.ts) reads the traffic: which requests
// the bad release answered, how long it served and with what share, what failed after
// the deploy, and bakery's bound (the canary's share of the traffic for bake_s).

import * as assert from 'uvu/assert';
import {
  BAD_RELEASE,
  badReleaseGoals,
  canaryBound,
  canaryShare,
  summariseExposure,
  type BadReleaseRun,
} from '../../bench/bad-release.ts';
import type { RequestOutcome } from '../../harness/load.ts';
import { suite } from '../support/suite.ts';

const Exposure = suite('the bad-release benchmark');

const T0 = 1_000_000;
/** One request every 100 ms for `seconds`, answered by `status(second)`. */
function traffic(seconds: number, status: (atS: number, index: number) => number | 'reset'): RequestOutcome[] {
  return Array.from({ length: seconds * 10 }, (_, index) => {
    const atS = index / 10;
    const answer = status(atS, index);
    return answer === 'reset'
      ? { atMs: T0 + atS * 1000, error: 'ECONNRESET' }
      : { atMs: T0 + atS * 1000, status: answer };
  });
}

Exposure("a canary's 500s are its share while it served, and nothing fails after the deploy", () => {
  // 40 s: the canary (every third request) answers 500 from 20 s to 30 s; the deploy returns at 30 s.
  const outcomes = traffic(40, (atS, index) => (atS >= 20 && atS < 30 && index % 3 === 0 ? 500 : 200));
  const exposure = summariseExposure(outcomes, {
    startedAtMs: T0,
    deployEndedAtMs: T0 + 30_000,
    endedAtMs: T0 + 40_000,
  });
  assert.is(exposure.requests, 400);
  assert.is(exposure.badAnswers, 33);
  assert.is(exposure.failed, 33);
  assert.is(exposure.otherFailures, 0);
  assert.is(exposure.badSpanS, 9.6);
  assert.ok(Math.abs((exposure.badShareWhileServing ?? 0) - 1 / 3) < 0.02, String(exposure.badShareWhileServing));
  assert.equal(exposure.afterDeploy, { requests: 100, failed: 0, share: 0 });
  assert.is(exposure.ratePerS, 10);
});

Exposure('a switch to the bad release fails everything after it, and an outage is another failure', () => {
  const outcomes = traffic(40, (atS) => (atS < 25 ? 200 : atS < 26 ? 'reset' : atS < 27 ? 503 : 500));
  const exposure = summariseExposure(outcomes, {
    startedAtMs: T0,
    deployEndedAtMs: T0 + 30_000,
    endedAtMs: T0 + 40_000,
  });
  assert.is(exposure.badAnswers, 130);
  assert.is(exposure.otherFailures, 20);
  assert.is(exposure.badShareWhileServing, 1);
  assert.equal(exposure.afterDeploy, { requests: 100, failed: 100, share: 1 });
  assert.match(exposure.firstFailures[0] as string, /ECONNRESET$/);
});

Exposure('no bad answer: no span and no share', () => {
  const exposure = summariseExposure(
    traffic(5, () => 200),
    { startedAtMs: T0, deployEndedAtMs: T0 + 4000, endedAtMs: T0 + 5000 },
  );
  assert.is(exposure.badSpanS, undefined);
  assert.is(exposure.badShareWhileServing, undefined);
  assert.is(exposure.failed, 0);
});

Exposure("bakery's goal is the canary's share of the traffic for bake_s, and naive is reported beside it", () => {
  assert.is(canaryShare(BAD_RELEASE), 1 / 3);
  // 200 requests/s × 10 s × 1/3.
  assert.is(canaryBound(BAD_RELEASE, 200), 667);
  const run = (pipeline: 'bakery' | 'naive', exitCode: number, failed: number): BadReleaseRun => ({
    pipeline,
    deployFlags: [],
    run: { run: 'badRelease', args: [], exitCode, ok: exitCode === 0, wallS: 30, stages: [], loadAverageAtStart: 1 },
    exposure: {
      windowS: 40,
      requests: 8000,
      ratePerS: 200,
      failed,
      badAnswers: failed,
      otherFailures: 0,
      badSpanS: 8,
      badShareWhileServing: 0.33,
      afterDeploy: { requests: 2000, failed: 0, share: 0 },
      firstFailures: [],
    },
  });
  const goals = badReleaseGoals(BAD_RELEASE, { bakery: run('bakery', 1, 600), naive: run('naive', 0, 3000) });
  const failed = goals.find((row) => row.metric.startsWith('failed requests'));
  assert.equal(
    { bakery: failed?.bakery, naive: failed?.naive, met: failed?.met },
    { bakery: 600, naive: 3000, met: true },
  );
  assert.match(failed?.goal ?? '', /≤ 667 \(canary share 0.333 × 10 s/);
  assert.is(goals.find((row) => row.metric.startsWith('deploy exit code'))?.met, true);
  const over = badReleaseGoals(BAD_RELEASE, { bakery: run('bakery', 0, 700) });
  assert.is(over.find((row) => row.metric.startsWith('failed requests'))?.met, false);
  assert.is(over.find((row) => row.metric.startsWith('deploy exit code'))?.met, false);
});

Exposure.run();
