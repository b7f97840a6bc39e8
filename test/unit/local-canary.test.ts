// The canary's pure decisions: counters over the window, response times from HAProxy's
// access log, the statistics of the evidence, and the rule that decides.

import * as assert from 'uvu/assert';
import type { RolloutSettings } from '../../pipeline/config/schema.ts';
import {
  judge,
  percentile,
  responseTimes,
  windowCounts,
  type WindowStats,
} from '../../pipeline/targets/local/canary.ts';
import { defaultMinRequests, PASS_Z, requestsToBound, wilsonBounds } from '../../pipeline/targets/local/evidence.ts';
import type { ServerState } from '../../pipeline/targets/local/lb-servers.ts';
import { suite } from '../support/suite.ts';

const SETTINGS: RolloutSettings = { canary: { instances: 1, bake_s: 10 }, max_error_rate: 0.01, min_requests: 20 };

function server(name: string, sessions: number, fivexx: number, econ = 0, eresp = 0): ServerState {
  return {
    name,
    status: 'UP',
    checkStatus: 'L7OK',
    checkCode: '200',
    lastCheck: '',
    currentSessions: 0,
    address: '10.213.0.10:8080',
    weight: 100,
    traffic: {
      sessions,
      responses: { '1xx': 0, '2xx': sessions - fivexx, '3xx': 0, '4xx': 0, '5xx': fivexx, other: 0 },
      connectionErrors: econ,
      responseErrors: eresp,
    },
  };
}

const Window = suite('windowCounts and responseTimes');

Window(
  'counts sessions and failures (5xx, connection and response errors) of the named servers since the first reading',
  () => {
    const before = [server('canary', 0, 0), server('old-a', 100, 1), server('old-b', 50, 0)];
    const after = [server('canary', 40, 10, 1, 1), server('old-a', 160, 1), server('old-b', 90, 0)];
    assert.equal(windowCounts(before, after, new Set(['canary'])), { requests: 40, errors: 12 });
    assert.equal(windowCounts(before, after, new Set(['old-a', 'old-b'])), { requests: 100, errors: 0 });
  },
);

Window('counts a server missing from the first reading from zero', () => {
  assert.equal(windowCounts([], [server('canary', 5, 1)], new Set(['canary'])), { requests: 5, errors: 1 });
});

Window('reads Tr per server from httplog lines and skips requests without a server response', () => {
  const lines = [
    '127.0.0.1:5000 [02/Dec/2026:08:30:00.123] web instances/canary 0/0/1/412/413 200 512 - - ---- 4/4/0/0/0 0/0 "GET / HTTP/1.1"',
    '127.0.0.1:5001 [02/Dec/2026:08:30:00.200] web instances/old-a 0/0/0/7/8 200 512 - - ---- 4/4/0/0/0 0/0 "GET / HTTP/1.1"',
    '127.0.0.1:5002 [02/Dec/2026:08:30:00.300] web instances/canary 0/0/-1/-1/3001 503 217 - - sC-- 4/4/0/0/3 0/0 "GET / HTTP/1.1"',
    '[NOTICE]   (1) : New worker (8) forked',
  ];
  assert.equal(
    [...responseTimes(lines)],
    [
      ['canary', [412]],
      ['old-a', [7]],
    ],
  );
});

Window('takes the 99th percentile by rank', () => {
  assert.is(percentile([], 0.99), undefined);
  assert.is(percentile([5], 0.99), 5);
  assert.is(
    percentile(
      Array.from({ length: 100 }, (_, i) => i + 1),
      0.99,
    ),
    99,
  );
});

const Evidence = suite('Wilson bounds and the default of rollout.canary.min_requests');

Evidence('gives the textbook Wilson interval (10 of 100 at 95% two-sided: 5.5% to 17.4%)', () => {
  const { lower, upper } = wilsonBounds(10, 100, 1.96);
  assert.is(lower.toFixed(4), '0.0552');
  assert.is(upper.toFixed(4), '0.1744');
});

Evidence('knows nothing without observations', () => {
  assert.equal(wilsonBounds(0, 0, PASS_Z), { lower: 0, upper: 1 });
});

Evidence('derives the requests a faultless canary needs to show an error rate within the limit', () => {
  assert.is(requestsToBound(0.01), 268);
  assert.ok(wilsonBounds(0, 268, PASS_Z).upper <= 0.01);
  assert.ok(wilsonBounds(0, 267, PASS_Z).upper > 0.01);
  assert.is(defaultMinRequests(0.05, false), 52);
  assert.is(defaultMinRequests(0.05, true), 268, 'a latency gate needs a 1% share of slow responses bounded');
  assert.is(defaultMinRequests(0, false), 100_000, 'a rate of 0 can never be shown: the window decides');
});

const Rule = suite('judge');

function stats(requests: number, errors: number, extra: Partial<WindowStats> = {}): WindowStats {
  return { requests, errors, p99Ms: 5, timed: requests - errors, slow: 0, ...extra };
}
const DURING = { seconds: 1.5, over: false };
const OVER = { seconds: 10.2, over: true };

