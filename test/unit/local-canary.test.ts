// The canary's pure decisions: counters over the window, response times from HAProxy's
// access log, and the rule that decides.

import * as assert from 'uvu/assert';
import type { RolloutSettings } from '../../pipeline/config/schema.ts';
import { judge, percentile, responseTimes, windowCounts } from '../../pipeline/targets/local/canary.ts';
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

const Rule = suite('judge');

Rule('fails a canary whose error rate is over the limit while the old fleet is under it', () => {
  const verdict = judge({ requests: 50, errors: 10, p99Ms: 5 }, { requests: 100, errors: 0, p99Ms: 5 }, SETTINGS, 4.2);
  assert.is(verdict.ok, false);
  assert.is(verdict.decided, true);
  assert.is(
    verdict.summary,
    'error rate above rollout.max_error_rate 0.01: canary: 10 of 50 requests failed (20.0%), p99 5 ms; old fleet: 0 of 100 requests failed (0.0%), p99 5 ms; over 4.2 s',
  );
});

Rule('passes a canary when the old fleet fails as much: the problem is not the release', () => {
  assert.is(
    judge({ requests: 50, errors: 10, p99Ms: 5 }, { requests: 100, errors: 20, p99Ms: 5 }, SETTINGS, 10).ok,
    true,
  );
});

Rule('does not judge a canary that served fewer than min_requests, and says so', () => {
  const verdict = judge({ requests: 5, errors: 5, p99Ms: 5 }, { requests: 10, errors: 0, p99Ms: 5 }, SETTINGS, 10);
  assert.is(verdict.ok, true);
  assert.match(verdict.summary, 'not judged: the canary served 5 request(s), fewer than rollout.min_requests 20');
});

Rule('fails a slow canary only where max_p99_ms is set', () => {
  const slow = { requests: 40, errors: 0, p99Ms: 400 };
  const fast = { requests: 80, errors: 0, p99Ms: 8 };
  assert.is(judge(slow, fast, SETTINGS, 10).ok, true);
  const verdict = judge(slow, fast, { ...SETTINGS, max_p99_ms: 250 }, 10);
  assert.is(verdict.ok, false);
  assert.match(
    verdict.summary,
    /^p99 above rollout.max_p99_ms 250 ms: canary: 0 of 40 requests failed \(0.0%\), p99 400 ms/,
  );
});

Rule('passes a canary within every limit', () => {
  assert.is(
    judge(
      { requests: 40, errors: 0, p99Ms: 10 },
      { requests: 80, errors: 0, p99Ms: 9 },
      { ...SETTINGS, max_p99_ms: 250 },
      10,
    ).ok,
    true,
  );
});

Window.run();
Rule.run();
