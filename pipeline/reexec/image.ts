// The tooling image's tag: a hash of everything under docker/tooling/ and the user it is
// built for, so editing the Dockerfile (or a pinned version in it) builds a new image
// on the next run, and two users of one engine do not share an image made for the other.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { IMAGE_REPOSITORY, type HostUser } from './command.ts';

/** Every regular file under `dir`, as sorted paths relative to it (with "/" separators). */
export function listFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir);
  return files.sort();
}

/** Hex SHA-256 over the directory's file names and contents and the build user. */
export function toolingHash(contextDir: string, user: HostUser): string {
  const hash = createHash('sha256');
  for (const file of listFiles(contextDir)) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(contextDir, file)));
    hash.update('\0');
  }
  hash.update(`uid=${user.uid} gid=${user.gid}`);
  return hash.digest('hex');
}

export function toolingImageTag(contextDir: string, user: HostUser): string {
  return `${IMAGE_REPOSITORY}:${toolingHash(contextDir, user).slice(0, 12)}`;
}
