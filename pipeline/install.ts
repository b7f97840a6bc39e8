// Where bakery itself is installed (its packer/, ansible/, terraform/, docker/ and
// package.json), as opposed to the user's project, where deploy.yaml and .deploy/ live.
// The one place that works it out.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BAKERY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function bakeryVersion(): string {
  const manifest = JSON.parse(readFileSync(join(BAKERY_ROOT, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}
