// The app's requirements, resolved on the machine running the bake into a wheelhouse for
// the image's platform and Python (Debian's /usr/bin/python3, the image's interpreter),
// from the configured index. The image installs from it with no network, so the index
// is needed neither inside the image nor at boot. Credentials come from the bake's own
// environment (PIP_INDEX_URL, netrc, keyring, or user:password in the URL) and are
// redacted in the logs; none of them is passed to Packer or written to the image.

import { readFile } from 'node:fs/promises';
import type { ServiceSettings } from '../config/schema.ts';
import type { StageIO } from '../context.ts';
import { ToolError } from '../errors.ts';

/** Debian's interpreter: the same Python (3.11) and platform as the image's. */
export const BAKE_PYTHON = '/usr/bin/python3';

/** True when every requirement line carries a hash: pip then checks all of them (--require-hashes). */
export function hasHashes(requirements: string): boolean {
  return /--hash[=\s]+sha256:/.test(requirements);
}

/** The pip wheel argv: wheels for every requirement and dependency, sdists built into wheels. */
export function pipWheelArgs(
  service: Pick<ServiceSettings, 'index_url' | 'extra_index_urls'>,
  requirementsFile: string,
  wheelhouse: string,
  requireHashes: boolean,
): string[] {
  return [
    '-m',
    'pip',
    'wheel',
    '--disable-pip-version-check',
    '--no-input',
    '--progress-bar',
    'off',
    '--no-cache-dir',
    '--wheel-dir',
    wheelhouse,
    ...(requireHashes ? ['--require-hashes'] : []),
    ...(service.index_url ? ['--index-url', service.index_url] : []),
    ...service.extra_index_urls.flatMap((url) => ['--extra-index-url', url]),
    '--requirement',
    requirementsFile,
  ];
}

/**
 * pip's own variables for an index with credentials. BAKERY_PIP_* are accepted too:
 * the tooling container passes BAKERY_* variables through, and pip's names it does not.
 */
export function pipCredentialEnv(processEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL']) {
    const value = processEnv[`BAKERY_${name}`] ?? processEnv[name];
    if (value) env[name] = value;
  }
  return env;
}

export async function buildWheelhouse(
  io: StageIO,
  service: Pick<ServiceSettings, 'index_url' | 'extra_index_urls' | 'requirements'>,
  requirementsFile: string,
  wheelhouse: string,
  processEnv: NodeJS.ProcessEnv,
): Promise<void> {
  const requireHashes = hasHashes(await readFile(requirementsFile, 'utf8'));
  io.progress(`resolving ${service.requirements} into a wheelhouse${requireHashes ? ' (hashes required)' : ''}`);
  try {
    await io.run({
      tool: BAKE_PYTHON,
      args: pipWheelArgs(service, requirementsFile, wheelhouse, requireHashes),
      // No user or global pip config of the runner may send the bake elsewhere.
      env: { PIP_CONFIG_FILE: '/dev/null', PYTHONDONTWRITEBYTECODE: '1', ...pipCredentialEnv(processEnv) },
      timeoutMs: 20 * 60_000,
      errorLines: (lines) =>
        lines.filter((line) => /ERROR|error:|No matching distribution|hash/i.test(line)).slice(-20),
    });
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    const from = service.index_url ? 'service.index_url' : 'PyPI';
    throw new ToolError(
      error.failure,
      `service.requirements (${service.requirements}) could not be resolved into wheels from ${from}`,
    );
  }
}
