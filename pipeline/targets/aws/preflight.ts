// Everything the aws target can check before it creates or bakes anything. Each failure
// is one PreflightError whose message says what is wrong and how to fix it; problems in
// deploy.yaml name the field and exit 2, problems of the machine or account exit 1. An
// AWS call that fails for another reason stays its AwsCallError (call, resource, code, hint).

import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import {
  DescribeImagesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeRegionsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type Image,
  type Region,
  type Subnet,
  type Vpc,
} from '@aws-sdk/client-ec2';
import type { AwsEnvironment } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { InputError, PreflightError } from '../../errors.ts';
import { TOOLS, toolStatus, type ToolName } from '../../process/tool-versions.ts';
import { findExecutable } from '../../process/which.ts';
import { callAws, type AwsCallIO } from './call.ts';
import type { AwsClients } from './clients.ts';
import {
  AwsCallError,
  awsErrorInfo,
  describeAwsError,
  isAwsErrorCode,
  isMissingCredentials,
  isNetworkError,
} from './errors.ts';

export interface CallerIdentity {
  account: string;
  arn: string;
}

export interface NetworkPlan {
  vpcId: string;
  isDefaultVpc: boolean;
  subnets: Array<{ id: string; availabilityZone: string }>;
}

export interface BaseImage {
  id: string;
  name: string;
  createdAt: string;
}

/** Where a deploy.yaml field lives, for messages: environments.staging.aws.vpc_id. */
export function fieldPath(env: AwsEnvironment, field: string): string {
  return `environments.${env.name}.${field}`;
}

function badInput(message: string, details: string[] = []): InputError {
  return new InputError(message, details);
}

// Each check calls AWS through callAws (retries, typed AwsCallError) and turns only the
// answers that mean something for deploy.yaml or the credentials into a PreflightError;
// any other failure stays the AwsCallError, which names the call and carries the hint.

export async function checkCredentials(clients: AwsClients, io: AwsCallIO): Promise<CallerIdentity> {
  try {
    const identity = await callAws(
      io,
      { call: 'sts:GetCallerIdentity', resource: `the credentials in ${clients.region}`, retry: clients.retry },
      (signal) => clients.sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal }),
    );
    return { account: identity.Account ?? 'unknown', arn: identity.Arn ?? 'unknown' };
  } catch (error) {
    if (!(error instanceof AwsCallError)) throw error;
    if (isMissingCredentials(error)) {
      const expired = /expired|refresh/i.test(error.info.message);
      throw new PreflightError(
        expired
          ? 'The AWS SSO session has expired: run `aws sso login` (with the same AWS_PROFILE) and try again.'
          : 'No AWS credentials found: run `aws sso login` and set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys).',
        [`the SDK said: ${error.info.message.split('\n')[0] ?? ''}`],
      );
    }
    if (isAwsErrorCode(error, 'ExpiredToken', 'ExpiredTokenException', 'RequestExpired')) {
      throw new PreflightError(
        'The AWS credentials have expired: refresh them (`aws sso login`, or new session keys) and try again.',
        [describeAwsError(error)],
      );
    }
    if (
      isAwsErrorCode(
        error,
        'InvalidClientTokenId',
        'SignatureDoesNotMatch',
        'UnrecognizedClientException',
        'AccessDenied',
        'InvalidAccessKeyId',
      )
    ) {
      throw new PreflightError(
        `AWS rejected the credentials (${awsErrorInfo(error).code}): check AWS_PROFILE or the access key pair, then try again.`,
        [describeAwsError(error)],
      );
    }
    if (isNetworkError(error)) {
      throw new PreflightError(
        `Cannot reach AWS STS in ${clients.region} (${awsErrorInfo(error).code}): check aws.region, the network, a proxy, or AWS_ENDPOINT_URL if you use one.`,
        [describeAwsError(error)],
      );
    }
    throw error;
  }
}

