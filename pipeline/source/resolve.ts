// The app's source directory on the machine running the bake: the bundled demo, the
// configured directory, or a checkout of a git source's commit.

import { dirname, join } from 'node:path';
import type { RunContext, StageIO } from '../context.ts';
import { fetchGitSource } from './git.ts';

export interface ResolvedSource {
  directory: string;
  /** The commit of a git source; "" for a directory. */
  revision: string;
}

/** `home` is where bakery's own files are (the bundled demo among them). */
export async function resolveAppSource(context: RunContext, io: StageIO, home: string): Promise<ResolvedSource> {
  const { source } = context.env.service;
  if (source.kind === 'bundled') return { directory: join(home, 'service'), revision: '' };
  if (source.kind === 'directory') return { directory: source.path, revision: '' };
  const fetched = await fetchGitSource(io, dirname(context.stateDir), source, context.config.file);
  return { directory: fetched.directory, revision: fetched.commit };
}
