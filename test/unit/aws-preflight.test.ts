// Preflight checks of the aws target (pipeline/targets/aws/preflight.ts) against mocked
// STS and EC2 answers: each failure is one sentence with its fix, and its exit code
// says whose fault it is (deploy.yaml: 2; machine or account: 1).

import {
  DescribeImagesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeRegionsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import * as assert from 'uvu/assert';
import { InputError, PreflightError, type BakeryError } from '../../pipeline/errors.ts';
import {
  checkCredentials,
  checkInstanceType,
  checkRegion,
  checkTools,
  resolveBaseImage,
  resolveNetwork,
  type NetworkPlan,
} from '../../pipeline/targets/aws/preflight.ts';
import { awsEnvironment, awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { FAKES } from '../helpers/aws-project.ts';
import { suite } from '../support/suite.ts';

const Preflight = suite<{ mocks: ReturnType<typeof mockedClients> }>('aws preflight checks');

Preflight.before.each((context) => {
  context.mocks = mockedClients();
});

Preflight.after.each((context) => {
  context.mocks.restore();
});

/** The error the promise rejects with, which must be of `kind`: PreflightError (the machine or account, exit 1) unless said otherwise. */
async function failure<E extends BakeryError>(
  promise: Promise<unknown>,
  kind: abstract new (...args: never[]) => E = PreflightError as never,
): Promise<E> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(error, kind);
  return error as E;
}

/** A value in deploy.yaml that AWS refutes: an InputError (exit 2). */
const badInput = (promise: Promise<unknown>): Promise<InputError> => failure(promise, InputError);

function credentialsError(message: string): Error {
  return Object.assign(new Error(message), { name: 'CredentialsProviderError' });
}

Preflight('credentials that work name the account', async ({ mocks }) => {
  mocks.sts
    .on(GetCallerIdentityCommand)
    .resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ci' });
  assert.equal(await checkCredentials(mocks.clients, recordingIO()), {
    account: '123456789012',
    arn: 'arn:aws:iam::123456789012:user/ci',
  });
});

Preflight('missing credentials say how to log in', async ({ mocks }) => {
  mocks.sts.on(GetCallerIdentityCommand).rejects(credentialsError('Could not load credentials from any providers'));
  const error = await failure(checkCredentials(mocks.clients, recordingIO()));
  assert.is(error.exitCode, 1);
  assert.match(
    error.message,
    /^No AWS credentials found: run `aws sso login` and set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
  );
});

Preflight('an expired SSO session says to log in again', async ({ mocks }) => {
  mocks.sts
    .on(GetCallerIdentityCommand)
    .rejects(
      credentialsError(
        'The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login',
      ),
    );
  assert.match(
    (await failure(checkCredentials(mocks.clients, recordingIO()))).message,
    /^The AWS SSO session has expired: run `aws sso login`/,
  );
});

Preflight('expired and rejected keys are told apart', async ({ mocks }) => {
  mocks.sts
    .on(GetCallerIdentityCommand)
    .rejects(awsError('ExpiredToken', 'The security token included in the request is expired', 403));
  assert.match(
    (await failure(checkCredentials(mocks.clients, recordingIO()))).message,
    /^The AWS credentials have expired/,
  );
  mocks.sts.reset();
  mocks.sts
    .on(GetCallerIdentityCommand)
    .rejects(awsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403));
  assert.match(
    (await failure(checkCredentials(mocks.clients, recordingIO()))).message,
    /^AWS rejected the credentials \(InvalidClientTokenId\): check AWS_PROFILE or the access key pair/,
  );
});

Preflight('an unreachable endpoint is a network problem, not a credentials one', async ({ mocks }) => {
  mocks.sts
    .on(GetCallerIdentityCommand)
    .rejects(Object.assign(new Error('getaddrinfo ENOTFOUND sts.eu-west-1.amazonaws.com'), { code: 'ENOTFOUND' }));
  assert.match(
    (await failure(checkCredentials(mocks.clients, recordingIO()))).message,
    /^Cannot reach AWS STS in eu-west-1 \(ENOTFOUND\): check aws\.region, the network, a proxy, or AWS_ENDPOINT_URL/,
  );
});

Preflight('a region the account has not enabled is bad input naming aws.region', async ({ mocks }) => {
  mocks.ec2
    .on(DescribeRegionsCommand)
    .resolves({ Regions: [{ RegionName: 'eu-west-1', OptInStatus: 'not-opted-in' }] });
  const error = await badInput(checkRegion(mocks.clients, awsEnvironment(), recordingIO()));
  assert.is(error.exitCode, 2);
  assert.match(error.message, /^environments\.staging\.aws\.region: eu-west-1 is not enabled for this account/);
});

Preflight('a VPC that is not the default needs subnet_ids', async ({ mocks }) => {
  mocks.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0123456789abcdef0', IsDefault: false }] });
  const error = await badInput(
    resolveNetwork(mocks.clients, awsEnvironment({ vpc_id: 'vpc-0123456789abcdef0' }), recordingIO()),
  );
  assert.is(error.exitCode, 2);
  assert.match(error.message, /^environments\.staging\.aws\.subnet_ids: required with a VPC that is not the default/);
});