export async function checkRegion(clients: AwsClients, env: AwsEnvironment, io: AwsCallIO): Promise<void> {
  const region = env.aws.region;
  const notARegion = `${fieldPath(env, 'aws.region')}: ${region} is not an AWS region: set a region such as "eu-west-1".`;
  let regions: Region[];
  try {
    ({ Regions: regions = [] } = await callAws(
      io,
      { call: 'ec2:DescribeRegions', resource: region, retry: clients.retry },
      (signal) =>
        clients.ec2.send(new DescribeRegionsCommand({ AllRegions: true, RegionNames: [region] }), {
          abortSignal: signal,
        }),
    ));
  } catch (error) {
    if (isAwsErrorCode(error, 'InvalidParameterValue')) throw badInput(notARegion, [describeAwsError(error)]);
    throw error;
  }
  const found = regions.find((r) => r.RegionName === region);
  if (!found) throw badInput(notARegion);
  if (found.OptInStatus === 'not-opted-in') {
    throw badInput(
      `${fieldPath(env, 'aws.region')}: ${region} is not enabled for this account: enable it (Account → AWS Regions in the console) or choose another region.`,
    );
  }
}

/** The VPC and subnets to deploy into: as configured, or the default VPC's default subnets. */
export async function resolveNetwork(clients: AwsClients, env: AwsEnvironment, io: AwsCallIO): Promise<NetworkPlan> {
  const { aws } = env;
  const vpcNotFound = `${fieldPath(env, 'aws.vpc_id')}: ${aws.vpc_id ?? ''} was not found in ${aws.region}: check the id, or remove it to use the default VPC.`;
  let vpcs: Vpc[];
  try {
    ({ Vpcs: vpcs = [] } = await callAws(
      io,
      { call: 'ec2:DescribeVpcs', resource: aws.vpc_id ?? `the default VPC of ${aws.region}`, retry: clients.retry },
      (signal) =>
        clients.ec2.send(
          new DescribeVpcsCommand(
            aws.vpc_id ? { VpcIds: [aws.vpc_id] } : { Filters: [{ Name: 'is-default', Values: ['true'] }] },
          ),
          { abortSignal: signal },
        ),
    ));
  } catch (error) {
    if (isAwsErrorCode(error, 'InvalidVpcID')) throw badInput(vpcNotFound, [describeAwsError(error)]);
    throw error;
  }
  const vpc = vpcs[0];
  if (!vpc?.VpcId) {
    if (aws.vpc_id) throw badInput(vpcNotFound);
    throw badInput(
      `${aws.region} has no default VPC: create one with \`aws ec2 create-default-vpc --region ${aws.region}\`, or set ${fieldPath(env, 'aws.vpc_id')} and aws.subnet_ids.`,
    );
  }
  const vpcId = vpc.VpcId;
  const isDefaultVpc = vpc.IsDefault === true;

  let subnets: Subnet[];
  if (aws.subnet_ids && aws.subnet_ids.length > 0) {
    const ids = aws.subnet_ids;
    try {
      ({ Subnets: subnets = [] } = await callAws(
        io,
        { call: 'ec2:DescribeSubnets', resource: ids.join(', '), retry: clients.retry },
        (signal) => clients.ec2.send(new DescribeSubnetsCommand({ SubnetIds: ids }), { abortSignal: signal }),
      ));
    } catch (error) {
      if (isAwsErrorCode(error, 'InvalidSubnetID'))
        throw badInput(`${fieldPath(env, 'aws.subnet_ids')}: ${awsErrorInfo(error).message}: check the ids.`);
      throw error;
    }
    const missing = ids.filter((id) => !subnets.some((s) => s.SubnetId === id));
    if (missing.length > 0)
      throw badInput(
        `${fieldPath(env, 'aws.subnet_ids')}: ${missing.join(', ')} not found in ${aws.region}: check the ids.`,
      );
    const foreign = subnets.filter((s) => s.VpcId !== vpcId);
    if (foreign.length > 0) {
      throw badInput(
        `${fieldPath(env, 'aws.subnet_ids')}: ${foreign.map((s) => `${s.SubnetId} (in ${s.VpcId})`).join(', ')} not in ${vpcId}: list subnets of one VPC${aws.vpc_id ? '' : ', or set aws.vpc_id to theirs'}.`,
      );
    }
  } else {
    if (!isDefaultVpc) {
      throw badInput(
        `${fieldPath(env, 'aws.subnet_ids')}: required with a VPC that is not the default (${vpcId} has no default subnets): list subnets in at least two availability zones.`,
      );
    }
    ({ Subnets: subnets = [] } = await callAws(
      io,
      { call: 'ec2:DescribeSubnets', resource: `the default subnets of ${vpcId}`, retry: clients.retry },
      (signal) =>
        clients.ec2.send(
          new DescribeSubnetsCommand({
            Filters: [
              { Name: 'vpc-id', Values: [vpcId] },
              { Name: 'default-for-az', Values: ['true'] },
            ],
          }),
          { abortSignal: signal },
        ),
    ));
  }

  const plan: NetworkPlan = {
    vpcId,
    isDefaultVpc,
    subnets: subnets
      .filter((s): s is Subnet & { SubnetId: string; AvailabilityZone: string } =>
        Boolean(s.SubnetId && s.AvailabilityZone),
      )
      .map((s) => ({ id: s.SubnetId, availabilityZone: s.AvailabilityZone }))
      .sort((a, b) => a.availabilityZone.localeCompare(b.availabilityZone) || a.id.localeCompare(b.id)),
  };
  assertTwoZones(env, plan);
  return plan;
}

