// The local database: Debian's PostgreSQL 15 in an image built once per base image from
// docker/postgres/ (like the load balancer's), one container per environment on its
// network, its data in a named volume. The container restarts with Docker (and so with
// the machine); deploys, rollbacks and rollouts never touch it; only destroy removes
// it, after a final pg_dump (backupDatabase).

import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import { pollUntil } from '../../process/poll.ts';
import { makeStateDir, stateFileError } from '../../state/files.ts';
import { initFileText, type DatabaseCredentials } from './database-credentials.ts';
import { docker, exists, inspectFormat } from './docker.ts';
import { hashText } from './haproxy.ts';
import { LABEL, ownerLabels } from './names.ts';
import type { LocalScope } from './scope.ts';

/** Where the image keeps the cluster (PGDATA in docker/postgres/Dockerfile). */
export const DATA_DIR = '/var/lib/postgresql/data';
/** The file docker/postgres/entrypoint.sh creates the cluster from on its first start. */
export const INIT_FILE = '/etc/bakery-db/init.env';
/** Seconds Docker waits after SIGINT (PostgreSQL's fast shutdown) before it kills. */
export const DATABASE_STOP_TIMEOUT_S = 60;
const READY_DEADLINE_MS = 60_000;

/** The image tag: a hash of the base image and every file under docker/postgres/, so a change builds a new one. */
export async function databaseImageTag(root: string, baseImage: string): Promise<string> {
  const dir = join(root, 'docker', 'postgres');
  const [dockerfile, entrypoint] = await Promise.all([
    readFile(join(dir, 'Dockerfile'), 'utf8'),
    readFile(join(dir, 'entrypoint.sh'), 'utf8'),
  ]);
  return `bakery/postgres:${hashText(`${baseImage}\n${dockerfile}\n${entrypoint}`)}`;
}

async function ensureDatabaseImage(io: StageIO, scope: LocalScope): Promise<string> {
  const { root, env } = scope;
  const tag = await databaseImageTag(root, env.local.base_image);
  if (await exists(io, 'image', tag)) return tag;
  io.progress(`building the database image ${tag} (PostgreSQL 15 from Debian)`);
  await io.run({
    tool: 'docker',
    args: ['build', ...databaseBuildArgs(root, env.local.base_image, tag)],
    env: { DOCKER_BUILDKIT: '0' },
  });
  return tag;
}

export function databaseBuildArgs(root: string, baseImage: string, tag: string): string[] {
  return ['--build-arg', `BASE_IMAGE=${baseImage}`, '--tag', tag, join(root, 'docker', 'postgres')];
}

/** `docker create` arguments of the database container: no published port, no -e (the credentials are copied in). */
export function databaseCreateArgs(scope: LocalScope, image: string): string[] {
  const { env, names } = scope;
  return [
    'create',
    '--name',
    names.database,
    '--network',
    names.network,
    '--restart',
    'unless-stopped',
    '--stop-timeout',
    String(DATABASE_STOP_TIMEOUT_S),
    '--volume',
    `${names.databaseVolume}:${DATA_DIR}`,
    ...ownerLabels(env, 'database'),
    '--label',
    `${LABEL.configHash}=${hashText(image)}`,
    image,
  ];
}

export interface DatabaseState {
  name: string;
  /** Docker's state of the container, or "missing". */
  state: string;
  running: boolean;
  /** pg_isready answered: the server accepts connections. */
  accepting: boolean;
  /** The app database's size in bytes, when the server answered. */
  sizeBytes?: number;
  volume: string;
}

async function containerState(io: StageIO, name: string): Promise<{ state: string; hash: string } | undefined> {
  if (!(await exists(io, 'container', name))) return undefined;
  const [state = 'unknown', hash = ''] = (
    await inspectFormat(io, 'container', name, `{{.State.Status}} {{index .Config.Labels "${LABEL.configHash}"}}`)
  ).split(' ');
  return { state, hash };
}

async function isAccepting(io: StageIO, name: string): Promise<boolean> {
  // Over TCP: the server the first start runs while it creates the role listens on the socket only.
  const result = await io.run({
    tool: 'docker',
    args: ['exec', name, 'pg_isready', '--quiet', '--host', '127.0.0.1'],
    quiet: true,
    okExitCodes: [1, 2, 3, 126, 127],
  });
  return result.exitCode === 0;
}

