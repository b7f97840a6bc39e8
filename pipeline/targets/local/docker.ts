// Small typed helpers over the docker CLI: the commands come from docker-commands.ts,
// and run through the process runner.

import type { StageIO } from '../../context.ts';
import type { Command } from '../../process/command.ts';
import { dockerInspect, dockerPs, type DockerObject } from './docker-commands.ts';

export interface ContainerSummary {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
  image: string;
}

/** Runs a docker command quietly and returns stdout. */
export async function docker(
  io: StageIO,
  command: Command,
  options: { cleanup?: boolean; okExitCodes?: number[]; quiet?: boolean } = {},
): Promise<string> {
  const result = await io.run({
    ...command,
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
  const out = await docker(io, dockerPs({ all: true, filters, format: '{{json .}}' }), options);
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const row = JSON.parse(line) as { ID: string; Names: string; State: string; Labels: string; Image: string };
      return { id: row.ID, name: row.Names, state: row.State, labels: parseLabels(row.Labels), image: row.Image };
    });
}

export async function exists(io: StageIO, kind: DockerObject, name: string): Promise<boolean> {
  const result = await io.run({
    // Volumes have a name, not an id.
    ...dockerInspect({ kind, format: kind === 'volume' ? '{{.Name}}' : '{{.Id}}', names: [name] }),
    quiet: true,
    okExitCodes: [1],
  });
  return result.exitCode === 0;
}

export async function inspectFormat(io: StageIO, kind: DockerObject, name: string, format: string): Promise<string> {
  return docker(io, dockerInspect({ kind, format, names: [name] }));
}