export function zonesOf(plan: NetworkPlan): string[] {
  return [...new Set(plan.subnets.map((s) => s.availabilityZone))].sort();
}

function assertTwoZones(env: AwsEnvironment, plan: NetworkPlan): void {
  const zones = zonesOf(plan);
  if (zones.length >= 2) return;
  const where = zones.length === 0 ? 'no availability zone' : `only ${zones[0]}`;
  const field = env.aws.subnet_ids ? fieldPath(env, 'aws.subnet_ids') : `the default subnets of ${plan.vpcId}`;
  throw badInput(
    `${field}: the subnets cover ${where}, but the load balancer needs subnets in at least two availability zones: add a subnet in another zone.`,
    plan.subnets.map((s) => `${s.id} in ${s.availabilityZone}`),
  );
}

/** The newest available AMI that matches image.base; it is what Packer will start from. */
export async function resolveBaseImage(clients: AwsClients, env: AwsEnvironment, io: AwsCallIO): Promise<BaseImage> {
  const { owner, name } = env.baseAmi;
  const { Images: images = [] } = await callAws(
    io,
    { call: 'ec2:DescribeImages', resource: `base AMI "${name}" of owner ${owner}`, retry: clients.retry },
    (signal) =>
      clients.ec2.send(
        new DescribeImagesCommand({
          Owners: [owner],
          Filters: [
            { Name: 'name', Values: [name] },
            { Name: 'state', Values: ['available'] },
            { Name: 'architecture', Values: ['x86_64'] },
          ],
        }),
        { abortSignal: signal },
      ),
  );
  const newest = newestImage(images);
  if (!newest?.ImageId) {
    throw badInput(
      `${fieldPath(env, 'image.base')}: no available x86_64 AMI named "${name}" owned by ${owner} in ${env.aws.region}: check the owner and name filter (Debian 12: owner 136693071363, name "debian-12-amd64-*").`,
    );
  }
  return { id: newest.ImageId, name: newest.Name ?? newest.ImageId, createdAt: newest.CreationDate ?? '' };
}

export function newestImage(images: readonly Image[]): Image | undefined {
  return [...images].sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
}

