// Reads deploy.yaml, validates it against the schema and turns each environment into
// its target-specific, fully defaulted form. Every problem is collected and reported
// at once, each with its field path; nothing is started before this passes.

import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { locateIssues } from './locate.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import {
  HEALTH_DEFAULTS,
  configSchema,
  type Config,
  type Environment,
  type HealthSettings,
  type RawEnvironment,
} from './schema.ts';
import { checkDatabaseUrl } from './database.ts';
import { resolveService, writtenKeys } from './service.ts';
import { checkSettings } from './settings.ts';
import { previewTemplate, type NormalizeEnvironment } from './previews.ts';
import {
  normalizeForTarget,
  targetRules,
  withKind,
  type CheckedEnvironment,
  type TargetRules,
} from '../targets/kind.ts';

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

  // One environment from its raw form: the service resolved over the shared one, then defaulted.
  const normalize: NormalizeEnvironment = (name, environment, written, path, found) => {
    const service = resolveService(file, raw.service, environment.service, written, path, found);
    return service && normalizeEnvironment(raw.app, name, { ...environment, service }, path, found);
  };
  const environments: Record<string, Environment> = {};
  for (const [name, environment] of Object.entries(raw.environments)) {
    const normalized = normalize(name, environment, writtenKeys(data, name), `environments.${name}`, issues);
    if (normalized) environments[name] = normalized;
  }
  issues.push(...checkLocalPorts(environments));
  const base =
    raw.previews && Object.hasOwn(environments, raw.previews.from) ? environments[raw.previews.from] : undefined;
  const needsPort = base !== undefined && withKind(base, (kind, typed) => kind.hostPort(typed)) !== undefined;
  // A base with problems of its own has reported them; its previews would only repeat them.
  const baseFailed = raw.previews !== undefined && Object.hasOwn(raw.environments, raw.previews.from) && !base;
  const previews =
    raw.previews &&
    !baseFailed &&
    previewTemplate(
      file,
      raw.previews,
      raw.environments,
      (name) => writtenKeys(data, name),
      needsPort,
      normalize,
      issues,
    );
  if (issues.length > 0) throw located(issues);
  return { file, app: raw.app, environments, ...(previews ? { previews } : {}) };
}

function normalizeEnvironment(
  app: string,
  name: string,
  raw: CheckedEnvironment,
  path: string,
  issues: ConfigIssue[],
): Environment | undefined {
  const before = issues.length;
  const rules = targetRules(raw.target);
  const health = applyHealthDefaults(raw, rules, path, issues);
  issues.push(...checkSettings(rules, raw.service, path));
  issues.push(...checkDatabaseUrl(raw.database, raw.service, path));
  const common = {
    name,
    app,
    instances: raw.instances,
    service: raw.service,
    health,
    image: { keep: raw.image.keep, base_max_age_days: raw.image.base_max_age_days },
    rollout: raw.rollout,
  };
  // The target's own keys, checked and defaulted by the target.
  const normalized = normalizeForTarget(raw, common, path, issues);
  return issues.length > before ? undefined : normalized;
}

function applyHealthDefaults(
  raw: Pick<RawEnvironment, 'health' | 'target'>,
  rules: TargetRules,
  path: string,
  issues: ConfigIssue[],
): HealthSettings {
  const given = definedOnly(raw.health);
  const health: HealthSettings = { ...HEALTH_DEFAULTS[raw.target], ...given };
  // A default timeout must fit under an interval the user chose (aws interval_s: 5 would
  // otherwise be rejected for a timeout_s of 5 the user never wrote).
  if (given.timeout_s === undefined) health.timeout_s = Math.min(health.timeout_s, Math.max(1, health.interval_s - 1));
  issues.push(...rules.healthIssues(health, path));
  // An interval of a second or less (local) allows a one-second timeout: HAProxy starts
  // the next check only once the last one has ended.
  const timeoutFits = health.interval_s <= 1 ? health.timeout_s <= 1 : health.timeout_s < health.interval_s;
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

/** Two environments on one port of this machine would fight over it. */
function checkLocalPorts(environments: Record<string, Environment>): ConfigIssue[] {
  const owners = new Map<number, string>();
  const issues: ConfigIssue[] = [];
  for (const environment of Object.values(environments)) {
    const claim = withKind(environment, (kind, typed) => kind.hostPort(typed));
    if (!claim) continue;
    const owner = owners.get(claim.port);
    if (owner) {
      issues.push({
        path: `environments.${environment.name}.${claim.key}`,
        message: `${claim.port} is already used by environments.${owner}: each local environment needs its own port`,
      });
    } else {
      owners.set(claim.port, environment.name);
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
