// How an instance container gets its runtime settings: an EnvironmentFile copied into the
// created container before it starts (`docker cp`), never `--env`/`--env-file`, whose
// values `docker inspect` shows to anyone who can reach the Docker engine. The unit reads
// it with EnvironmentFile=-/etc/bakery/app.env (root-only, 0600).
//
// Which settings a container runs with is a label: an HMAC of the settings keyed by a
// random per-environment key under .deploy/ENV/, so the rollout can tell which
// containers are current without the label giving a short secret away to a guesser.

import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeSettings } from '../../config/runtime-settings.ts';
import type { StageIO } from '../../context.ts';
import { stateFileError, writeStateFile } from '../../state/files.ts';
import { docker } from './docker.ts';
import { dockerCpInto } from './docker-commands.ts';

/** Where the unit reads the settings: app_settings_file in ansible/roles/app/defaults/main.yml. */
export const SETTINGS_FILE = '/etc/bakery/app.env';

export function settingsKeyPath(stateDir: string): string {
  return join(stateDir, 'settings.key');
}

/** The environment's key; made on first use unless `create` is false (a --dry-run writes nothing). */
async function settingsKey(stateDir: string, create: boolean): Promise<Buffer | undefined> {
  const path = settingsKeyPath(stateDir);
  try {
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'hex');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw stateFileError(error, path, 'the settings key');
  }
  if (!create) return undefined;
  const key = randomBytes(32);
  await writeStateFile(path, `${key.toString('hex')}\n`, 'the settings key', 0o600);
  return key;
}

/** Matches no container: what a dry run compares with before the key exists. */
export const UNKNOWN_DIGEST = 'not-yet-started';

/**
 * The label value naming one set of settings; the same settings give the same digest.
 * No settings give '' (the label of containers started before settings existed), and
 * need no key.
 */
export async function settingsDigest(
  stateDir: string,
  settings: RuntimeSettings,
  options: { create: boolean },
): Promise<string> {
  const entries = Object.entries(settings.variables).sort(([a], [b]) => (a < b ? -1 : 1));
  if (entries.length === 0) return '';
  const key = await settingsKey(stateDir, options.create);
  if (!key) return UNKNOWN_DIGEST;
  return createHmac('sha256', key).update(JSON.stringify(entries)).digest('hex').slice(0, 32);
}

/**
 * systemd's EnvironmentFile syntax: NAME="value", with \ and " escaped inside the
 * quotes (systemd expands no variables or specifiers there).
 */
export function envFileText(variables: Record<string, string>): string {
  const lines = Object.entries(variables).map(
    ([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`,
  );
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Copies the settings into a created (not yet started) container. The file exists on the
 * host only for the copy, in a private temporary directory outside .deploy/.
 */
export async function copySettingsInto(io: StageIO, container: string, settings: RuntimeSettings): Promise<void> {
  const staging = await mkdtemp(join(tmpdir(), 'bakery-settings-'));
  try {
    const file = join(staging, 'app.env');
    await writeFile(file, envFileText(settings.variables), { mode: 0o600 });
    // Into the directory the image made (ansible/roles/app/tasks/service.yml). Without
    // --archive the copy belongs to the container's root; the mode comes along.
    await docker(io, dockerCpInto(file, container, SETTINGS_FILE));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
