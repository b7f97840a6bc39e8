// The bake fingerprint: what decides whether an image must be baked again. It covers
// every file that goes into the image (the app's source as app/..., bakery's ansible/,
// packer/ and launcher/), the base image's identity and the bake variables (interface,
// packages, a git source's commit), so the same inputs always map to the same image.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { listFiles, listSourceFiles, readSourceIgnore } from './source-files.ts';

/** bakery's own directories that go into every image. */
export const BAKED_DIRECTORIES = ['ansible', 'packer', 'launcher'] as const;

// Caches and test-only files never reach the image, so they must not force a bake.
const IGNORED_NAMES = new Set(['__pycache__', '.pytest_cache', 'packer_cache', '.mypy_cache', '.DS_Store']);
const IGNORED_PATHS = new Set(['launcher/tests']);
const IGNORED_SUFFIXES = ['.pyc', '.pyo', '.swp', '~'];

function isIgnored(path: string, name: string): boolean {
  return IGNORED_NAMES.has(name) || IGNORED_PATHS.has(path) || IGNORED_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/**
 * Every file that goes into the image, as sorted POSIX paths: bakery's baked directories
 * relative to root, and the app's source (minus the ignore list) under "app/".
 */
export async function listBakedFiles(root: string, appSource: string): Promise<string[]> {
  const ignore = await readSourceIgnore(root);
  const appFiles = (await listSourceFiles(appSource, ignore)).map((path) => `app/${path}`);
  return [...(await listBakeryFiles(root)), ...appFiles].sort();
}

async function listBakeryFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  for (const directory of BAKED_DIRECTORIES) {
    const inside = await listFiles(join(root, directory), (path, name) => isIgnored(`${directory}/${path}`, name));
    files.push(...inside.map((path) => `${directory}/${path}`));
  }
  return files.sort();
}

export interface FingerprintInputs {
  root: string;
  /** The app's source directory (the bundled demo's is root/service). */
  appSource: string;
  /** Digest or id of the base image: a new base means a new image. */
  baseImage: string;
  /** Bake variables that end up in the image (not the bake time). */
  variables: Record<string, string>;
}

export async function computeFingerprint(inputs: FingerprintInputs): Promise<string> {
  const files = await listBakedFiles(inputs.root, inputs.appSource);
  return digest('bakery-fingerprint-v2', files, inputs);
}

// What only the app layer runs (the app role's templates and tasks, but those the base
// layer runs too: packages, the service account, bakery's runtime and its secrets
// unit, the launcher's tree): a change there bakes the app layer again, never the base
// layer. The role's files/ stay in the base layer's fingerprint: the ignore list there
// shapes the launcher's tree too.
const APP_LAYER_ONLY =
  /^ansible\/roles\/app\/(templates\/(?!secrets\.service\.j2$)|tasks\/(?!(main|preflight|packages|user|runtime|files|tree)\.yml$))/;

/**
 * The base layer's fingerprint (roles base and hardening, the app's Debian packages, the
 * service account and bakery's launcher): the same files as the image's minus what only
 * the app layer runs, none of the app's source, the base image and the variables the
 * base layer is baked with.
 */
export async function computeBaseLayerFingerprint(inputs: Omit<FingerprintInputs, 'appSource'>): Promise<string> {
  const files = (await listBakeryFiles(inputs.root)).filter((path) => !APP_LAYER_ONLY.test(path));
  return digest('bakery-base-layer-v1', files, { ...inputs, appSource: inputs.root });
}

async function digest(kind: string, files: readonly string[], inputs: FingerprintInputs): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${kind}\n`);
  for (const path of files) {
    const absolute = path.startsWith('app/') ? join(inputs.appSource, path.slice(4)) : join(inputs.root, path);
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
