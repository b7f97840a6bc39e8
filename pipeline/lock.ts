// One deploy or destroy per environment at a time. The lock is a file created with
// O_EXCL holding who took it and when; a lock whose process is gone is stale and is
// taken over with a warning.

import { hostname } from 'node:os';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LockError } from './errors.ts';

export interface LockOwner {
  pid: number;
  command: string;
  host: string;
  started_at: string;
}

export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' ? (owner as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

export async function acquireLock(
  path: string,
  command: string,
  onStaleLock: (owner: LockOwner | undefined) => void,
): Promise<HeldLock> {
  await mkdir(dirname(path), { recursive: true });
  const me: LockOwner = { pid: process.pid, command, host: hostname(), started_at: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(`${JSON.stringify(me)}\n`);
      await file.close();
      return {
        path,
        release: async () => {
          const owner = await readOwner(path);
          if (owner?.pid === me.pid) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readOwner(path);
    // A lock from another host cannot be checked; trust it (shared state directories).
    const alive = owner !== undefined && (owner.host !== me.host || isProcessAlive(owner.pid));
    if (alive) {
      throw new LockError(
        `another ${owner.command} holds this environment's lock: pid ${owner.pid} on ${owner.host}, since ${owner.started_at}`,
        [`lock file: ${path}`, 'wait for it to finish; if that process is gone, delete the lock file'],
      );
    }
    onStaleLock(owner);
    await rm(path, { force: true });
  }
  throw new LockError(`could not take the lock ${path}: another run keeps taking it`);
}
