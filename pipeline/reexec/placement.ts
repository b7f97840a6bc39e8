// Where a run goes: on the host, or into the tooling container. Pure, so every rule is
// tested without starting anything.

import { describeToolStatus, type ToolStatus } from '../process/tool-versions.ts';

export type ContainerMode = 'auto' | 'always' | 'never';

/** Resolves the mode from --container, --no-container and BAKERY_NO_CONTAINER=1. */
export function containerMode(flag: string | undefined, noContainer: boolean, env: NodeJS.ProcessEnv): ContainerMode {
  if (noContainer || env.BAKERY_NO_CONTAINER === '1') return 'never';
  return (flag as ContainerMode | undefined) ?? 'auto';
}

/** The tooling image sets BAKERY_IN_CONTAINER=1. */
export function isInToolingContainer(env: NodeJS.ProcessEnv): boolean {
  return env.BAKERY_IN_CONTAINER === '1';
}

export interface Placement {
  where: 'host' | 'container';
  reason: string;
}

/**
 * Inside the tooling container every mode runs right there (so CI jobs that already run
 * in the image can say --container always too). `problems` are the host's missing or
 * too old tools, which only auto looks at.
 */
export function decidePlacement(mode: ContainerMode, inContainer: boolean, problems: readonly ToolStatus[]): Placement {
  if (inContainer) return { where: 'host', reason: 'already inside the tooling container' };
  if (mode === 'never') return { where: 'host', reason: '--container never' };
  if (mode === 'always') return { where: 'container', reason: '--container always' };
  if (problems.length === 0) return { where: 'host', reason: 'every tool is on the host at a supported version' };
  return { where: 'container', reason: problems.map(describeToolStatus).join('; ') };
}
