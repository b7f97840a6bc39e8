// Whether a deploy reuses the base layer found by its fingerprint or bakes it again:
// a base layer carries the OS packages of the day it was baked, so it has a maximum age.

import type { Rebake } from '../context.ts';
import type { ImageRef } from '../targets/target.ts';
import { shortFingerprint } from './fingerprint.ts';

export type BaseLayerReuse = { reuse: true; image: ImageRef; reason: string } | { reuse: false; reason?: string };

const DAY_MS = 86_400_000;

/** How old an image is, from its creation time (0 when unknown: an unknown age never forces a bake). */
export function ageInDays(image: ImageRef, now: number): number {
  const created = image.createdAt ? Date.parse(image.createdAt) : Number.NaN;
  return Number.isNaN(created) ? 0 : Math.max(0, (now - created) / DAY_MS);
}

/** The decision and the sentence the bake-base stage shows for it. */
export function decideBaseLayerReuse(
  found: ImageRef | undefined,
  rebake: Rebake,
  maxAgeDays: number,
  now = Date.now(),
): BaseLayerReuse {
  if (rebake === 'all') return { reuse: false, reason: '--rebake=all: baking the base layer again' };
  if (!found) return { reuse: false };
  const age = ageInDays(found, now);
  const name = `base layer ${shortFingerprint(found.fingerprint)}`;
  if (age > maxAgeDays)
    return {
      reuse: false,
      reason: `${name} is ${age.toFixed(1)} days old, older than image.base_max_age_days (${maxAgeDays}): baking it again for the latest security updates`,
    };
  return {
    reuse: true,
    image: found,
    reason: `${name} already baked (${found.name ?? found.id}, ${age.toFixed(1)} days old)`,
  };
}
