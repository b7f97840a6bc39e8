// The runtime settings a deploy hands to its instances, resolved once before anything
// starts: service.env as written, plus the values behind
// service.secrets (a variable of the runner's environment, or a file) when the target has
// the runner read them. A reference that leads nowhere is bad input (exit 2) naming the
// key and the reference, never a value. A target whose instances read the secrets at boot
// (aws: SSM) gets the references, and bakery never learns their values.

import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { Environment } from './schema.ts';
import { parseLocalReference } from './settings.ts';
import { targetRules } from '../targets/kind.ts';

export interface RuntimeSettings {
  /** NAME → value, as the service's environment gets them (env and, locally, secret values). */
  variables: Record<string, string>;
  /** The secret values among them, for the Redactor: they must never reach a log. */
  secretValues: string[];
  /** NAME → reference, when the instances read the secrets themselves at boot (aws: SSM parameter names). */
  secretReferences?: Record<string, string>;
}

/** A secret file larger than this is a mistake (a key store, not a value). */
const MAX_SECRET_BYTES = 64 * 1024;

export function resolveRuntimeSettings(
  env: Environment,
  configFile: string,
  processEnv: NodeJS.ProcessEnv,
): RuntimeSettings {
  const { service } = env;
  const variables: Record<string, string> = { ...service.env };
  if (targetRules(env.target).secretsReadBy === 'instances')
    return { variables, secretValues: [], secretReferences: { ...service.secrets } };

  const issues: ConfigIssue[] = [];
  const secretValues: string[] = [];
  for (const [name, reference] of Object.entries(service.secrets)) {
    const path = `environments.${env.name}.service.secrets.${name}`;
    const found = readLocalSecret(reference, configFile, processEnv);
    if ('problem' in found) {
      issues.push({ path, message: `${JSON.stringify(reference)}: ${found.problem}` });
      continue;
    }
    variables[name] = found.value;
    secretValues.push(found.value);
  }
  if (issues.length > 0) throw new ConfigError(configFile, issues);
  return { variables, secretValues };
}

function readLocalSecret(
  reference: string,
  configFile: string,
  processEnv: NodeJS.ProcessEnv,
): { value: string } | { problem: string } {
  const parsed = parseLocalReference(reference);
  // The schema checked the form already; this is for callers that skipped it.
  if (!parsed) return { problem: 'is not env:NAME or file:PATH' };
  if (parsed.kind === 'env') {
    const value = processEnv[parsed.name];
    if (value === undefined) return { problem: `the variable ${parsed.name} is not set in the runner's environment` };
    if (/[\n\r\0]/.test(value))
      return { problem: `the variable ${parsed.name} holds a newline: a setting is one line` };
    return { value };
  }
  const file = isAbsolute(parsed.path) ? parsed.path : resolve(dirname(resolve(configFile)), parsed.path);
  let text: string;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return { problem: `${file} is not a file` };
    if (stat.size > MAX_SECRET_BYTES) return { problem: `${file} is larger than ${MAX_SECRET_BYTES} bytes` };
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read (${code ?? 'error'})` };
  }
  // A file usually ends with a newline the value does not mean to include.
  const value = text.replace(/\r?\n$/, '');
  if (/[\n\r\0]/.test(value)) return { problem: `${file} holds more than one line: a setting is one line` };
  return { value };
}
