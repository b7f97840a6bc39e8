// Reads deploy.yaml, validates it against the schema and turns each environment into
// its target-specific, fully defaulted form. Every problem is collected and reported
// at once, each with its field path; nothing is started before this passes.

import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { locateIssues } from './locate.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import {
  HEALTH_DEFAULTS,
  MAX_AWS_STACK_NAME,
  awsStackName,
  configSchema,
  localSchema,
  type AwsEnvironment,
  type Config,
  type Environment,
  type HealthSettings,
  type LocalEnvironment,
  type RawEnvironment,
  type ServiceSettings,
} from './schema.ts';
import { awsDatabase, checkDatabase, localDatabase } from './database.ts';
import { resolveService, writtenKeys } from './service.ts';
import { checkSettings } from './settings.ts';

const DEFAULT_BASE_AMI = { owner: '136693071363', name: 'debian-12-amd64-*' };

export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found (pass --config PATH or create deploy.yaml)'
        : `cannot be read (${code ?? String(error)})`;
    throw new ConfigError(file, [{ path: '', message: reason }]);
  }
  return parseConfig(text, file);
}

/**
 * Aliases a deploy.yaml could sensibly use; far below what an alias bomb ("billion
 * laughs": aliases of aliases, each level multiplying the expansion) needs.
 */
const MAX_ALIASES = 100;

/** The document as plain data; an expansion that explodes is bad input, not a crash. */
function toPlainData(document: ReturnType<typeof parseDocument>, file: string): unknown {
  try {
    return document.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(file, [
      {
        path: '',
        message: `YAML aliases expand too far (${reason}): at most ${MAX_ALIASES} alias uses are allowed; write the values out instead`,
      },
    ]);
  }
}

export function parseConfig(text: string, file = 'deploy.yaml'): Config {
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (document.errors.length > 0) {
    throw new ConfigError(
      file,
      document.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return {
          path: '',
          message: `YAML syntax error at line ${line}, column ${col}: ${error.message.split('\n')[0]}`,
        };
      }),
    );
  }
  const data = toPlainData(document, file);
  if (data === null || data === undefined) {
    throw new ConfigError(file, [{ path: '', message: 'the file is empty: expected "app" and "environments"' }]);
  }
  const issues: ConfigIssue[] = [];
  const located = (found: ConfigIssue[]) => new ConfigError(file, locateIssues(found, document, lines));
  const raw = configSchema.check(data, '', issues);
  if (!raw) throw located(issues);

  const environments: Record<string, Environment> = {};
  for (const [name, environment] of Object.entries(raw.environments)) {
    const path = `environments.${name}`;
    const service = resolveService(file, raw.service, environment.service, writtenKeys(data, name), path, issues);
    if (!service) continue;
    const normalized = normalizeEnvironment(raw.app, name, { ...environment, service }, path, issues);
    if (normalized) environments[name] = normalized;
  }
  issues.push(...checkLocalPorts(environments));
  if (issues.length > 0) throw located(issues);
  return { file, app: raw.app, environments };
}

