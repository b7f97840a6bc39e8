// The benchmark reads the rollout's own lines from its stage log: how long new instances
// took from start to UP in HAProxy, and the canary's verdict.

import * as assert from 'uvu/assert';
import { rolloutFacts } from '../../bench/timed-run.ts';
import { suite } from '../support/suite.ts';

const Facts = suite('rolloutFacts');

Facts('reads every batch of new instances and the canary verdict from the rollout log', () => {
  const log = [
    '# started 2026-12-07T23:10:00.000Z docker run …',
    '# bench-bakery-local-aaa UP in HAProxy 1.23 s after its container started',
    '# canary bench-bakery-local-aaa takes its share of traffic until it has served 268 requests',
    '# canary passed: canary: 0 of 270 requests failed (0.0%), p99 9 ms; old fleet: 0 of 540 requests failed (0.0%), p99 8 ms; over 3.9 s; passed on evidence',
    '# bench-bakery-local-bbb UP in HAProxy 0.91 s after its container started',
  ].join('\n');
  assert.equal(rolloutFacts(log), {
    upAfterStartS: [1.23, 0.91],
    canaryVerdict:
      'passed: canary: 0 of 270 requests failed (0.0%), p99 9 ms; old fleet: 0 of 540 requests failed (0.0%), p99 8 ms; over 3.9 s; passed on evidence',
  });
});

Facts('says nothing for a rollout that was skipped', () => {
  assert.equal(rolloutFacts('# rollout skipped\n'), {});
});

Facts.run();
