// An environment's `database`, checked against its target and its service: the aws-only
// keys (RDS sizing) on a local environment are bad input, as is a DATABASE_URL the user
// also set, since bakery sets that variable itself. Defaults for aws are applied here.

import type { ConfigIssue } from '../errors.ts';
import {
  AWS_DATABASE_DEFAULTS,
  AWS_DATABASE_KEYS,
  type DatabaseSettings,
  type LocalDatabaseSettings,
  type RawEnvironment,
  type TargetName,
} from './schema.ts';

/** The variable through which the service, the release and one-off commands reach the database. */
export const DATABASE_URL = 'DATABASE_URL';

type RawDatabase = NonNullable<RawEnvironment['database']>;

/** Issues with `database` at `path` (the environment's path); none when it is absent. */
export function checkDatabase(
  target: TargetName,
  database: RawDatabase | undefined,
  service: { env: Record<string, string>; secrets: Record<string, string> },
  path: string,
): ConfigIssue[] {
  if (!database) return [];
  const issues: ConfigIssue[] = [];
  if (target === 'local') {
    for (const key of AWS_DATABASE_KEYS) {
      if (database[key] === undefined) continue;
      issues.push({
        path: `${path}.database.${key}`,
        message: `applies to target "aws" only (RDS); this environment has target "local", whose database is a container: remove ${key}`,
      });
    }
  }
  for (const kind of ['env', 'secrets'] as const) {
    if (DATABASE_URL in service[kind])
      issues.push({
        path: `${path}.service.${kind}.${DATABASE_URL}`,
        message: `is set by bakery from ${path}.database: remove it from service.${kind}, or remove the database key to bring your own`,
      });
  }
  return issues;
}

/** The local form: the engine only (checkDatabase has rejected the rest). */
export function localDatabase(database: RawDatabase | undefined): LocalDatabaseSettings | undefined {
  return database ? { engine: database.engine } : undefined;
}

/** The aws form, every RDS setting filled in. */
export function awsDatabase(database: RawDatabase | undefined): DatabaseSettings | undefined {
  if (!database) return undefined;
  return {
    engine: database.engine,
    instance_class: database.instance_class ?? AWS_DATABASE_DEFAULTS.instance_class,
    storage_gb: database.storage_gb ?? AWS_DATABASE_DEFAULTS.storage_gb,
    multi_az: database.multi_az ?? AWS_DATABASE_DEFAULTS.multi_az,
    backup_retention_days: database.backup_retention_days ?? AWS_DATABASE_DEFAULTS.backup_retention_days,
  };
}
