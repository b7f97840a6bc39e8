// Preflight of the aws target through ./deploy.ts: each failure is one clear sentence
// with its fix, and nothing is started: the fake terraform and packer record every call,
// and there must be none.

import * as assert from 'uvu/assert';
import { suite } from '../support/suite.ts';
import { AwsProject, defaultAccount, type AwsProjectOptions } from '../helpers/aws-project.ts';

const Preflight = suite('aws preflight');

async function deployFails(
  options: AwsProjectOptions,
  env: Record<string, string | undefined> = {},
): Promise<{ exitCode: number; stderr: string; stdout: string; toolCalls: string[]; actions: string[] }> {
  const project = await AwsProject.create(options);
  try {
    const result = await project.run('deploy.ts', [], env);
    return { ...result, toolCalls: await project.toolCalls(), actions: project.aws.actions() };
  } finally {
    await project.remove();
  }
}

Preflight('no credentials: says how to log in and starts nothing', async () => {
  const result = await deployFails(
    { aws: defaultAccount() },
    { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
  );
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(
    result.stderr,
    /error: No AWS credentials found: run `aws sso login` and set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
  );
  assert.equal(result.toolCalls, [], 'no tool ran');
  assert.equal(result.actions, [], 'no request reached AWS');
  assert.is(result.stdout, '');
});

Preflight('subnets in one availability zone: names the field and the zone, starts nothing', async () => {
  const account = defaultAccount({
    vpcs: [{ id: 'vpc-0cc0000000000001', isDefault: false }],
    subnets: [
      { id: 'subnet-0a10000000000001', vpcId: 'vpc-0cc0000000000001', az: 'eu-west-1a', defaultForAz: false },
      { id: 'subnet-0a20000000000002', vpcId: 'vpc-0cc0000000000001', az: 'eu-west-1a', defaultForAz: false },
    ],
  });
  const result = await deployFails({
    aws: account,
    awsYaml: ['vpc_id: vpc-0cc0000000000001', 'subnet_ids: [subnet-0a10000000000001, subnet-0a20000000000002]'],
  });
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(
    result.stderr,
    /environments\.staging\.aws\.subnet_ids: the subnets cover only eu-west-1a, but the load balancer needs subnets in at least two availability zones: add a subnet in another zone\./,
  );
  assert.equal(result.toolCalls, []);
});

Preflight('the default VPC with default subnets in one zone is refused too', async () => {
  const account = defaultAccount({
    subnets: [{ id: 'subnet-0aaa000000000001', vpcId: 'vpc-0def0000000000001', az: 'eu-west-1a', defaultForAz: true }],
  });
  const result = await deployFails({ aws: account });
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(result.stderr, /the default subnets of vpc-0def0000000000001: the subnets cover only eu-west-1a/);
  assert.equal(result.toolCalls, []);
});

Preflight('a base AMI that does not resolve: names image.base and the filter, starts nothing', async () => {
  const result = await deployFails({ aws: defaultAccount({ images: [] }) });
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(
    result.stderr,
    /environments\.staging\.image\.base: no available x86_64 AMI named "debian-12-amd64-\*" owned by 136693071363 in eu-west-1: check the owner and name filter/,
  );
  assert.equal(result.toolCalls, []);
});

Preflight('a VPC that does not exist: names aws.vpc_id and how to fall back to the default VPC', async () => {
  const result = await deployFails({
    aws: defaultAccount(),
    awsYaml: ['vpc_id: vpc-0404040404040404a', 'subnet_ids: [subnet-0aaa000000000001, subnet-0bbb000000000002]'],
  });
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(
    result.stderr,
    /environments\.staging\.aws\.vpc_id: vpc-0404040404040404a was not found in eu-west-1: check the id, or remove it to use the default VPC\./,
  );
  assert.equal(result.toolCalls, []);
});

Preflight('a region without a default VPC: says how to create one', async () => {
  const result = await deployFails({ aws: defaultAccount({ vpcs: [], subnets: [] }) });
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(
    result.stderr,
    /eu-west-1 has no default VPC: create one with `aws ec2 create-default-vpc --region eu-west-1`/,
  );
  assert.equal(result.toolCalls, []);
});

Preflight('an instance type offered in no zone of the subnets: names aws.instance_type', async () => {
  const result = await deployFails({ aws: defaultAccount({ offerings: { 't3.micro': ['eu-west-1c'] } }) });
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(
    result.stderr,
    /environments\.staging\.aws\.instance_type: t3\.micro is not offered in eu-west-1a, eu-west-1b: choose another instance type/,
  );
  assert.equal(result.toolCalls, []);
});

Preflight('a missing terraform is reported after the AWS checks, with how to get it', async () => {
  const result = await deployFails({ aws: defaultAccount() }, { PATH: '/usr/bin/does-not-exist' });
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(
    result.stderr,
    /terraform and packer are not installed: install terraform >= 1\.11\.0 and packer >= 1\.6\.6, or run in the tooling container/,
  );
  assert.equal(result.toolCalls, []);
});

Preflight.run();