/**
 * Keeps the subnets whose zone offers the instance type. Configured subnets in a zone
 * without it are an error (the group would fail to launch there); default subnets in
 * such a zone are dropped with a warning, as long as two zones remain.
 */
export async function checkInstanceType(
  clients: AwsClients,
  env: AwsEnvironment,
  plan: NetworkPlan,
  io: StageIO,
): Promise<NetworkPlan> {
  const type = env.aws.instance_type;
  const zones = zonesOf(plan);
  const { InstanceTypeOfferings = [] } = await callAws(
    io,
    { call: 'ec2:DescribeInstanceTypeOfferings', resource: `${type} in ${zones.join(', ')}`, retry: clients.retry },
    (signal) =>
      clients.ec2.send(
        new DescribeInstanceTypeOfferingsCommand({
          LocationType: 'availability-zone',
          Filters: [
            { Name: 'instance-type', Values: [type] },
            { Name: 'location', Values: zones },
          ],
        }),
        { abortSignal: signal },
      ),
  );
  const offered = new Set(InstanceTypeOfferings.filter((o) => o.InstanceType === type).map((o) => o.Location ?? ''));
  if (offered.size === 0) {
    throw badInput(
      `${fieldPath(env, 'aws.instance_type')}: ${type} is not offered in ${zones.join(', ')}: choose another instance type (for example t3.micro).`,
    );
  }
  const lacking = plan.subnets.filter((s) => !offered.has(s.availabilityZone));
  if (lacking.length === 0) return plan;
  if (env.aws.subnet_ids) {
    throw badInput(
      `${fieldPath(env, 'aws.subnet_ids')}: ${type} is not offered in ${[...new Set(lacking.map((s) => s.availabilityZone))].join(', ')}: remove ${lacking.map((s) => s.id).join(', ')} or choose another instance type.`,
    );
  }
  const kept: NetworkPlan = { ...plan, subnets: plan.subnets.filter((s) => offered.has(s.availabilityZone)) };
  io.warn(
    `${type} is not offered in ${[...new Set(lacking.map((s) => s.availabilityZone))].join(', ')}: leaving out default subnets ${lacking.map((s) => s.id).join(', ')}`,
  );
  assertTwoZones(env, kept);
  return kept;
}

/**
 * Checks the tools are installed at the versions pipeline/process/tool-versions.ts
 * supports (the same judgement as --container auto's); runs each once with its version
 * arguments. `env` is the run's environment: its PATH is searched.
 */
export async function checkTools(
  io: StageIO,
  tools: ReadonlyArray<'terraform' | 'packer'>,
  env: NodeJS.ProcessEnv,
): Promise<Record<string, string>> {
  const wanted = (tool: ToolName): string => `${tool} >= ${TOOLS[tool].minimum}`;
  const missing = tools.filter((tool) => !findExecutable(tool, env.PATH));
  if (missing.length > 0) {
    throw new PreflightError(
      `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not installed: install ${missing.map(wanted).join(' and ')}, or run in the tooling container (--container always).`,
    );
  }
  const versions: Record<string, string> = {};
  for (const tool of tools) {
    const { versionArgs } = TOOLS[tool];
    const result = await io.run({ tool, args: versionArgs, quiet: true, env: { CHECKPOINT_DISABLE: '1' } });
    const status = toolStatus(tool, `${result.stdout}\n${result.stderr}`);
    if (status.state === 'unknown-version' || status.state === 'missing') {
      throw new PreflightError(
        `Could not read the version of ${tool} from \`${tool} ${versionArgs.join(' ')}\`: reinstall ${wanted(tool)}.`,
      );
    }
    if (status.state === 'too-old') {
      throw new PreflightError(
        `${tool} ${status.version} is too old: install ${wanted(tool)}, or run in the tooling container (--container always).`,
      );
    }
    versions[tool] = status.version;
  }
  return versions;
}
