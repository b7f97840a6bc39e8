// One deploy or destroy per environment at a time. The lock is a file created with
// O_EXCL holding who took it and when; a lock whose process is gone is stale and is
// taken over with a warning.

import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LockError } from '../errors.ts';
import { stateFileError } from './files.ts';

export interface LockOwner {
  pid: number;
  command: string;
  host: string;
  /** The PID namespace (Linux): a pid means something only inside its own namespace. */
  pid_namespace?: string;
  started_at: string;
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/**
 * Whether the owner may still be running. Only a pid from this host and this PID
 * namespace can be checked; any other (another machine, the tooling container) is
 * trusted to be alive.
 */
function mayBeAlive(owner: LockOwner, me: LockOwner): boolean {
  const sameNamespace = owner.pid_namespace === undefined || owner.pid_namespace === me.pid_namespace;
  if (owner.host !== me.host || !sameNamespace) return true;
  return isProcessAlive(owner.pid);
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
  const me = currentOwner(command);
  // Written in full to a private file, then linked into place: link() fails if the lock
  // exists, and nobody ever sees a lock file without its owner in it.
  const draft = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(draft, `${JSON.stringify(me)}\n`, { mode: 0o600 });
    return await takeLock(path, draft, me, onStaleLock);
  } catch (error) {
    if (error instanceof LockError) throw error;
    throw stateFileError(error, path, "the environment's lock");
  } finally {
    await rm(draft, { force: true }).catch(() => {});
  }
}

function currentOwner(command: string): LockOwner {
  const namespace = pidNamespace();
  return {
    pid: process.pid,
    command,
    host: hostname(),
    ...(namespace ? { pid_namespace: namespace } : {}),
    started_at: new Date().toISOString(),
  };
}

/** Who holds the lock, as one sentence, when a live run holds it (--dry-run says so instead of waiting). */
export async function describeLockHolder(path: string): Promise<string | undefined> {
  const owner = await readOwner(path);
  if (owner === undefined || !mayBeAlive(owner, currentOwner('status'))) return undefined;
  return describeOwner(owner, currentOwner('status'));
}

function describeOwner(owner: LockOwner, me: LockOwner): string {
  const elsewhere =
    owner.pid_namespace !== undefined && owner.pid_namespace !== me.pid_namespace
      ? ' (in another PID namespace, e.g. the tooling container)'
      : '';
  return `another ${owner.command} holds this environment's lock: pid ${owner.pid} on ${owner.host}${elsewhere}, since ${owner.started_at}`;
}

async function takeLock(
  path: string,
  draft: string,
  me: LockOwner,
  onStaleLock: (owner: LockOwner | undefined) => void,
): Promise<HeldLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await link(draft, path);
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
    if (owner !== undefined && mayBeAlive(owner, me)) {
      throw new LockError(describeOwner(owner, me), [
        `lock file: ${path}`,
        'wait for it to finish; if that process is gone, delete the lock file',
      ]);
    }
    onStaleLock(owner);
    await rm(path, { force: true });
  }
  throw new LockError(`could not take the lock ${path}: another run keeps taking it`);
}
