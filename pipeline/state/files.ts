// Every write under .deploy/ goes through here, so a full disk, a read-only mount or a
// permission problem becomes one typed error that names the path and what was being
// written, never a raw ENOSPC with a stack trace, and never leaves a temporary file.

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StateFileError } from '../errors.ts';

/** What each errno means for the person reading the message. */
const CAUSES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted (immutable file or directory?)',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'a directory is in the way',
};

export function stateFileError(error: unknown, path: string, what: string): StateFileError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
  const cause = CAUSES[code] ?? (error instanceof Error ? error.message : String(error));
  return new StateFileError(`could not write ${what}: ${cause} (${code})`, [`path: ${path}`], { cause: error });
}

async function guarded<T>(path: string, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw stateFileError(error, path, what);
  }
}

export function makeStateDir(path: string, what: string): Promise<void> {
  return guarded(path, what, async () => {
    await mkdir(path, { recursive: true });
  });
}

/** Writes the whole file or nothing: a draft beside it, renamed into place; the draft never stays. */
export async function writeStateFile(path: string, text: string, what: string, mode = 0o644): Promise<void> {
  const draft = `${path}.${process.pid}.tmp`;
  await guarded(path, what, async () => {
    await mkdir(dirname(path), { recursive: true });
    try {
      await writeFile(draft, text, { mode });
      await rename(draft, path);
    } catch (error) {
      await rm(draft, { force: true }).catch(() => {});
      throw error;
    }
  });
}

export function removeState(path: string, what: string): Promise<void> {
  return guarded(path, `${what} (removing it)`, () => rm(path, { recursive: true, force: true }));
}

/**
 * Rewrites a file in place (truncate and write), for files bind-mounted into a
 * container: a rename would leave the mount on the old inode. Not atomic, so only for
 * files that are regenerated whole on every run.
 */
export async function writeStateFileInPlace(path: string, text: string, what: string, mode = 0o644): Promise<void> {
  await guarded(path, what, async () => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, { mode });
  });
}

/**
 * Creates the file only if it does not exist (an exclusive create, atomic): true when
 * this call made it, false when it was there already. For claims two runs may race for.
 */
export async function claimStateFile(path: string, text: string, what: string): Promise<boolean> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw stateFileError(error, path, what);
  }
}
