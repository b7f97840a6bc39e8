// Stages the app's source into a clean scratch directory that the app role copies into
// the image: exactly the files the fingerprint covers (the same listing, the same
// ignore list), whatever else lies in the user's directory.

import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from '../process/command.ts';
import { listSourceFiles, readSourceIgnore } from './source-files.ts';

export interface Scratch {
  /** A fresh directory for the bake's inputs, removed by remove(). */
  directory: string;
  remove(): Promise<void>;
}

/** A scratch directory outside .deploy/: nothing here outlives the bake. */
export async function makeScratch(prefix: string): Promise<Scratch> {
  const directory = await mkdtemp(join(tmpdir(), `bakery-${prefix}-`));
  return { directory, remove: () => rm(directory, { recursive: true, force: true }) };
}

/**
 * Where the bake finds the staged tree's archive: beside the staged directory, so the
 * app role finds it from app_source_dir alone (roles/app/vars/main.yml, app_trees).
 */
export function archivePathOf(staged: string): string {
  return `${staged}.tar.gz`;
}

/**
 * Packs a staged tree into one archive the app layer installs with one copy: sorted,
 * with a fixed mtime and owners, so the same sources give the same archive.
 */
export function packTreeCommand(staged: string, archive: string): Command {
  return {
    tool: 'tar',
    args: [
      '--create',
      '--gzip',
      '--file',
      archive,
      '--sort=name',
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--directory',
      staged,
      '.',
    ],
  };
}

/** Copies the source's files (minus the ignore list) into `target`; returns their paths. */
export async function stageSource(root: string, source: string, target: string): Promise<string[]> {
  const files = await listSourceFiles(source, await readSourceIgnore(root));
  for (const path of files) {
    await mkdir(dirname(join(target, path)), { recursive: true });
    await copyFile(join(source, path), join(target, path));
  }
  return files;
}
