// Which tools a run needs on the host, and whether the host has them at a supported
// version. `--container auto` runs on the host only when nothing is missing.
//
// The probes run before the state directory and its logs exist (the container decision
// comes before the lock), and their output is parsed rather than logged, so they use a
// small execFile of their own instead of the stage-bound process runner.

import { execFile } from 'node:child_process';
import type { TargetName } from '../config/schema.ts';

export type ToolName = 'docker' | 'packer' | 'terraform' | 'ansible-playbook';

export interface ToolSpec {
  name: ToolName;
  /** Arguments that make the tool print its version and nothing else of note. */
  versionArgs: string[];
  /** Oldest version bakery is tested with. */
  minimum: string;
  /** Pulls "1.2.3" out of the tool's version output. */
  parse(output: string): string | undefined;
}

// The floors are the versions Debian 12 ships (docker.io 20.10, packer 1.6.6,
// ansible-core 2.14), which is what CI installs; Terraform is not in Debian, 1.5 is the
// oldest release with the language features the stack uses. The tooling image pins newer.
export const TOOLS: Record<ToolName, ToolSpec> = {
  docker: {
    name: 'docker',
    versionArgs: ['--version'],
    minimum: '20.10.0',
    parse: (output) => /Docker version v?(\d+\.\d+(?:\.\d+)?)/.exec(output)?.[1],
  },
  packer: {
    name: 'packer',
    versionArgs: ['version'],
    minimum: '1.6.6',
    parse: (output) => /Packer v?(\d+\.\d+\.\d+)/.exec(output)?.[1],
  },
  terraform: {
    name: 'terraform',
    versionArgs: ['version'],
    minimum: '1.5.0',
    parse: (output) => /Terraform v(\d+\.\d+\.\d+)/.exec(output)?.[1],
  },
  'ansible-playbook': {
    name: 'ansible-playbook',
    versionArgs: ['--version'],
    minimum: '2.14.0',
    // "ansible-playbook [core 2.14.18]" since 2.11, "ansible-playbook 2.10.8" before.
    parse: (output) => /ansible-playbook (?:\[core )?(\d+\.\d+\.\d+)/.exec(output)?.[1],
  },
};

/** What each command needs on each target. Destroy needs less than deploy. */
export function requiredTools(command: 'deploy' | 'destroy', target: TargetName): ToolName[] {
  if (target === 'local') return command === 'deploy' ? ['docker', 'packer', 'ansible-playbook'] : ['docker'];
  return command === 'deploy' ? ['packer', 'terraform', 'ansible-playbook'] : ['terraform'];
}

/** Compares dotted numeric versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

export type ToolStatus =
  | { tool: ToolName; state: 'ok'; version: string }
  | { tool: ToolName; state: 'missing' }
  | { tool: ToolName; state: 'too-old'; version: string; minimum: string }
  | { tool: ToolName; state: 'unknown-version'; output: string };

/** Runs a tool with its version arguments; resolves to its output, or undefined when it cannot be started. */
export type VersionProbe = (tool: ToolName, args: string[]) => Promise<string | undefined>;

export const probeVersion: VersionProbe = (tool, args) =>
  new Promise((resolve) => {
    execFile(
      tool,
      args,
      // CHECKPOINT_DISABLE: Terraform and Packer otherwise ask HashiCorp for newer releases.
      { timeout: 15_000, env: { ...process.env, CHECKPOINT_DISABLE: '1' } },
      (error, stdout, stderr) => {
        if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve(undefined);
        else resolve(`${stdout}\n${stderr}`);
      },
    );
  });

export async function checkTool(tool: ToolName, probe: VersionProbe = probeVersion): Promise<ToolStatus> {
  const spec = TOOLS[tool];
  const output = await probe(tool, spec.versionArgs);
  if (output === undefined) return { tool, state: 'missing' };
  const version = spec.parse(output);
  if (!version) return { tool, state: 'unknown-version', output: output.trim().split('\n')[0] ?? '' };
  if (compareVersions(version, spec.minimum) < 0) return { tool, state: 'too-old', version, minimum: spec.minimum };
  return { tool, state: 'ok', version };
}

/** Every tool the run needs that the host lacks or has too old; empty when the host can run it. */
export async function hostToolProblems(command: 'deploy' | 'destroy', target: TargetName, probe: VersionProbe = probeVersion): Promise<ToolStatus[]> {
  const statuses = await Promise.all(requiredTools(command, target).map((tool) => checkTool(tool, probe)));
  return statuses.filter((status) => status.state !== 'ok');
}

export function describeToolStatus(status: ToolStatus): string {
  switch (status.state) {
    case 'ok':
      return `${status.tool} ${status.version}`;
    case 'missing':
      return `${status.tool} is not on PATH`;
    case 'too-old':
      return `${status.tool} ${status.version} is older than the supported ${status.minimum}`;
    case 'unknown-version':
      return `${status.tool} printed no version bakery understands (${JSON.stringify(status.output)})`;
  }
}
