// DATABASE_URL for an environment with a database, as a secret runtime setting. Local:
// made from the credentials under .deploy/ENV/ (created on the first deploy) and the
// database container's name on the environment's network. aws: the instances read it at
// boot (the RDS stack's secret), so the runner adds nothing.

import type { RuntimeSettings } from '../config/runtime-settings.ts';
import type { Environment } from '../config/schema.ts';
import { databaseUrl, loadCredentials, withDatabaseUrl } from './local/database-credentials.ts';
import { localNames } from './local/names.ts';

export interface DatabaseSecret {
  url: string;
  /** Values no log may show: the URL and the password alone. */
  secretValues: string[];
}

/** The environment's DATABASE_URL, or undefined (no database, another target, or a dry run before the first deploy). */
export async function resolveDatabaseSecret(
  env: Environment,
  stateDir: string,
  options: { create: boolean },
): Promise<DatabaseSecret | undefined> {
  if (env.target !== 'local' || !env.database) return undefined;
  const credentials = await loadCredentials(stateDir, env.app, options);
  if (!credentials) return undefined;
  const url = databaseUrl(credentials, localNames(env, stateDir).database);
  return { url, secretValues: [url, credentials.password] };
}

/** The runtime settings the service, the release and one-off commands start with. */
export function addDatabaseSecret(settings: RuntimeSettings, secret: DatabaseSecret | undefined): RuntimeSettings {
  return secret ? withDatabaseUrl(settings, secret.url) : settings;
}
