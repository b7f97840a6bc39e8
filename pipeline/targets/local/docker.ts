// Small typed helpers over the docker CLI, all through the process runner.

import type { StageIO } from '../../context.ts';

export interface ContainerSummary {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
  image: string;
}

/** Runs docker quietly and returns stdout. */
export async function docker(
  io: StageIO,
  args: string[],
  options: { cleanup?: boolean; okExitCodes?: number[]; quiet?: boolean } = {},
): Promise<string> {
  const result = await io.run({
    tool: 'docker',
    args,
    quiet: options.quiet ?? true,
    ...(options.cleanup ? { cleanup: true } : {}),
    ...(options.okExitCodes ? { okExitCodes: options.okExitCodes } : {}),
  });
  return result.stdout.trim();
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const index = pair.indexOf('=');
    if (index > 0) labels[pair.slice(0, index)] = pair.slice(index + 1);
  }
  return labels;
}

/** Containers (running or not) matching the filters. */
export async function listContainers(
  io: StageIO,
  filters: string[],
  options: { cleanup?: boolean } = {},
): Promise<ContainerSummary[]> {
  const out = await docker(io, ['ps', '-a', '--no-trunc', ...filters, '--format', '{{json .}}'], options);
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const row = JSON.parse(line) as { ID: string; Names: string; State: string; Labels: string; Image: string };
      return { id: row.ID, name: row.Names, state: row.State, labels: parseLabels(row.Labels), image: row.Image };
    });
}

export async function exists(
  io: StageIO,
  kind: 'image' | 'network' | 'container' | 'volume',
  name: string,
): Promise<boolean> {
  const result = await io.run({
    tool: 'docker',
    // Volumes have a name, not an id.
    args: [kind, 'inspect', '--format', kind === 'volume' ? '{{.Name}}' : '{{.Id}}', name],
    quiet: true,
    okExitCodes: [1],
  });
  return result.exitCode === 0;
}

export async function inspectFormat(
  io: StageIO,
  kind: 'image' | 'network' | 'container',
  name: string,
  format: string,
): Promise<string> {
  return docker(io, [kind, 'inspect', '--format', format, name]);
}
