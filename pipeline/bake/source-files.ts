// The app's files that go into the image: one ignore list (ansible/roles/app/files/
// source-ignore.yml), read here for the fingerprint and for staging, and by the app role,
// so the image holds exactly the files the fingerprint covers.

import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parse } from 'yaml';

export const SOURCE_IGNORE_FILE = 'ansible/roles/app/files/source-ignore.yml';

export interface SourceIgnore {
  /** Directory or file names ignored at any depth. */
  names: string[];
  /** File name endings ignored. */
  suffixes: string[];
}

export async function readSourceIgnore(root: string): Promise<SourceIgnore> {
  const document = parse(await readFile(join(root, SOURCE_IGNORE_FILE), 'utf8')) as Partial<SourceIgnore> | null;
  return { names: document?.names ?? [], suffixes: document?.suffixes ?? [] };
}

export function isIgnored(name: string, ignore: SourceIgnore): boolean {
  return ignore.names.includes(name) || ignore.suffixes.some((suffix) => name.endsWith(suffix));
}

/**
 * Every file under `directory` that `skip` does not leave out (it sees each entry's POSIX
 * path relative to `directory` and its name; a skipped directory is not entered), as
 * sorted POSIX paths relative to `directory`. Symlinks are skipped; a missing directory
 * has no files.
 */
export async function listFiles(directory: string, skip: (path: string, name: string) => boolean): Promise<string[]> {
  const files: string[] = [];
  async function walk(current: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const absolute = join(current, entry.name);
      const path = relative(directory, absolute).split(sep).join('/');
      if (skip(path, entry.name)) continue;
      if (entry.isDirectory()) await walk(absolute);
      else if (entry.isFile()) files.push(path);
    }
  }
  await walk(directory);
  return files.sort();
}

/** Every file of the app's source not on the ignore list. */
export function listSourceFiles(directory: string, ignore: SourceIgnore): Promise<string[]> {
  return listFiles(directory, (_path, name) => isIgnored(name, ignore));
}
