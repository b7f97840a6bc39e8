// Running inside the tooling container (docker/). Placeholder until the tooling-image
// work lands: every run uses the host's tools.

import type { TargetName } from '../config/schema.ts';

export type ContainerMode = 'auto' | 'always' | 'never';

export interface ContainerRequest {
  mode: ContainerMode;
  command: 'deploy' | 'destroy';
  /** The original arguments, passed on unchanged inside the container. */
  argv: readonly string[];
  root: string;
  target: TargetName;
  dryRun: boolean;
}

/** Resolves the mode from flags and BAKERY_NO_CONTAINER. */
export function containerMode(flag: string | undefined, noContainer: boolean, env: NodeJS.ProcessEnv): ContainerMode {
  if (noContainer || env.BAKERY_NO_CONTAINER === '1') return 'never';
  return (flag as ContainerMode | undefined) ?? 'auto';
}

/** Runs the command in the tooling container when the mode asks for it; returns its exit code, or undefined to run on the host. */
export async function runInContainerIfWanted(_request: ContainerRequest): Promise<number | undefined> {
  return undefined;
}
