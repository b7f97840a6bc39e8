// aws.egress at preflight: a rule that opens a range on the internet is useless without a
// route out of the subnets. The instances get no public IP (compute.tf), so an internet
// gateway route does not take them anywhere; a default route through a NAT gateway (or a
// transit gateway, a firewall endpoint, an instance that NATs) does. Checked from each
// subnet's route table (its own association, or the VPC's main table): a subnet without a
// way out fails the deploy before anything is built, saying what is needed.

import { DescribeRouteTablesCommand, type RouteTable } from '@aws-sdk/client-ec2';
import type { AwsEnvironment } from '../../config/schema.ts';
import { PreflightError } from '../../errors.ts';
import { callAws, type AwsCallIO } from './call.ts';
import type { AwsClients } from './clients.ts';
import type { NetworkPlan } from './preflight.ts';

/** Ranges that are not the internet: RFC 1918, carrier-grade NAT (RFC 6598), link-local. */
const PRIVATE_RANGES: Array<[number, number]> = [
  [ipv4('10.0.0.0'), 8],
  [ipv4('172.16.0.0'), 12],
  [ipv4('192.168.0.0'), 16],
  [ipv4('100.64.0.0'), 10],
  [ipv4('169.254.0.0'), 16],
];

function ipv4(address: string): number {
  return address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

/** Whether a CIDR block lies wholly inside a private range (so it needs no route to the internet). */
export function isPrivateCidr(cidr: string): boolean {
  const [address = '', bits = '0'] = cidr.split('/');
  const start = ipv4(address);
  const length = Number(bits);
  return PRIVATE_RANGES.some(([base, prefix]) => {
    if (length < prefix) return false;
    const block = 2 ** (32 - prefix);
    return Math.floor(start / block) === Math.floor(base / block);
  });
}

/** The rules of aws.egress that reach the internet (a prefix list is an AWS service's, reached its own way). */
export function internetRules(env: AwsEnvironment): string[] {
  return (env.aws.egress ?? [])
    .filter((rule) => rule.cidr !== undefined && !isPrivateCidr(rule.cidr))
    .map((rule) => `${rule.cidr}:${rule.port}`);
}

/** How a route table leads to the internet for an instance without a public IP, if it does. */
export function routeOut(table: RouteTable | undefined): 'out' | 'internet-gateway-only' | 'none' {
  const defaults = (table?.Routes ?? []).filter(
    (route) => route.DestinationCidrBlock === '0.0.0.0/0' && route.State !== 'blackhole',
  );
  if (defaults.some((route) => !route.GatewayId?.startsWith('igw-') && !route.GatewayId?.startsWith('local')))
    return 'out';
  return defaults.length > 0 ? 'internet-gateway-only' : 'none';
}

/** The route table that decides a subnet's traffic: its own association, else the VPC's main table. */
export function tableOf(tables: readonly RouteTable[], subnetId: string): RouteTable | undefined {
  return (
    tables.find((table) => table.Associations?.some((association) => association.SubnetId === subnetId)) ??
    tables.find((table) => table.Associations?.some((association) => association.Main))
  );
}

/** Fails when aws.egress opens the internet and a subnet of the stack has no way there. */
export async function checkEgressRoutes(
  clients: AwsClients,
  env: AwsEnvironment,
  network: NetworkPlan,
  io: AwsCallIO,
): Promise<void> {
  const rules = internetRules(env);
  if (rules.length === 0) return;
  const answer = await callAws(
    io,
    { call: 'ec2:DescribeRouteTables', resource: network.vpcId, retry: clients.retry },
    (signal) =>
      clients.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [network.vpcId] }] }), {
        abortSignal: signal,
      }),
  );
  const tables = answer.RouteTables ?? [];
  const stuck = network.subnets
    .map((subnet) => ({ subnet, route: routeOut(tableOf(tables, subnet.id)) }))
    .filter(({ route }) => route !== 'out');
  if (stuck.length === 0) return;
  throw new PreflightError(
    `environments.${env.name}.aws.egress opens ${rules.join(', ')}, but ${stuck.length === network.subnets.length ? 'no subnet of the stack has' : 'not every subnet of the stack has'} a route to the internet`,
    [
      ...stuck.map(({ subnet, route }) =>
        route === 'internet-gateway-only'
          ? `${subnet.id}: its default route goes to an internet gateway, which instances without a public IP cannot use`
          : `${subnet.id}: no default route (0.0.0.0/0) at all`,
      ),
      'HTTPS to the internet needs a NAT gateway: give these subnets a 0.0.0.0/0 route to one (the instances have no public IP, so public subnets alone do not do), or set aws.subnet_ids to private subnets that have it',
      'a prefix_list rule (an AWS service through a gateway endpoint) or a private range needs no such route',
    ],
  );
}