Rule('fails a canary early once three failures make its error rate clearly worse than the limit', () => {
  const verdict = judge(stats(3, 3), stats(10, 0), SETTINGS, DURING);
  assert.is(verdict.ok, false);
  assert.is(verdict.decided, true);
  assert.is(verdict.early, true);
  assert.match(
    verdict.summary,
    /^error rate above rollout.max_error_rate 0.01: canary: 3 of 3 requests failed \(100.0%\), p99 5 ms; old fleet: 0 of 10 requests failed \(0.0%\), p99 5 ms; over 1.5 s; stopped on evidence: its 99% lower bound 3\d\.\d% > 1.0%$/,
  );
});

Rule('waits on two failures: a blip is not evidence', () => {
  const verdict = judge(stats(2, 2), stats(10, 0), SETTINGS, DURING);
  assert.is(verdict.decided, false);
  assert.is(verdict.ok, true);
});

Rule('passes a faultless canary as soon as it has served the derived min_requests, and not before', () => {
  assert.is(judge(stats(267, 0), stats(500, 0), SETTINGS, DURING).decided, false);
  const verdict = judge(stats(268, 0), stats(500, 0), SETTINGS, DURING);
  assert.is(verdict.ok, true);
  assert.is(verdict.decided, true);
  assert.match(
    verdict.summary,
    /over 1.5 s; passed on evidence after 268 ≥ 268 requests \(rollout.canary.min_requests\): 95% upper bounds: error rate 1.0% ≤ 1.0%$/,
  );
});

Rule('needs more requests once one has failed, and follows a min_requests set by hand', () => {
  assert.is(judge(stats(300, 1), stats(500, 0), SETTINGS, DURING).decided, false);
  assert.is(judge(stats(600, 1), stats(900, 0), SETTINGS, DURING).ok, true);
  const demanding = { ...SETTINGS, canary: { ...SETTINGS.canary, min_requests: 1000 } };
  assert.is(judge(stats(600, 0), stats(900, 0), demanding, DURING).decided, false);
});

Rule('does not fail a canary early when the old fleet fails as much: the problem is not the release', () => {
  const verdict = judge(stats(50, 10), stats(100, 20), SETTINGS, DURING);
  assert.is(verdict.decided, false);
  assert.is(judge(stats(50, 10), stats(100, 20), SETTINGS, OVER).ok, true);
});

Rule('fails early a canary that answers slower than max_p99_ms, unless the old fleet is as slow', () => {
  const gated = { ...SETTINGS, max_p99_ms: 600 };
  const slow = stats(4, 0, { p99Ms: 1010, slow: 4 });
  const verdict = judge(slow, stats(40, 0, { p99Ms: 9 }), gated, DURING);
  assert.is(verdict.ok, false);
  assert.match(
    verdict.summary,
    /^p99 above rollout.max_p99_ms 600 ms: .*stopped on evidence: 4 of 4 responses slower than 600 ms, 99% lower bound/,
  );
  assert.is(judge(slow, stats(40, 0, { p99Ms: 900 }), gated, DURING).decided, false);
});

Rule('with a latency gate, passes early only once the share of slow responses is bounded under 1%', () => {
  const gated = { ...SETTINGS, max_error_rate: 0.05, max_p99_ms: 600 };
  assert.is(judge(stats(100, 0), stats(200, 0), gated, DURING).decided, false);
  const verdict = judge(stats(268, 0), stats(500, 0), gated, DURING);
  assert.is(verdict.ok, true);
  assert.match(verdict.summary, /slower than 600 ms 1.0% ≤ 1.0%$/);
});

Rule('decides as a fixed window once bake_s is over: an error rate over the limit fails', () => {
  const verdict = judge(stats(40, 1), stats(80, 0), SETTINGS, OVER);
  assert.is(verdict.ok, false);
  assert.is(verdict.early, false);
  assert.match(
    verdict.summary,
    /^error rate above rollout.max_error_rate 0.01: canary: 1 of 40 requests failed \(2.5%\).*the window of rollout.canary.bake_s 10 s is over$/,
  );
  assert.is(judge(stats(40, 0), stats(80, 0), SETTINGS, OVER).ok, true);
});

Rule('with too little traffic passes (fail open) unless too_little_traffic says fail', () => {
  const verdict = judge(stats(5, 0), stats(10, 0), SETTINGS, OVER);
  assert.is(verdict.ok, true);
  assert.match(verdict.summary, 'not judged: the canary served 5 request(s), fewer than rollout.min_requests 20');
  const closed = { ...SETTINGS, canary: { ...SETTINGS.canary, too_little_traffic: 'fail' as const } };
  const refused = judge(stats(5, 0), stats(10, 0), closed, OVER);
  assert.is(refused.ok, false);
  assert.match(refused.summary, /rollout.canary.too_little_traffic is fail$/);
});

Rule('fails a slow canary at the end of the window only where max_p99_ms is set', () => {
  const slow = stats(40, 0, { p99Ms: 400 });
  const fast = stats(80, 0, { p99Ms: 8 });
  assert.is(judge(slow, fast, SETTINGS, OVER).ok, true);
  const verdict = judge(slow, fast, { ...SETTINGS, max_p99_ms: 250 }, OVER);
  assert.is(verdict.ok, false);
  assert.match(
    verdict.summary,
    /^p99 above rollout.max_p99_ms 250 ms: canary: 0 of 40 requests failed \(0.0%\), p99 400 ms/,
  );
});

Window.run();
Evidence.run();
Rule.run();
