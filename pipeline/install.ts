// Where bakery itself is installed (its packer/, ansible/, terraform/, docker/ and
// package.json), as opposed to the user's project, where deploy.yaml and .deploy/ live.
// The one place that works it out.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding bakery's package.json: one level above this file when it runs
 * from source (pipeline/install.ts), two when compiled (dist/pipeline/install.js).
 */
function installationRoot(here: string): string {
  const fromSource = resolve(here, '..');
  return existsSync(join(fromSource, 'package.json')) ? fromSource : resolve(here, '..', '..');
}

export const BAKERY_ROOT = installationRoot(dirname(fileURLToPath(import.meta.url)));

export function bakeryVersion(): string {
  const manifest = JSON.parse(readFileSync(join(BAKERY_ROOT, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}