function normalizeEnvironment(
  app: string,
  name: string,
  raw: Omit<RawEnvironment, 'service'> & { service: ServiceSettings },
  path: string,
  issues: ConfigIssue[],
): Environment | undefined {
  const before = issues.length;
  const health = applyHealthDefaults(raw, path, issues);
  issues.push(...checkSettings(raw.target, raw.service, path));
  issues.push(...checkDatabase(raw.target, raw.database, raw.service, path));
  const common = {
    name,
    app,
    instances: raw.instances,
    service: raw.service,
    health,
    image: { keep: raw.image.keep, base_max_age_days: raw.image.base_max_age_days },
    rollout: raw.rollout,
  };

  if (raw.target === 'local') {
    if (raw.aws)
      issues.push({
        path: `${path}.aws`,
        message: 'applies to target "aws" only; this environment has target "local"',
      });
    if (raw.image.base)
      issues.push({
        path: `${path}.image.base`,
        message: 'is an AMI filter for target "aws"; on target "local" set local.base_image',
      });
    if (issues.length > before) return undefined;
    const local = raw.local ?? (localSchema.fallback?.() as LocalEnvironment['local']);
    const database = localDatabase(raw.database);
    return { ...common, target: 'local', local, ...(database ? { database } : {}) } satisfies LocalEnvironment;
  }

  if (raw.local)
    issues.push({
      path: `${path}.local`,
      message: 'applies to target "local" only; this environment has target "aws"',
    });
  if (!raw.aws) issues.push({ path: `${path}.aws`, message: 'is required for target "aws": set at least aws.region' });
  const stack = awsStackName(app, name);
  if (stack.length > MAX_AWS_STACK_NAME) {
    issues.push({
      path,
      message: `app and environment name make "${stack}" (${stack.length} characters), but the load balancer's name allows ${MAX_AWS_STACK_NAME}: shorten the environment name or the app name`,
    });
  }
  if (issues.length > before || !raw.aws) return undefined;
  const database = awsDatabase(raw.database);
  return {
    ...common,
    target: 'aws',
    aws: raw.aws,
    baseAmi: raw.image.base ?? DEFAULT_BASE_AMI,
    ...(database ? { database } : {}),
  } satisfies AwsEnvironment;
}

function applyHealthDefaults(
  raw: Pick<RawEnvironment, 'health' | 'target'>,
  path: string,
  issues: ConfigIssue[],
): HealthSettings {
  const given = definedOnly(raw.health);
  const health: HealthSettings = { ...HEALTH_DEFAULTS[raw.target], ...given };
  // A default timeout must fit under an interval the user chose (aws interval_s: 5 would
  // otherwise be rejected for a timeout_s of 5 the user never wrote).
  if (given.timeout_s === undefined) health.timeout_s = Math.min(health.timeout_s, Math.max(1, health.interval_s - 1));
  if (raw.target === 'aws') {
    // Target group limits: interval 5-300 s, timeout 2-120 s and shorter than the interval.
    if (health.interval_s < 5)
      issues.push({
        path: `${path}.health.interval_s`,
        message: `${health.interval_s} is out of range for target "aws": expected 5 to 300`,
      });
    if (health.timeout_s < 2)
      issues.push({
        path: `${path}.health.timeout_s`,
        message: `${health.timeout_s} is out of range for target "aws": expected 2 to 120`,
      });
  }
  const timeoutFits = health.interval_s === 1 ? health.timeout_s <= 1 : health.timeout_s < health.interval_s;
  if (!timeoutFits) {
    issues.push({
      path: `${path}.health.timeout_s`,
      message: `${health.timeout_s} must be less than interval_s (${health.interval_s})`,
    });
  }
  return health;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Two local environments on one port would fight over it. */
function checkLocalPorts(environments: Record<string, Environment>): ConfigIssue[] {
  const owners = new Map<number, string>();
  const issues: ConfigIssue[] = [];
  for (const environment of Object.values(environments)) {
    if (environment.target !== 'local') continue;
    const owner = owners.get(environment.local.port);
    if (owner) {
      issues.push({
        path: `environments.${environment.name}.local.port`,
        message: `${environment.local.port} is already used by environments.${owner}: each local environment needs its own port`,
      });
    } else {
      owners.set(environment.local.port, environment.name);
    }
  }
  return issues;
}

/** Looks up one environment, or explains which exist. */
export function selectEnvironment(config: Config, name: string): Environment {
  const environment = Object.hasOwn(config.environments, name) ? config.environments[name] : undefined;
  if (environment) return environment;
  const names = Object.keys(config.environments);
  throw new ConfigError(config.file, [
    { path: 'environments', message: `no environment named ${JSON.stringify(name)}; defined: ${names.join(', ')}` },
  ]);
}
