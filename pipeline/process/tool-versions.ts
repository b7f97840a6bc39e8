// The external tools bakery runs, the oldest version of each it supports, and how to read
// a version from the tool's own output. The one table: the container-mode probe (does
// the host have what the run needs?) and the targets' preflight (refuse a tool too old)
// both judge a version here, so `--container auto` never keeps a run on a host whose
// tools preflight would then reject.
//
// Each minimum is the floor some file of the project already declares; a unit test
// (test/unit/container-tools.test.ts) reads those files and fails when they drift apart.

export type ToolName = 'docker' | 'packer' | 'terraform' | 'ansible-playbook';

export interface ToolSpec {
  name: ToolName;
  /** Arguments that make the tool print its version and nothing else of note. */
  versionArgs: string[];
  /** Oldest supported version. */
  minimum: string;
  /** Where that minimum comes from, for whoever raises it. */
  reason: string;
  /** Pulls "1.2.3" out of the tool's version output. */
  parse(output: string): string | undefined;
}

export const TOOLS: Record<ToolName, ToolSpec> = {
  docker: {
    name: 'docker',
    versionArgs: ['--version'],
    minimum: '20.10.0',
    reason: "Debian 12's docker.io, which CI installs",
    parse: (output) => /Docker version v?(\d+\.\d+(?:\.\d+)?)/.exec(output)?.[1],
  },
  packer: {
    name: 'packer',
    versionArgs: ['version'],
    minimum: '1.6.6',
    reason: "packer/app.pkr.hcl's required_version (Debian 12's build, used in CI)",
    parse: (output) => /Packer v?(\d+\.\d+\.\d+)/.exec(output)?.[1],
  },
  terraform: {
    name: 'terraform',
    // -json (Terraform 0.13 and later) skips the "your version is out of date" check's text.
    versionArgs: ['version', '-json'],
    minimum: '1.11.0',
    reason: "terraform/versions.tf's required_version (the S3 backend's use_lockfile is generally available from 1.11)",
    parse: (output) =>
      /"terraform_version"\s*:\s*"(\d+\.\d+\.\d+)/.exec(output)?.[1] ?? /Terraform v(\d+\.\d+\.\d+)/.exec(output)?.[1],
  },
  'ansible-playbook': {
    name: 'ansible-playbook',
    versionArgs: ['--version'],
    minimum: '2.14.0',
    reason: "the roles' min_ansible_version (Debian 12's ansible-core)",
    // "ansible-playbook [core 2.14.18]" since 2.11, "ansible-playbook 2.10.8" before.
    parse: (output) => /ansible-playbook (?:\[core )?(\d+\.\d+\.\d+)/.exec(output)?.[1],
  },
};

/** Compares dotted numeric versions ("2.9" < "2.14.0", "20.10" = "20.10.0"): negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const right = b.split('.').map((part) => Number.parseInt(part, 10) || 0);
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

/** Judges what `tool versionArgs` printed (undefined: the tool could not be started). */
export function toolStatus(tool: ToolName, output: string | undefined): ToolStatus {
  if (output === undefined) return { tool, state: 'missing' };
  const spec = TOOLS[tool];
  const version = spec.parse(output);
  if (!version) return { tool, state: 'unknown-version', output: output.trim().split('\n')[0] ?? '' };
  if (compareVersions(version, spec.minimum) < 0) return { tool, state: 'too-old', version, minimum: spec.minimum };
  return { tool, state: 'ok', version };
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
