// Names and labels of everything the local target creates. Labels are how bakery finds
// its own resources again (and how destroy proves nothing is left).

import type { LocalEnvironment } from '../../config/schema.ts';

export const LABEL = {
  app: 'bakery.app',
  env: 'bakery.env',
  role: 'bakery.role',
  fingerprint: 'bakery.fingerprint',
  // On instances: a keyed digest of the runtime settings (settings.ts), never a value.
  settings: 'bakery.settings',
  configHash: 'bakery.config-hash',
  // On images, from packer/app.pkr.hcl's docker_labels.
  gitRevision: 'bakery.git_revision',
  bakedAt: 'bakery.baked_at',
  layer: 'bakery.layer',
  builtFrom: 'bakery.built_from',
} as const;

export type Role = 'instance' | 'lb' | 'network' | 'database' | 'one-off';

export interface LocalNames {
  /** app-env, the prefix of every name. */
  project: string;
  network: string;
  lb: string;
  /** The PostgreSQL container (environments with a database). */
  database: string;
  /** The named volume holding its data: survives deploys, rollbacks and restarts; only destroy removes it. */
  databaseVolume: string;
  imageRepository: string;
  /** Host directory holding the load balancer's generated configuration. */
  lbConfigDir: string;
}

export function localNames(env: LocalEnvironment, stateDir: string): LocalNames {
  const project = `${env.app}-${env.name}`;
  return {
    project,
    network: `${project}-net`,
    lb: `${project}-lb`,
    database: `${project}-db`,
    databaseVolume: `${project}-db-data`,
    imageRepository: `bakery/${project}`,
    lbConfigDir: `${stateDir}/haproxy`,
  };
}

export function instanceName(names: LocalNames, fingerprint: string): string {
  const suffix = Math.random().toString(36).slice(2, 6);
  return `${names.project}-${fingerprint.slice(0, 8)}-${suffix}`;
}

/** `--filter` arguments matching this app and environment, optionally one role. */
export function ownerFilters(env: LocalEnvironment, role?: Role): string[] {
  const filters = ['--filter', `label=${LABEL.app}=${env.app}`, '--filter', `label=${LABEL.env}=${env.name}`];
  if (role) filters.push('--filter', `label=${LABEL.role}=${role}`);
  return filters;
}

export function ownerLabels(env: LocalEnvironment, role: Role): string[] {
  return [
    '--label',
    `${LABEL.app}=${env.app}`,
    '--label',
    `${LABEL.env}=${env.name}`,
    '--label',
    `${LABEL.role}=${role}`,
  ];
}
