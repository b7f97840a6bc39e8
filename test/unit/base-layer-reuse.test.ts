import * as assert from 'uvu/assert';
import { ageInDays, decideBaseLayerReuse } from '../../pipeline/bake/base-layer-reuse.ts';
import type { ImageRef } from '../../pipeline/targets/target.ts';
import { suite } from '../support/suite.ts';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const FINGERPRINT = 'ab'.repeat(32);

function baseLayer(createdAt?: string): ImageRef {
  return {
    id: 'sha256:1234',
    fingerprint: FINGERPRINT,
    name: 'bakery/shop-local:abababababab',
    ...(createdAt ? { createdAt } : {}),
  };
}

const Reuse = suite('the base layer is reused while it is fresh');

Reuse('a base layer younger than image.base_max_age_days is reused, and the stage says how old it is', () => {
  const decision = decideBaseLayerReuse(baseLayer('2026-12-01T12:00:00Z'), 'none', 7, NOW);
  assert.ok(decision.reuse);
  assert.is(decision.reuse && decision.image.id, 'sha256:1234');
  assert.is(decision.reason, 'base layer abababababab already baked (bakery/shop-local:abababababab, 3.0 days old)');
});

Reuse('--rebake (the app layer only) still reuses a fresh base layer', () => {
  assert.ok(decideBaseLayerReuse(baseLayer('2026-12-03T12:00:00Z'), 'app', 7, NOW).reuse);
});

Reuse('a base layer older than the limit is baked again, and the stage says why', () => {
  const decision = decideBaseLayerReuse(baseLayer('2026-11-26T00:00:00Z'), 'none', 7, NOW);
  assert.not.ok(decision.reuse);
  assert.match(
    decision.reason ?? '',
    /base layer abababababab is 8\.5 days old, older than image\.base_max_age_days \(7\)/,
  );
  assert.match(decision.reason ?? '', /latest security updates/);
});

Reuse('exactly at the limit is still fresh; the limit is the environment’s', () => {
  assert.ok(decideBaseLayerReuse(baseLayer('2026-11-27T12:00:00Z'), 'none', 7, NOW).reuse);
  assert.not.ok(decideBaseLayerReuse(baseLayer('2026-11-27T12:00:00Z'), 'none', 6, NOW).reuse);
});

Reuse('--rebake=all bakes the base layer whatever its age', () => {
  const decision = decideBaseLayerReuse(baseLayer('2026-12-04T11:00:00Z'), 'all', 7, NOW);
  assert.not.ok(decision.reuse);
  assert.is(decision.reason, '--rebake=all: baking the base layer again');
});

Reuse('no base layer with this fingerprint: bake it, nothing to explain', () => {
  assert.equal(decideBaseLayerReuse(undefined, 'none', 7, NOW), { reuse: false });
});

Reuse('an image whose creation time is unknown or unreadable counts as new', () => {
  assert.is(ageInDays(baseLayer(), NOW), 0);
  assert.is(ageInDays(baseLayer('not a date'), NOW), 0);
  assert.is(ageInDays(baseLayer('2026-12-05T00:00:00Z'), NOW), 0, 'a clock ahead of this one is not negative');
  assert.ok(decideBaseLayerReuse(baseLayer(), 'none', 1, NOW).reuse);
});

Reuse.run();
