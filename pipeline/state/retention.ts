// Which baked images to keep: decided by the deployment history, not by bake date, so
// the way back always exists. Kept: the image in service and the images of the last
// `keep` successful releases (the one in service counts as the newest). An image that
// only ever appears in failed or interrupted deploys never became healthy: it is no way
// back, never counts as a release and is pruned first. An image the history does not
// know at all (baked before the history existed, or by a run whose history line was
// lost) is kept only while release slots remain, newest first. Both targets use this.

import { EXIT } from '../errors.ts';
import { releasedImages, type HistoryEntry } from './history.ts';

export interface RetentionInput {
  /** How many releases to keep (image.keep), the one in service included. */
  keep: number;
  /** The image serving now: never pruned. */
  inUse: string;
  history: readonly HistoryEntry[];
}

export interface RetentionCandidate {
  id: string;
  /** ISO timestamp; used only to order images the history does not know. */
  createdAt?: string;
}

export type RetentionReason =
  | 'in service'
  | 'release'
  | 'unknown to the history'
  | 'never healthy'
  | 'old release'
  | 'base of a kept image'
  | 'newest base layer'
  | 'base of no kept image';

export interface RetentionDecision {
  keep: Array<{ id: string; reason: RetentionReason }>;
  prune: Array<{ id: string; reason: RetentionReason }>;
}

/**
 * A run whose rollout succeeded but whose record could not be written (exit 3) served
 * its image: for retention it is a release like any other.
 */
function servedHistory(history: readonly HistoryEntry[]): HistoryEntry[] {
  return history.map((entry) =>
    entry.outcome !== 'succeeded' && entry.exit_code === EXIT.recordStale
      ? { ...entry, outcome: 'succeeded' as const }
      : entry,
  );
}

/** Splits `images` into those to keep and those to prune; pure, so both targets and the tests share it. */
export function decideRetention(images: readonly RetentionCandidate[], input: RetentionInput): RetentionDecision {
  const keepCount = Math.max(1, input.keep);
  const history = servedHistory(input.history);
  const released = releasedImages(history);
  const everDeployed = new Set(
    history.filter((entry) => entry.command !== 'destroy' && entry.image).map((entry) => entry.image as string),
  );
  const releases = [input.inUse, ...released.filter((id) => id !== input.inUse)].slice(0, keepCount);
  const present = new Set(images.map((image) => image.id));
  // Slots taken by the image in service and the releases that still exist; the rest may
  // hold images the history does not know.
  let freeSlots = keepCount - releases.filter((id) => id === input.inUse || present.has(id)).length;

  const newestFirst = [...images].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  const decision: RetentionDecision = { keep: [], prune: [] };
  for (const image of newestFirst) {
    if (image.id === input.inUse) decision.keep.push({ id: image.id, reason: 'in service' });
    else if (releases.includes(image.id)) decision.keep.push({ id: image.id, reason: 'release' });
    else if (released.includes(image.id)) decision.prune.push({ id: image.id, reason: 'old release' });
    else if (everDeployed.has(image.id)) decision.prune.push({ id: image.id, reason: 'never healthy' });
    else if (freeSlots > 0) {
      freeSlots--;
      decision.keep.push({ id: image.id, reason: 'unknown to the history' });
    } else decision.prune.push({ id: image.id, reason: 'unknown to the history' });
  }
  // Never-healthy images go first, so a removal that stops half-way has kept the releases.
  const order: RetentionReason[] = ['never healthy', 'unknown to the history', 'old release'];
  decision.prune.sort((a, b) => order.indexOf(a.reason) - order.indexOf(b.reason));
  return decision;
}

/**
 * Base layers (targets that bake in two layers): never one a kept image was built from
 * (`builtFrom` of each kept image), and otherwise the newest up to `keep` in all, so the
 * layer just baked for the next deploy stays. Decided after the images, from what they kept.
 */
export function decideBaseLayerRetention(
  bases: readonly RetentionCandidate[],
  keptBuiltFrom: ReadonlySet<string>,
  keep: number,
): RetentionDecision {
  const decision: RetentionDecision = { keep: [], prune: [] };
  let freeSlots = Math.max(1, keep) - bases.filter((base) => keptBuiltFrom.has(base.id)).length;
  const newestFirst = [...bases].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  for (const base of newestFirst) {
    if (keptBuiltFrom.has(base.id)) decision.keep.push({ id: base.id, reason: 'base of a kept image' });
    else if (freeSlots-- > 0) decision.keep.push({ id: base.id, reason: 'newest base layer' });
    else decision.prune.push({ id: base.id, reason: 'base of no kept image' });
  }
  return decision;
}

/** What the prune stage will keep, for --dry-run. */
export function describeRetention(keep: number): string {
  return `keep the image in service and the images of the last ${keep} successful releases; remove images that never became healthy`;
}
