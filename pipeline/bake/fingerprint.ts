// The bake fingerprint: what decides whether an image must be baked again. It covers
// every file that goes into the image (service/, ansible/, packer/), the base image's
// identity and the bake variables, so the same inputs always map to the same image.

import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export const BAKED_DIRECTORIES = ['service', 'ansible', 'packer'] as const;

// Caches and test-only files never reach the image (the app role skips them too), so
// they must not force a bake.
const IGNORED_NAMES = new Set(['__pycache__', '.pytest_cache', 'packer_cache', '.mypy_cache', '.DS_Store']);
const IGNORED_PATHS = new Set(['service/tests']);
const IGNORED_SUFFIXES = ['.pyc', '.pyo', '.swp', '~'];

function isIgnored(path: string, name: string): boolean {
  return IGNORED_NAMES.has(name) || IGNORED_PATHS.has(path) || IGNORED_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/** Every file under the baked directories, as sorted POSIX paths relative to root. */
export async function listBakedFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  async function walk(directory: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const absolute = join(directory, entry.name);
      const path = relative(root, absolute).split(sep).join('/');
      if (isIgnored(path, entry.name)) continue;
      if (entry.isDirectory()) await walk(absolute);
      else if (entry.isFile()) files.push(path);
    }
  }
  for (const directory of BAKED_DIRECTORIES) await walk(join(root, directory));
  return files.sort();
}

export interface FingerprintInputs {
  root: string;
  /** Digest or id of the base image: a new base means a new image. */
  baseImage: string;
  /** Bake variables that end up in the image (not the bake time). */
  variables: Record<string, string>;
}

export async function computeFingerprint(inputs: FingerprintInputs): Promise<string> {
  const hash = createHash('sha256');
  hash.update('bakery-fingerprint-v1\n');
  for (const path of await listBakedFiles(inputs.root)) {
    const absolute = join(inputs.root, path);
    const [content, info] = await Promise.all([readFile(absolute), stat(absolute)]);
    const executable = (info.mode & 0o111) !== 0 ? 'x' : '-';
    hash.update(`file ${path} ${executable} ${createHash('sha256').update(content).digest('hex')}\n`);
  }
  hash.update(`base ${inputs.baseImage}\n`);
  for (const name of Object.keys(inputs.variables).sort()) hash.update(`var ${name}=${inputs.variables[name]}\n`);
  return hash.digest('hex');
}

export function shortFingerprint(fingerprint: string): string {
  return fingerprint.slice(0, 12);
}
