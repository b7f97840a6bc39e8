// Retention by deployment history (pipeline/state/retention.ts): the image in service and
// the last image.keep successful releases stay, images that never became healthy go
// first and never count as releases, images the history does not know fill the slots
// left, newest first.

import * as assert from 'uvu/assert';
import type { HistoryEntry } from '../../pipeline/state/history.ts';
import { decideBaseLayerRetention, decideRetention, type RetentionCandidate } from '../../pipeline/state/retention.ts';
import { suite } from '../support/suite.ts';

const Retention = suite('retention');

let clock = 0;
const deploy = (image: string, outcome: HistoryEntry['outcome'], exitCode = outcome === 'succeeded' ? 0 : 1) =>
  ({
    command: 'deploy',
    env: 'local',
    target: 'local',
    started_at: new Date(Date.UTC(2026, 11, 1, 0, clock++)).toISOString(),
    seconds: 30,
    who: 'ops@host',
    image,
    outcome,
    exit_code: exitCode,
  }) satisfies HistoryEntry;

/** Images baked in this order (the last one newest). */
const baked = (...ids: string[]): RetentionCandidate[] =>
  ids.map((id, index) => ({ id, createdAt: new Date(Date.UTC(2026, 11, 1, 0, index)).toISOString() }));

const ids = (list: Array<{ id: string }>) => list.map((entry) => entry.id).sort();

Retention('two releases that never became healthy do not push the last good image out (issue 14, case 1)', () => {
  const history = [deploy('good-1', 'succeeded'), deploy('bad-1', 'failed'), deploy('bad-2', 'failed')];
  const decision = decideRetention(baked('good-1', 'bad-1', 'bad-2', 'good-2'), {
    keep: 3,
    inUse: 'good-2',
    history,
  });
  assert.equal(ids(decision.keep), ['good-1', 'good-2']);
  assert.equal(ids(decision.prune), ['bad-1', 'bad-2']);
  assert.ok(decision.prune.every((entry) => entry.reason === 'never healthy'));
});

Retention('base layers: every one a kept image stands on stays, then the newest up to keep; the rest go', () => {
  const bases = [
    { id: 'base-1', createdAt: '2026-11-01T00:00:00Z' },
    { id: 'base-2', createdAt: '2026-11-10T00:00:00Z' },
    { id: 'base-3', createdAt: '2026-11-20T00:00:00Z' },
    { id: 'base-4', createdAt: '2026-11-30T00:00:00Z' },
  ];
  const decision = decideBaseLayerRetention(bases, new Set(['base-1', 'base-2']), 3);
  assert.equal(decision.keep, [
    { id: 'base-4', reason: 'newest base layer' },
    { id: 'base-2', reason: 'base of a kept image' },
    { id: 'base-1', reason: 'base of a kept image' },
  ]);
  assert.equal(decision.prune, [{ id: 'base-3', reason: 'base of no kept image' }]);
  // More kept images than slots: none of their bases goes.
  assert.equal(ids(decideBaseLayerRetention(bases, new Set(['base-1', 'base-2', 'base-3']), 1).keep), [
    'base-1',
    'base-2',
    'base-3',
  ]);
});

Retention('keeps the image in service and the last keep-1 other releases; older releases go', () => {
  const history = ['r1', 'r2', 'r3', 'r4'].map((id) => deploy(id, 'succeeded'));
  const decision = decideRetention(baked('r1', 'r2', 'r3', 'r4', 'r5'), { keep: 3, inUse: 'r5', history });
  assert.equal(ids(decision.keep), ['r3', 'r4', 'r5']);
  // Newest first within a reason.
  assert.equal(decision.prune, [
    { id: 'r2', reason: 'old release' },
    { id: 'r1', reason: 'old release' },
  ]);
});

Retention('a rollback to an old image keeps it and the newest releases, whatever their bake date', () => {
  const history = ['r1', 'r2', 'r3'].map((id) => deploy(id, 'succeeded'));
  // --image r1: r1 is in service now, the newest other release is r3.
  const decision = decideRetention(baked('r1', 'r2', 'r3'), { keep: 2, inUse: 'r1', history });
  assert.equal(ids(decision.keep), ['r1', 'r3']);
  assert.equal(ids(decision.prune), ['r2']);
});

Retention('an image that failed once and later succeeded is a release', () => {
  const history = [deploy('a', 'succeeded'), deploy('b', 'failed'), deploy('b', 'succeeded')];
  const decision = decideRetention(baked('a', 'b', 'c'), { keep: 3, inUse: 'c', history });
  assert.equal(ids(decision.keep), ['a', 'b', 'c']);
});

Retention('a run whose record could not be written (exit 3) served its image: it counts as a release', () => {
  const history = [deploy('a', 'succeeded'), deploy('b', 'failed', 3)];
  const decision = decideRetention(baked('a', 'b', 'c'), { keep: 2, inUse: 'c', history });
  assert.equal(ids(decision.keep), ['b', 'c']);
  assert.equal(decision.prune, [{ id: 'a', reason: 'old release' }]);
});

Retention('images the history does not know fill the slots left, newest first', () => {
  const history = [deploy('r1', 'succeeded')];
  const decision = decideRetention(baked('old-1', 'old-2', 'old-3', 'r1', 'new'), { keep: 3, inUse: 'new', history });
  assert.equal(ids(decision.keep), ['new', 'old-3', 'r1']);
  assert.equal(ids(decision.prune), ['old-1', 'old-2']);
});

Retention('without any history the image in service and the newest images up to keep stay', () => {
  const decision = decideRetention(baked('a', 'b', 'c', 'd'), { keep: 2, inUse: 'a', history: [] });
  assert.equal(ids(decision.keep), ['a', 'd']);
  assert.equal(ids(decision.prune), ['b', 'c']);
});

Retention('never-healthy images are pruned before the others, so an interrupted prune keeps the way back', () => {
  const history = [deploy('r1', 'succeeded'), deploy('r2', 'succeeded'), deploy('bad', 'interrupted', 130)];
  const decision = decideRetention(baked('unknown', 'r1', 'r2', 'bad', 'r3'), { keep: 1, inUse: 'r3', history });
  assert.equal(ids(decision.keep), ['r3']);
  assert.equal(
    decision.prune.map((entry) => entry.reason),
    ['never healthy', 'unknown to the history', 'old release', 'old release'],
  );
});

Retention('destroys and deploys without an image count for nothing', () => {
  const history: HistoryEntry[] = [
    deploy('r1', 'succeeded'),
    { ...deploy('r2', 'succeeded'), command: 'destroy' },
    { ...deploy('x', 'failed'), image: undefined } as unknown as HistoryEntry,
  ];
  const decision = decideRetention(baked('r1', 'r2', 'r3'), { keep: 2, inUse: 'r3', history });
  assert.equal(ids(decision.keep), ['r1', 'r3']);
  assert.equal(decision.prune, [{ id: 'r2', reason: 'unknown to the history' }]);
});

Retention.run();
