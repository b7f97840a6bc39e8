// The environment's private network (the VPC of the local target). It gets a subnet of
// its own so every instance can keep a fixed address across Docker restarts: the load
// balancer registers addresses, not names.

import type { StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import { docker, exists, inspectFormat } from './docker.ts';
import { dockerInspect, dockerNetworkCreate, dockerNetworkIds } from './docker-commands.ts';
import { ownerLabels, type LocalNames } from './names.ts';
import type { LocalScope } from './scope.ts';

// 10.213.0.0/16 is rarely used by anything else; each environment takes one /24 of it.
const SUBNET_PREFIX = '10.213';
const FIRST_HOST = 10;

async function usedSubnets(io: StageIO): Promise<Set<string>> {
  const ids = (await docker(io, dockerNetworkIds())).split('\n').filter(Boolean);
  if (ids.length === 0) return new Set();
  const out = await docker(
    io,
    dockerInspect({ kind: 'network', format: '{{range .IPAM.Config}}{{.Subnet}} {{end}}', names: ids }),
  );
  return new Set(out.split(/\s+/).filter(Boolean));
}

export async function ensureNetwork(io: StageIO, scope: LocalScope): Promise<void> {
  const { env, names } = scope;
  if (await exists(io, 'network', names.network)) return;
  const used = await usedSubnets(io);
  for (let third = 0; third < 256; third++) {
    const subnet = `${SUBNET_PREFIX}.${third}.0/24`;
    if (used.has(subnet)) continue;
    io.progress(`creating network ${names.network} (${subnet})`);
    await docker(io, dockerNetworkCreate({ name: names.network, subnet, labels: ownerLabels(env, 'network') }));
    return;
  }
  throw new DeployError(`no free /24 left in ${SUBNET_PREFIX}.0.0/16 for network ${names.network}`, [
    'remove unused Docker networks (docker network prune)',
  ]);
}

/** The subnet's first three octets, e.g. "10.213.4". */
export async function networkBase(io: StageIO, names: LocalNames): Promise<string> {
  const subnet = await inspectFormat(io, 'network', names.network, '{{range .IPAM.Config}}{{.Subnet}}{{end}}');
  return subnet.replace(/\.\d+\/\d+$/, '');
}

/** Addresses taken by containers on the network. */
export async function takenAddresses(io: StageIO, names: LocalNames): Promise<Set<string>> {
  const out = await inspectFormat(io, 'network', names.network, '{{range .Containers}}{{.IPv4Address}} {{end}}');
  return new Set(
    out
      .split(/\s+/)
      .filter(Boolean)
      .map((cidr) => cidr.replace(/\/\d+$/, '')),
  );
}

/** The next free address, skipping those taken or reserved by the caller. */
export function pickAddress(base: string, taken: Set<string>): string {
  for (let host = FIRST_HOST; host < 255; host++) {
    const address = `${base}.${host}`;
    if (!taken.has(address)) return address;
  }
  throw new DeployError(`no free address left in ${base}.0/24`);
}
