// Preview environments from the `previews:` template of deploy.yaml: which names a preview
// may have, the environment name it gets (short enough for every resource name derived
// from it), and the environment itself: the template's `from` with its keys replaced.
// A preview is an ordinary environment from here on; only its name and port are its own.

import { createHash } from 'node:crypto';
import { ConfigError, UsageError, type ConfigIssue } from '../errors.ts';
import {
  MAX_AWS_STACK_NAME,
  localSchema,
  type Environment,
  type LocalSettings,
  type PreviewTemplate,
  type RawEnvironment,
  type RawPreviews,
} from './schema.ts';

/** Longest name --preview accepts (a DNS label); longer environment names are shortened with a hash. */
export const MAX_PREVIEW_NAME = 63;

const PREVIEW_NAME = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** Characters of the hash that ends a shortened name. */
const HASH_CHARS = 6;

/**
 * The preview's name as asked: `12` is pull request 12's, `pr-12`; any other name must
 * be a DNS label. Bad input names the flag, the value and what is allowed.
 */
export function previewName(asked: string): string {
  const name = /^\d{1,9}$/.test(asked) ? `pr-${Number(asked)}` : asked;
  if (name.length > MAX_PREVIEW_NAME || !PREVIEW_NAME.test(name)) {
    throw new UsageError(
      `--preview ${JSON.stringify(asked)} is not allowed: expected a pull request number (12 → pr-12) or a name of lower-case letters, digits and "-", starting with a letter, at most ${MAX_PREVIEW_NAME} characters`,
    );
  }
  return name;
}

/**
 * The environment name of a preview: the name itself when APP-NAME fits the longest
 * resource name (an aws stack and its load balancer, 32 characters), otherwise its start
 * and a hash of the whole name, so two long names that share a start still differ.
 */
export function previewEnvironmentName(app: string, name: string): string {
  const room = MAX_AWS_STACK_NAME - app.length - 1;
  if (name.length <= room) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_CHARS);
  const start = name
    .slice(0, room - HASH_CHARS - 1)
    .replace(/-+$/, '')
    .replace(/^$/, 'p');
  return `${start}-${hash}`;
}

/** Turns a raw environment into its checked, defaulted form (load.ts), pushing what is wrong. */
export type NormalizeEnvironment = (
  name: string,
  raw: RawEnvironment,
  written: Set<string>,
  path: string,
  issues: ConfigIssue[],
) => Environment | undefined;

/**
 * The template of deploy.yaml's `previews:`, checked against the environments: `from`
 * must name one, and a preview made from it must be a valid environment (tried once
 * here, so a bad template fails at load, not at the first pull request).
 */
export function previewTemplate(
  file: string,
  raw: RawPreviews,
  environments: Record<string, RawEnvironment>,
  written: (envName: string) => Set<string>,
  /** Whether `from` takes a port on this machine (then each preview gets one of local_ports). */
  needsPort: boolean,
  normalize: NormalizeEnvironment,
  issues: ConfigIssue[],
): PreviewTemplate | undefined {
  const base = Object.hasOwn(environments, raw.from) ? environments[raw.from] : undefined;
  if (!base) {
    issues.push({
      path: 'previews.from',
      message: `${JSON.stringify(raw.from)} is not an environment; defined: ${Object.keys(environments).join(', ')}`,
    });
    return undefined;
  }
  const ownKeys = written(raw.from);
  if (raw.env) ownKeys.add('env');
  const make = (name: string, port: number | undefined, found: ConfigIssue[]) =>
    normalize(name, previewRaw(base, raw, port), ownKeys, 'previews', found);

  const before = issues.length;
  make('pr-1', needsPort ? raw.local_ports.first : undefined, issues);
  if (issues.length > before) return undefined;

  const preview = { from: raw.from, ttl_hours: raw.ttl_hours, ...(raw.seed ? { seed: raw.seed } : {}) };
  return {
    ...preview,
    local_ports: raw.local_ports,
    environment(name, requested, port) {
      const found: ConfigIssue[] = [];
      const env = make(name, port, found);
      if (!env) throw new ConfigError(file, found);
      return { ...env, preview: { ...preview, name: requested } };
    },
  };
}

/** The `from` environment with the template's keys in place of its own. */
function previewRaw(base: RawEnvironment, template: RawPreviews, port: number | undefined): RawEnvironment {
  const raw: RawEnvironment = structuredClone(base);
  if (template.instances) raw.instances = template.instances;
  if (template.database) raw.database = template.database;
  if (template.env) raw.service = { ...raw.service, env: { ...raw.service.env, ...template.env } };
  // A port of its own on this machine (operate/previews.ts hands them out).
  if (port !== undefined) raw.local = { ...(raw.local ?? (localSchema.fallback?.() as LocalSettings)), port };
  // The state's key is always the default one, bakery/APP/NAME/…: a key the base set for
  // itself would make every preview share its state.
  if (raw.aws?.state.key !== undefined) {
    const { key: _shared, ...state } = raw.aws.state;
    raw.aws = { ...raw.aws, state };
  }
  return raw;
}

/**
 * The preview's environment name, checked against deploy.yaml's environments: a preview
 * never takes the name (and so the containers, stack and state) of one of them.
 */
export function previewEnvironmentNameIn(
  environments: Record<string, unknown>,
  app: string,
  name: string,
  file: string,
): string {
  const envName = previewEnvironmentName(app, name);
  for (const taken of new Set([name, envName])) {
    if (Object.hasOwn(environments, taken)) {
      throw new UsageError(`--preview ${name} is not allowed: ${file} has an environment named ${taken}`, [
        'a preview needs a name of its own: its containers, stack and state are named after it',
      ]);
    }
  }
  return envName;
}
