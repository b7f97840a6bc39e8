// Runtime settings of an environment's service: plain variables (`env`) and secrets
// (`secrets`, by reference). They are per environment and never baked: they reach the
// instances at start (local: a file copied into each container; aws: user data and SSM
// Parameter Store at boot), so changing them rolls the fleet without a bake.

import type { ConfigIssue } from '../errors.ts';
import type { TargetRules } from '../targets/kind.ts';
import { record, string } from './schema-kit.ts';

/** A name an EnvironmentFile (and a shell) accepts. */
export const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SETTING_NAME_ALLOWED = 'a variable name: letters, digits and _, not starting with a digit';

/** Names bakery's unit sets itself: an app setting must not shadow them. */
export const RESERVED_SETTINGS = /^(APP_[A-Z_]+|PYTHON[A-Z_]*|PATH|HOME|USER|LANG)$/;

export const envSchema = record(
  string({
    description: 'value',
    // One line: an EnvironmentFile and user data hold one variable per line.
    pattern: /^[^\n\r\0]{0,4096}$/,
    allowed: 'one line of text (no newline), at most 4096 characters',
  }),
  {
    description: 'Environment variables of the service, per environment; changing one rolls the fleet without a bake.',
    keyPattern: SETTING_NAME,
    keyAllowed: SETTING_NAME_ALLOWED,
  },
);

export const secretsSchema = record(
  string({
    description: 'secret reference',
    pattern: /^\S{1,2048}$/,
    allowed: 'a reference: env:NAME or file:PATH (local), an SSM parameter name (aws)',
  }),
  {
    description:
      "Secret environment variables by reference: local, env:NAME (the runner's environment) or file:PATH (relative to deploy.yaml); aws, the name of an SSM SecureString parameter read at boot.",
    keyPattern: SETTING_NAME,
    keyAllowed: SETTING_NAME_ALLOWED,
  },
);

/** A local secret reference, parsed. */
export type LocalSecretReference = { kind: 'env'; name: string } | { kind: 'file'; path: string };

const LOCAL_REFERENCE = /^(env):([A-Za-z_][A-Za-z0-9_]*)$|^(file):(.+)$/;

export function parseLocalReference(reference: string): LocalSecretReference | undefined {
  const match = LOCAL_REFERENCE.exec(reference);
  if (!match) return undefined;
  return match[1] ? { kind: 'env', name: match[2] as string } : { kind: 'file', path: match[4] as string };
}

/** Checks the names, and the references against the target's rules; `path` is the environment's path. */
export function checkSettings(
  target: Pick<TargetRules, 'secretReferenceProblem'>,
  settings: { env: Record<string, string>; secrets: Record<string, string> },
  path: string,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [kind, values] of [
    ['env', settings.env],
    ['secrets', settings.secrets],
  ] as const) {
    for (const name of Object.keys(values)) {
      if (RESERVED_SETTINGS.test(name))
        issues.push({
          path: `${path}.service.${kind}.${name}`,
          message: `${JSON.stringify(name)} is set by bakery's unit (APP_*, PYTHON*, PATH, HOME, USER, LANG): choose another name`,
        });
    }
  }
  for (const name of Object.keys(settings.env)) {
    if (name in settings.secrets)
      issues.push({
        path: `${path}.service.secrets.${name}`,
        message: `${JSON.stringify(name)} is also in service.env: a variable is either a setting or a secret`,
      });
  }
  for (const [name, reference] of Object.entries(settings.secrets)) {
    const problem = target.secretReferenceProblem(reference);
    if (problem) issues.push({ path: `${path}.service.secrets.${name}`, message: problem });
  }
  return issues;
}
