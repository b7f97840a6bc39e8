// Which tools a run needs on the host, and whether the host has them at a supported
// version (pipeline/process/tool-versions.ts judges). `--container auto` runs on the
// host only when nothing is missing.
//
// The probes run before the state directory and its logs exist (the container decision
// comes before the lock), and their output is parsed rather than logged, so they use the
// process runner's captured mode rather than a stage's logged one.

import type { TargetName } from '../config/schema.ts';
import { runCaptured } from '../process/runner.ts';
import { TOOLS, toolStatus, type ToolName, type ToolStatus } from '../process/tool-versions.ts';
import { targetRules } from '../targets/kind.ts';

/** What each command needs on each target (the target says). Destroy needs less than deploy. */
export function requiredTools(command: 'deploy' | 'destroy', target: TargetName): ToolName[] {
  return [...targetRules(target).tools[command]];
}

/** Runs a tool with its version arguments; resolves to its output, or undefined when it cannot be started. */
export type VersionProbe = (tool: ToolName, args: string[]) => Promise<string | undefined>;

/** A probe that runs the tool found on `env`'s PATH, with `env` as its environment. */
export function versionProbe(env: NodeJS.ProcessEnv): VersionProbe {
  return async (tool, args) => {
    const result = await runCaptured({
      tool,
      args,
      timeoutMs: 15_000,
      // CHECKPOINT_DISABLE: Terraform and Packer otherwise ask HashiCorp for newer releases.
      env: { ...env, CHECKPOINT_DISABLE: '1' },
    });
    return result.startError === 'ENOENT' ? undefined : `${result.stdout}\n${result.stderr}`;
  };
}

export async function checkTool(tool: ToolName, probe: VersionProbe): Promise<ToolStatus> {
  return toolStatus(tool, await probe(tool, TOOLS[tool].versionArgs));
}

/** Every tool the run needs that the host lacks or has too old; empty when the host can run it. */
export async function hostToolProblems(
  command: 'deploy' | 'destroy',
  target: TargetName,
  probe: VersionProbe,
): Promise<ToolStatus[]> {
  const statuses = await Promise.all(requiredTools(command, target).map((tool) => checkTool(tool, probe)));
  return statuses.filter((status) => status.state !== 'ok');
}