/**
 * Creates, starts or leaves alone the environment's database so that it runs the wanted
 * image with the data in its volume, and waits until it accepts connections. Says what it did.
 */
export async function ensureDatabase(
  io: StageIO,
  scope: LocalScope,
  credentials: DatabaseCredentials,
): Promise<'unchanged' | 'created' | 'started' | 'replaced'> {
  const { names } = scope;
  const image = await ensureDatabaseImage(io, scope);
  const found = await containerState(io, names.database);
  let did: 'unchanged' | 'created' | 'started' | 'replaced' = 'unchanged';
  if (found && found.hash !== hashText(image)) {
    io.warn(
      `database image changed: replacing ${names.database} (its data stays in volume ${names.databaseVolume}; connections drop for a few seconds)`,
    );
    await docker(io, ['rm', '--force', names.database]);
    await createDatabase(io, scope, image, credentials);
    did = 'replaced';
  } else if (!found) {
    await createDatabase(io, scope, image, credentials);
    did = 'created';
  } else if (found.state !== 'running') {
    io.warn(`database ${names.database} was ${found.state}: starting it again`);
    await docker(io, ['start', names.database]);
    did = 'started';
  }
  await waitForDatabase(io, names.database);
  await setPassword(io, names.database, credentials);
  return did;
}

