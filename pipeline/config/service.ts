// The service an environment deploys: the top-level `service` overridden key by key by the
// environment's, resolved against deploy.yaml's directory. A source directory or a
// requirements file that is not there is bad input, found before anything starts.

import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ConfigIssue } from '../errors.ts';
import {
  BUNDLED_ENTRYPOINT,
  DEFAULT_RELEASE_TIMEOUT_S,
  type AppSource,
  type RawServiceSettings,
  type ServiceSettings,
  type sharedServiceSchema,
} from './schema.ts';
import type { Infer } from './schema-kit.ts';

type SharedService = Infer<typeof sharedServiceSchema>;

const APP_KEYS = [
  'port',
  'health_path',
  'source',
  'entrypoint',
  'interface',
  'requirements',
  'index_url',
  'extra_index_urls',
  'packages',
  'build',
  'release',
  'release_timeout_s',
] as const;

/** Keys the user wrote under an environment's service (defaults applied by the schema are not). */
export function writtenKeys(data: unknown, envName: string): Set<string> {
  const environments = (data as { environments?: Record<string, { service?: unknown }> } | null)?.environments;
  const service = environments?.[envName]?.service;
  return new Set(typeof service === 'object' && service !== null ? Object.keys(service) : []);
}

export function resolveService(
  file: string,
  shared: SharedService | undefined,
  own: RawServiceSettings,
  written: Set<string>,
  path: string,
  issues: ConfigIssue[],
): ServiceSettings | undefined {
  const merged: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  for (const key of APP_KEYS) {
    if (written.has(key) && own[key] !== undefined) {
      merged[key] = own[key];
      origins[key] = `${path}.service.${key}`;
    } else if (shared?.[key] !== undefined) {
      merged[key] = shared[key];
      origins[key] = `service.${key}`;
    } else if (own[key] !== undefined) {
      merged[key] = own[key];
      origins[key] = `${path}.service.${key}`;
    }
  }
  const where = (key: string): string => origins[key] ?? `service.${key}`;
  const before = issues.length;
  const given = merged.source as RawServiceSettings['source'];
  let source: AppSource = { kind: 'bundled' };
  if (typeof given === 'string') {
    const directory = isAbsolute(given) ? given : resolve(dirname(resolve(file)), given);
    if (!isDirectory(directory)) {
      issues.push({
        path: where('source'),
        message: `${JSON.stringify(given)} is not a directory (looked for ${directory}): give the app's directory, relative to deploy.yaml`,
      });
    }
    source = { kind: 'directory', path: directory, key: where('source') };
  } else if (given) {
    source = { kind: 'git', url: given.git, ref: given.ref, key: where('source') };
  }

  if (source.kind !== 'bundled' && merged.entrypoint === undefined) {
    issues.push({
      path: where('entrypoint'),
      message: 'is required when service.source is set: module:attribute or module:factory(), such as "app:app"',
    });
  }
  const requirements = merged.requirements as string | undefined;
  if (requirements !== undefined && source.kind === 'directory' && isDirectory(source.path)) {
    const requirementsFile = join(source.path, requirements);
    if (!existsSync(requirementsFile) || isDirectory(requirementsFile)) {
      issues.push({
        path: where('requirements'),
        message: `${JSON.stringify(requirements)} is not a file in the source (looked for ${requirementsFile})`,
      });
    }
  }
  if (issues.length > before) return undefined;
  return {
    port: merged.port as number,
    health_path: merged.health_path as string,
    source,
    entrypoint: (merged.entrypoint as string | undefined) ?? BUNDLED_ENTRYPOINT,
    interface: (merged.interface as ServiceSettings['interface'] | undefined) ?? 'wsgi',
    ...(requirements === undefined ? {} : { requirements }),
    ...(merged.index_url === undefined ? {} : { index_url: merged.index_url as string }),
    extra_index_urls: (merged.extra_index_urls as string[] | undefined) ?? [],
    packages: (merged.packages as string[] | undefined) ?? [],
    build: (merged.build as string[] | undefined) ?? [],
    release: (merged.release as string[] | undefined) ?? [],
    release_timeout_s: (merged.release_timeout_s as number | undefined) ?? DEFAULT_RELEASE_TIMEOUT_S,
    // Never shared: the top-level service has no env or secrets (schema.ts).
    env: own.env ?? {},
    secrets: own.secrets ?? {},
  };
}

/** The bundled demo served as today: what an environment without service.source gets. */
export function bundledService(port = 8080, health_path = '/health'): ServiceSettings {
  return {
    port,
    health_path,
    source: { kind: 'bundled' },
    entrypoint: BUNDLED_ENTRYPOINT,
    interface: 'wsgi',
    extra_index_urls: [],
    packages: [],
    build: [],
    release: [],
    release_timeout_s: DEFAULT_RELEASE_TIMEOUT_S,
    env: {},
    secrets: {},
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
