import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { LockError } from '../../pipeline/errors.ts';
import { acquireLock, isProcessAlive, type LockOwner } from '../../pipeline/state/lock.ts';
import { makeTempDir, removeDir, runCli } from '../support/files.ts';
import { suite } from '../support/suite.ts';

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  const child = spawnSync('bash', ['-c', 'echo $$']);
  return Number(child.stdout.toString().trim());
}

function writeOwner(path: string, owner: LockOwner): void {
  writeFileSync(path, `${JSON.stringify(owner)}\n`);
}

async function lockErrorOf(promise: Promise<unknown>): Promise<LockError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, LockError);
    return error as LockError;
  }
  assert.unreachable('the lock was granted');
  throw new Error('unreachable');
}

const locking = suite<{ dir: string; path: string }>('the environment lock');
locking.before.each((context) => {
  context.dir = makeTempDir();
  context.path = join(context.dir, '.deploy', 'local', 'lock');
});
locking.after.each(({ dir }) => removeDir(dir));

locking('creates the lock file with our pid, command, host and start time', async ({ path }) => {
  const before = Date.now();
  const lock = await acquireLock(path, 'deploy', () => assert.unreachable('no stale lock here'));
  const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  assert.is(lock.path, path);
  assert.is(owner.pid, process.pid);
  assert.is(owner.command, 'deploy');
  assert.is(owner.host, hostname());
  assert.ok(Date.parse(owner.started_at) >= before - 1000);
  await lock.release();
  assert.not.ok(existsSync(path));
});

locking('refuses a second acquire, saying who holds it since when', async ({ path }) => {
  const first = await acquireLock(path, 'deploy', () => {});
  const { started_at } = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  const error = await lockErrorOf(acquireLock(path, 'destroy', () => {}));
  assert.is(
    error.message,
    `another deploy holds this environment's lock: pid ${process.pid} on ${hostname()}, since ${started_at}`,
  );
  assert.is(error.exitCode, 1);
  assert.equal(error.details[0], `lock file: ${path}`);
  assert.is(
    (JSON.parse(readFileSync(path, 'utf8')) as LockOwner).command,
    'deploy',
    'the refused run changed the lock',
  );
  await first.release();
});

locking('grants the lock to exactly one of several concurrent acquires', async ({ path }) => {
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => acquireLock(path, 'deploy', () => {})));
  assert.is(results.filter((result) => result.status === 'fulfilled').length, 1);
  for (const result of results) if (result.status === 'rejected') assert.instance(result.reason, LockError);
});

locking('takes over a stale lock from a dead process and warns', async ({ path, dir }) => {
  mkdirSync(join(dir, '.deploy', 'local'), { recursive: true });
  const stale: LockOwner = {
    pid: deadPid(),
    command: 'destroy',
    host: hostname(),
    started_at: '2026-11-21T08:00:00.000Z',
  };
  assert.not.ok(isProcessAlive(stale.pid));
  writeOwner(path, stale);
  const warnings: Array<LockOwner | undefined> = [];
  const lock = await acquireLock(path, 'deploy', (owner) => warnings.push(owner));
  assert.equal(warnings, [stale]);
  assert.is((JSON.parse(readFileSync(path, 'utf8')) as LockOwner).pid, process.pid);
  await lock.release();
});

locking('trusts a lock held on another host', async ({ path, dir }) => {
  mkdirSync(join(dir, '.deploy', 'local'), { recursive: true });
  writeOwner(path, {
    pid: deadPid(),
    command: 'deploy',
    host: `not-${hostname()}`,
    started_at: '2026-11-21T08:00:00.000Z',
  });
  const error = await lockErrorOf(
    acquireLock(path, 'deploy', () => assert.unreachable('took over a lock from another host')),
  );
  assert.match(error.message, `on not-${hostname()}, since 2026-11-21T08:00:00.000Z`);
});

locking('trusts a lock held in another PID namespace of this host (the tooling container)', async ({ path, dir }) => {
  mkdirSync(join(dir, '.deploy', 'local'), { recursive: true });
  writeOwner(path, {
    pid: deadPid(),
    command: 'deploy',
    host: hostname(),
    pid_namespace: 'pid:[1]',
    started_at: '2026-11-21T08:00:00.000Z',
  });
  const error = await lockErrorOf(
    acquireLock(path, 'deploy', () => assert.unreachable('took over a lock from another PID namespace')),
  );
  assert.match(error.message, 'in another PID namespace');
});

locking('writes its PID namespace into the lock and leaves no draft file behind', async ({ path, dir }) => {
  const lock = await acquireLock(path, 'deploy', () => {});
  const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  assert.match(owner.pid_namespace ?? '', /^pid:\[\d+\]$/);
  assert.equal(readdirSync(join(dir, '.deploy', 'local')), ['lock']);
  await lock.release();
});

locking('releases only a lock that is still ours', async ({ path }) => {
  const lock = await acquireLock(path, 'deploy', () => {});
  const other: LockOwner = { pid: 1, command: 'deploy', host: hostname(), started_at: new Date().toISOString() };
  writeOwner(path, other);
  await lock.release();
  assert.ok(existsSync(path), 'released a lock another run holds');
  assert.equal(JSON.parse(readFileSync(path, 'utf8')), other);
});

locking('releases twice without harm', async ({ path }) => {
  const lock = await acquireLock(path, 'deploy', () => {});
  await lock.release();
  await lock.release();
  assert.not.ok(existsSync(path));
});

locking('tells a live process from a dead one', () => {
  assert.ok(isProcessAlive(process.pid));
  assert.not.ok(isProcessAlive(deadPid()));
});

locking.run();

// ---------------------------------------------------------------------------------------

const cli = suite<{ dir: string }>('./deploy.ts and ./destroy.ts respect the lock');
cli.before.each((context) => {
  context.dir = makeTempDir();
  writeFileSync(join(context.dir, 'deploy.yaml'), 'app: shop\nenvironments:\n  local: { target: local }\n');
  mkdirSync(join(context.dir, '.deploy', 'local'), { recursive: true });
});
cli.after.each(({ dir }) => removeDir(dir));

for (const script of ['deploy.ts', 'destroy.ts'] as const) {
  cli(`${script} exits 1 while another run holds the lock, naming it`, async ({ dir }) => {
    const path = join(dir, '.deploy', 'local', 'lock');
    const holder: LockOwner = {
      pid: process.pid,
      command: 'deploy',
      host: hostname(),
      started_at: '2026-11-22T09:00:00.000Z',
    };
    writeOwner(path, holder);
    const result = await runCli(script, ['local', '--config', join(dir, 'deploy.yaml')]);
    assert.is(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      `another deploy holds this environment's lock: pid ${process.pid} on ${hostname()}, since 2026-11-22T09:00:00.000Z`,
    );
    assert.match(result.stderr, `lock file: ${path}`);
    assert.not.match(result.stderr, '[preflight]');
    assert.is(result.stdout, '');
    assert.equal(JSON.parse(readFileSync(path, 'utf8')), holder);
    assert.not.ok(existsSync(join(dir, '.deploy', 'local', 'logs')), 'logs were started before the lock was held');
  });
}

cli.run();