async function createDatabase(
  io: StageIO,
  scope: LocalScope,
  image: string,
  credentials: DatabaseCredentials,
): Promise<void> {
  const { env, names } = scope;
  if (!(await exists(io, 'volume', names.databaseVolume))) {
    io.progress(`creating volume ${names.databaseVolume}`);
    await docker(io, ['volume', 'create', ...ownerLabels(env, 'database'), names.databaseVolume]);
  }
  io.progress(`starting database ${names.database} (PostgreSQL 15, data in volume ${names.databaseVolume})`);
  await docker(io, databaseCreateArgs(scope, image));
  // Like the service's settings (settings.ts): copied into the created container, never
  // `--env`, so no credential shows in `docker inspect`. The entrypoint deletes it once read.
  const staging = await mkdtemp(join(tmpdir(), 'bakery-db-'));
  try {
    const file = join(staging, 'init.env');
    await writeFile(file, initFileText(credentials), { mode: 0o600 });
    await docker(io, ['cp', file, `${names.database}:${INIT_FILE}`]);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await docker(io, ['start', names.database]);
}

async function waitForDatabase(io: StageIO, name: string): Promise<void> {
  io.progress(`waiting for ${name} to accept connections`);
  const ready = await pollUntil(io, {
    what: `database ${name}`,
    deadlineMs: READY_DEADLINE_MS,
    intervalMs: 300,
    onStatus: (status) => io.progress(`waiting for ${name}: ${status}`),
    attempt: async () => {
      const state = await containerState(io, name);
      if (state?.state !== 'running') return { done: false, status: `container ${state?.state ?? 'missing'}` };
      return (await isAccepting(io, name))
        ? { done: true, value: true }
        : { done: false, status: 'not accepting connections yet' };
    },
  });
  if (!ready.done)
    throw new DeployError(
      `database ${name} did not accept connections within ${READY_DEADLINE_MS / 1000} s (${ready.status})`,
      [`see: docker logs ${name}`],
    );
}

/**
 * Sets the role's password from the credentials file, over the local socket as the
 * superuser (peer authentication), the SQL on stdin (never in an argument): a re-run
 * converges even when the volume outlived an earlier credentials file.
 */
async function setPassword(io: StageIO, name: string, credentials: DatabaseCredentials): Promise<void> {
  await io.run({
    tool: 'docker',
    args: [
      'exec',
      '--interactive',
      '--user',
      'postgres',
      name,
      'psql',
      '--quiet',
      '--no-psqlrc',
      '--set',
      'ON_ERROR_STOP=1',
    ],
    input: passwordSql(credentials),
    quiet: true,
  });
}

/** Creates the role and database when missing, and sets the password; names and password are checked to need no quoting. */
export function passwordSql(credentials: DatabaseCredentials): string {
  const { user, password, database } = credentials;
  return [
    `SELECT 'CREATE ROLE "${user}" LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${user}')\\gexec`,
    `ALTER ROLE "${user}" LOGIN PASSWORD '${password}';`,
    `SELECT 'CREATE DATABASE "${database}" OWNER "${user}"' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${database}')\\gexec`,
    '',
  ].join('\n');
}

/** What status.ts shows: the container, whether it accepts connections, the database's size. */
export async function databaseState(io: StageIO, scope: LocalScope, database: string): Promise<DatabaseState> {
  const { names } = scope;
  const found = await containerState(io, names.database);
  const running = found?.state === 'running';
  const accepting = running && (await isAccepting(io, names.database));
  let sizeBytes: number | undefined;
  if (accepting) {
    const result = await io.run({
      tool: 'docker',
      args: [
        'exec',
        '--user',
        'postgres',
        names.database,
        'psql',
        '--no-psqlrc',
        '--tuples-only',
        '--no-align',
        '--command',
        `SELECT pg_database_size('${database}')`,
      ],
      quiet: true,
      okExitCodes: [1, 2],
    });
    const size = Number(result.stdout.trim());
    if (result.exitCode === 0 && Number.isFinite(size)) sizeBytes = size;
  }
  return {
    name: names.database,
    state: found?.state ?? 'missing',
    running,
    accepting,
    ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    volume: names.databaseVolume,
  };
}

/** .deploy/ENV/backups/<UTC timestamp>.dump, e.g. 2026-12-07T19-42-06Z.dump (no ":" for any file system). */
export function backupFileName(at: Date): string {
  return `${at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-')}.dump`;
}

export function backupDir(stateDir: string): string {
  return join(stateDir, 'backups');
}

/**
 * Takes the final backup before destroy: `pg_dump --format=custom` of the app database
 * inside the container, copied to .deploy/ENV/backups/<timestamp>.dump (0600). Returns
 * its path, or undefined when there is no database (no container and no volume). A
 * failure throws, so destroy stops before anything holding data is removed.
 */
export async function backupDatabase(
  io: StageIO,
  scope: LocalScope,
  stateDir: string,
  database: string,
  at: Date,
): Promise<string | undefined> {
  const { names } = scope;
  const container = await containerState(io, names.database);
  const volume = await exists(io, 'volume', names.databaseVolume);
  if (!container && !volume) return undefined;
  const failed = (why: string, details: string[] = []) =>
    new DeployError(`the final backup of database ${names.database} failed: ${why}; nothing was removed`, [
      ...details,
      `the data is still in volume ${names.databaseVolume}; fix the cause and run destroy again`,
    ]);
  if (!container)
    throw failed(`its volume ${names.databaseVolume} exists but the container does not`, [
      `run ./deploy.ts ${scope.env.name} to start the database again, then destroy`,
    ]);
  if (container.state !== 'running') {
    io.progress(`starting ${names.database} for its final backup`);
    await docker(io, ['start', names.database], { cleanup: true });
  }
  await waitForDatabase(io, names.database).catch((error: unknown) => {
    throw failed(error instanceof Error ? error.message : String(error));
  });
  const dir = backupDir(stateDir);
  await makeStateDir(dir, 'the backups directory');
  await chmod(dir, 0o700).catch((error: unknown) => {
    throw stateFileError(error, dir, 'the backups directory');
  });
  const file = join(dir, backupFileName(at));
  const inside = `/tmp/bakery-final-${process.pid}.dump`;
  io.progress(`pg_dump of ${database} to ${file}`);
  const dump = await io.run({
    tool: 'docker',
    args: ['exec', '--user', 'postgres', names.database, 'pg_dump', '--format=custom', `--file=${inside}`, database],
    okExitCodes: [1],
    cleanup: true,
  });
  if (dump.exitCode !== 0) throw failed('pg_dump exited with 1', dump.stderr.trim().split('\n').slice(-10));
  const draft = `${file}.partial`;
  try {
    await docker(io, ['cp', `${names.database}:${inside}`, draft], { cleanup: true });
    await chmod(draft, 0o600);
    await rename(draft, file);
  } catch (error) {
    await rm(draft, { force: true }).catch(() => {});
    throw failed(`the dump could not be copied to ${file}`, [
      error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
    ]);
  }
  await docker(io, ['exec', names.database, 'rm', '-f', inside], { cleanup: true, okExitCodes: [1] });
  return file;
}

/** Removes the database's volume (after the container): destroy only, after backupDatabase. */
export async function removeDatabaseVolume(io: StageIO, scope: LocalScope): Promise<string | undefined> {
  const { names } = scope;
  if (!(await exists(io, 'volume', names.databaseVolume))) return undefined;
  await docker(io, ['volume', 'rm', names.databaseVolume], { cleanup: true });
  return `volume ${names.databaseVolume}`;
}
