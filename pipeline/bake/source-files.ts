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

/** Every file under `directory` not ignored, as sorted POSIX paths relative to it. Symlinks are skipped. */
export async function listSourceFiles(directory: string, ignore: SourceIgnore): Promise<string[]> {
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
      if (isIgnored(entry.name, ignore)) continue;
      const absolute = join(current, entry.name);
      if (entry.isDirectory()) await walk(absolute);
      else if (entry.isFile()) files.push(relative(directory, absolute).split(sep).join('/'));
    }
  }
  await walk(directory);
  return files.sort();
}