Preflight('subnets of another VPC are refused', async ({ mocks }) => {
  mocks.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0aaaaaaaaaaaaaaaa', IsDefault: false }] });
  mocks.ec2.on(DescribeSubnetsCommand).resolves({
    Subnets: [
      { SubnetId: 'subnet-0aaaaaaaaaaaaaaa1', VpcId: 'vpc-0aaaaaaaaaaaaaaaa', AvailabilityZone: 'eu-west-1a' },
      { SubnetId: 'subnet-0bbbbbbbbbbbbbbb2', VpcId: 'vpc-0bbbbbbbbbbbbbbbb', AvailabilityZone: 'eu-west-1b' },
    ],
  });
  const env = awsEnvironment({
    vpc_id: 'vpc-0aaaaaaaaaaaaaaaa',
    subnet_ids: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
  });
  const error = await badInput(resolveNetwork(mocks.clients, env, recordingIO()));
  assert.match(error.message, /subnet-0bbbbbbbbbbbbbbb2 \(in vpc-0bbbbbbbbbbbbbbbb\) not in vpc-0aaaaaaaaaaaaaaaa/);
});

Preflight('the default VPC and its default subnets are found and sorted by zone', async ({ mocks }) => {
  mocks.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0def', IsDefault: true }] });
  mocks.ec2.on(DescribeSubnetsCommand).resolves({
    Subnets: [
      { SubnetId: 'subnet-b', VpcId: 'vpc-0def', AvailabilityZone: 'eu-west-1b' },
      { SubnetId: 'subnet-a', VpcId: 'vpc-0def', AvailabilityZone: 'eu-west-1a' },
    ],
  });
  const plan = await resolveNetwork(mocks.clients, awsEnvironment(), recordingIO());
  assert.equal(plan, {
    vpcId: 'vpc-0def',
    isDefaultVpc: true,
    subnets: [
      { id: 'subnet-a', availabilityZone: 'eu-west-1a' },
      { id: 'subnet-b', availabilityZone: 'eu-west-1b' },
    ],
  });
  assert.equal(mocks.ec2.commandCalls(DescribeVpcsCommand)[0]?.args[0].input, {
    Filters: [{ Name: 'is-default', Values: ['true'] }],
  });
});

Preflight('the newest matching base AMI is used', async ({ mocks }) => {
  mocks.ec2.on(DescribeImagesCommand).resolves({
    Images: [
      { ImageId: 'ami-old', Name: 'debian-12-amd64-20260101-1', CreationDate: '2026-01-01T00:00:00.000Z' },
      { ImageId: 'ami-new', Name: 'debian-12-amd64-20261101-2', CreationDate: '2026-11-01T00:00:00.000Z' },
    ],
  });
  const base = await resolveBaseImage(mocks.clients, awsEnvironment(), recordingIO());
  assert.is(base.id, 'ami-new');
  assert.equal(mocks.ec2.commandCalls(DescribeImagesCommand)[0]?.args[0].input.Owners, ['136693071363']);
});

const TWO_ZONES: NetworkPlan = {
  vpcId: 'vpc-0def',
  isDefaultVpc: true,
  subnets: [
    { id: 'subnet-a', availabilityZone: 'eu-west-1a' },
    { id: 'subnet-b', availabilityZone: 'eu-west-1b' },
    { id: 'subnet-e', availabilityZone: 'eu-west-1e' },
  ],
};

Preflight('default subnets in a zone without the instance type are left out with a warning', async ({ mocks }) => {
  mocks.ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({
    InstanceTypeOfferings: [
      { InstanceType: 't3.micro', Location: 'eu-west-1a' },
      { InstanceType: 't3.micro', Location: 'eu-west-1b' },
    ],
  });
  const io = recordingIO();
  const plan = await checkInstanceType(mocks.clients, awsEnvironment(), TWO_ZONES, io);
  assert.equal(
    plan.subnets.map((s) => s.id),
    ['subnet-a', 'subnet-b'],
  );
  assert.match(io.warnings[0] ?? '', /t3\.micro is not offered in eu-west-1e: leaving out default subnets subnet-e/);
});

Preflight('configured subnets in a zone without the instance type are bad input', async ({ mocks }) => {
  mocks.ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({
    InstanceTypeOfferings: [
      { InstanceType: 't3.micro', Location: 'eu-west-1a' },
      { InstanceType: 't3.micro', Location: 'eu-west-1b' },
    ],
  });
  const env = awsEnvironment({ subnet_ids: ['subnet-a', 'subnet-b', 'subnet-e'] });
  const error = await badInput(checkInstanceType(mocks.clients, env, TWO_ZONES, recordingIO()));
  assert.is(error.exitCode, 2);
  assert.match(
    error.message,
    /^environments\.staging\.aws\.subnet_ids: t3\.micro is not offered in eu-west-1e: remove subnet-e or choose another instance type\./,
  );
});

Preflight('a terraform older than 1.11 is refused with the version it needs', async () => {
  const io = recordingIO((spec) => ({
    stdout: spec.tool === 'terraform' ? '{"terraform_version":"1.9.8"}' : 'Packer v1.11.2',
  }));
  const error = await failure(checkTools(io, ['terraform'], { PATH: FAKES }));
  assert.match(error.message, /^terraform 1\.9\.8 is too old: install terraform >= 1\.11\.0/);
});

Preflight('tool versions are read from their version commands', async () => {
  const io = recordingIO((spec) => ({
    stdout: spec.tool === 'terraform' ? '{"terraform_version":"1.11.4"}' : 'Packer v1.6.6',
  }));
  assert.equal(await checkTools(io, ['terraform', 'packer'], { PATH: FAKES }), {
    terraform: '1.11.4',
    packer: '1.6.6',
  });
  assert.equal(
    io.runs.map((r) => [r.tool, ...r.args].join(' ')),
    ['terraform version -json', 'packer version'],
  );
});

Preflight('missing tools are found on PATH without running anything', async () => {
  const io = recordingIO();
  const error = await failure(checkTools(io, ['terraform', 'packer'], { PATH: '/nonexistent' }));
  assert.match(error.message, /^terraform and packer are not installed/);
  assert.equal(io.runs, []);
});

Preflight.run();
