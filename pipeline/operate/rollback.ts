// Which image `deploy.ts --rollback[=N]` goes back to: the N-th release before the one in
// service, from the history's successful deploys and rollbacks, and only if that image
// still exists (retention keeps released images, but a person may have removed one).

import type { StageIO } from '../context.ts';
import { InputError, UsageError, isBakeryError } from '../errors.ts';
import { releasedImages, type HistoryEntry, type HistoryStore } from '../state/history.ts';
import { readDeploymentRecord } from '../state/record.ts';
import type { ImageRef, ImageStore } from '../targets/target.ts';

/** `--rollback` alone is 1; `--rollback=N` must be a whole number from 1. */
export function parseRollbackDepth(value: string | true | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === true) return 1;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--rollback ${JSON.stringify(value)} is not allowed: expected a whole number from 1`);
  return Number(value);
}

export interface RollbackChoice {
  image: string;
  /** The release entry of that image (newest one), for the message. */
  release: HistoryEntry;
}

/**
 * The N-th released image before `inService`, newest first, each image once. Without a
 * record of what is in service, the newest release counts as in service.
 */
export function chooseRollback(
  history: readonly HistoryEntry[],
  inService: string | undefined,
  depth: number,
  envName: string,
): RollbackChoice {
  const released = releasedImages(history);
  const current = inService ?? released[0];
  const earlier = released.filter((image) => image !== current);
  const image = earlier[depth - 1];
  if (!image) {
    const found = earlier.length === 0 ? 'no earlier release' : `only ${earlier.length} earlier release(s)`;
    throw new InputError(`--rollback${depth > 1 ? `=${depth}` : ''}: ${envName} has ${found} to go back to`, [
      `see the releases with: ./status.ts ${envName} --history`,
    ]);
  }
  const release = [...history]
    .reverse()
    .find((entry) => entry.image === image && entry.outcome === 'succeeded' && entry.command !== 'destroy');
  return { image, release: release as HistoryEntry };
}

/**
 * The image in service: this machine's record, unless the history (shared through S3 on
 * aws) has a successful release started after that record was written, by another
 * machine or CI; then that release is what serves now.
 */
export function inServiceImage(
  history: readonly HistoryEntry[],
  record: { image: string; deployed_at: string } | undefined,
): string | undefined {
  const newest = [...history]
    .reverse()
    .find((entry) => entry.image && entry.outcome === 'succeeded' && entry.command !== 'destroy');
  if (!record) return newest?.image;
  return newest && newest.started_at > record.deployed_at ? newest.image : record.image;
}

/** Finds the rollback's image and checks that it still exists; a missing image is bad input (exit 2). */
export async function resolveRollbackImage(
  io: StageIO,
  images: ImageStore,
  where: { history: HistoryStore; stateDir: string },
  depth: number,
  envName: string,
): Promise<ImageRef> {
  const [history, record] = await Promise.all([where.history.read(), readDeploymentRecord(where.stateDir)]);
  const { image, release } = chooseRollback(history, inServiceImage(history, record), depth, envName);
  try {
    return await images.resolve(io, image);
  } catch (error) {
    if (!isBakeryError(error) || !(error instanceof InputError)) throw error;
    throw new InputError(
      `--rollback${depth > 1 ? `=${depth}` : ''}: the image ${image} of the release of ${release.started_at} no longer exists (pruned or removed); cannot roll back to it`,
      [error.message, `pick another release: ./status.ts ${envName} --history, then --rollback=N or --image ID`],
      { cause: error },
    );
  }
}
