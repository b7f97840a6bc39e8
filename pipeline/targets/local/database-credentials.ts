// The local database's credentials: made once per environment, kept root-only (0600)
// in .deploy/ENV/database.json, and handed to the service as the secret DATABASE_URL
// (through the same root-only settings file as every other runtime setting). They never
// change between deploys, so DATABASE_URL never rolls the fleet by itself.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeSettings } from '../../config/runtime-settings.ts';
import { DATABASE_URL } from '../../config/database.ts';
import { DeployError } from '../../errors.ts';
import { stateFileError, writeStateFile } from '../../state/files.ts';

export interface DatabaseCredentials {
  user: string;
  password: string;
  database: string;
}

/** PostgreSQL's port inside the environment's network (never published on the host). */
export const DATABASE_PORT = 5432;

export function credentialsPath(stateDir: string): string {
  return join(stateDir, 'database.json');
}

/** A role and database name from the app's name: "my-shop" → "my_shop" (no quoting needed anywhere). */
export function databaseName(app: string): string {
  return app.replace(/-/g, '_');
}

/** Fresh credentials: 32 random bytes as hex, so the URL and the init file need no escaping. */
export function newCredentials(app: string): DatabaseCredentials {
  const name = databaseName(app);
  return { user: name, password: randomBytes(32).toString('hex'), database: name };
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const PASSWORD = /^[0-9a-f]{32,128}$/;

/** The file's contents, checked: a hand-edited file must not inject into the init script or the URL. */
export function parseCredentials(text: string, path: string): DatabaseCredentials {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new DeployError(`the database credentials in ${path} are not JSON`, [
      'restore the file from a backup of .deploy/, or, to start over, destroy the environment (it backs the data up first)',
    ]);
  }
  const { user, password, database } = (data ?? {}) as Partial<Record<keyof DatabaseCredentials, unknown>>;
  if (
    typeof user !== 'string' ||
    !NAME.test(user) ||
    typeof database !== 'string' ||
    !NAME.test(database) ||
    typeof password !== 'string' ||
    !PASSWORD.test(password)
  )
    throw new DeployError(`the database credentials in ${path} are damaged`, [
      'expected {"user", "password", "database"} as bakery wrote them',
      'restore the file from a backup of .deploy/',
    ]);
  return { user, password, database };
}

/**
 * The environment's credentials: read, or, when `create` is set and there are none yet,
 * made and written (0600). Undefined when there are none and none may be made (a dry run).
 */
export async function loadCredentials(
  stateDir: string,
  app: string,
  options: { create: boolean },
): Promise<DatabaseCredentials | undefined> {
  const path = credentialsPath(stateDir);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw stateFileError(error, path, 'the database credentials');
  }
  if (text !== undefined) return parseCredentials(text, path);
  if (!options.create) return undefined;
  // Made before the lock is taken: of two first deploys, the one that links first wins
  // and the other reads its file, so both hand out the same password.
  const credentials = newCredentials(app);
  const draft = `${path}.${process.pid}.new`;
  await writeStateFile(draft, `${JSON.stringify(credentials, null, 2)}\n`, 'the database credentials', 0o600);
  try {
    await link(draft, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw stateFileError(error, path, 'the database credentials');
    return parseCredentials(readFileSync(path, 'utf8'), path);
  } finally {
    await rm(draft, { force: true });
  }
  return credentials;
}

/** postgres://user:password@host:5432/database, as the service, release and one-off commands get it. */
export function databaseUrl(credentials: DatabaseCredentials, host: string): string {
  return `postgres://${credentials.user}:${credentials.password}@${host}:${DATABASE_PORT}/${credentials.database}`;
}

/** The init file the container's entrypoint reads on its first start (docker/postgres/entrypoint.sh). */
export function initFileText(credentials: DatabaseCredentials): string {
  return `DB_USER=${credentials.user}\nDB_NAME=${credentials.database}\nDB_PASSWORD=${credentials.password}\n`;
}

/** The settings with DATABASE_URL added as a secret (its value is redacted like every secret). */
export function withDatabaseUrl(settings: RuntimeSettings, url: string): RuntimeSettings {
  return {
    variables: { ...settings.variables, [DATABASE_URL]: url },
    secretValues: [...settings.secretValues, url],
  };
}
