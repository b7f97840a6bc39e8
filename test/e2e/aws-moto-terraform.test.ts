// The real stack (terraform/) with the real Terraform and the hashicorp/aws provider from
// the machine's mirror, applied, re-planned and destroyed against moto as a user holding
// only iam/deploy-policy.json (IAM enforced; what moto does not check is listed in
// test/support/moto.ts). moto stores a few attributes differently from AWS, so the re-plan
// may show exactly the changes in MOTO_PLAN_GAPS and nothing else.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { createDeployer, deployPolicyForMoto, SETUP_ACTIONS, startMoto, type Moto } from '../support/moto.ts';
import { suite } from '../support/suite.ts';

const REPO = join(import.meta.dirname, '..', '..');

/**
 * What a re-plan against moto shows although nothing changed: moto 5.2.2 does not keep an
 * Auto Scaling group's default_instance_warmup or instance_maintenance_policy, nor the
 * description of a rule that references a security group, and it adds a launch-template
 * tag specification of its own (so the launch template and its version in the group change).
 */
const MOTO_PLAN_GAPS = [
  'aws_autoscaling_group.this',
  'aws_launch_template.this',
  'aws_vpc_security_group_egress_rule.alb_to_instances',
  'aws_vpc_security_group_ingress_rule.instances_from_alb',
  // The same rule-description gap for the CloudWatch Logs endpoint's rules, and moto does
  // not keep an interface endpoint's ip_address_type.
  'aws_vpc_security_group_egress_rule.instances_to_logs_endpoint',
  'aws_vpc_security_group_ingress_rule.logs_endpoint_from_instances',
  'aws_vpc_endpoint.logs',
];

interface Context {
  moto: Moto;
  /** CloudWatch without IAM (see test/support/moto.ts). */
  cloudwatch: Moto;
  dir: string;
  env: NodeJS.ProcessEnv;
}

const Stack = suite<Context>('the stack against moto as the deployer');

Stack.before(async (context) => {
  context.moto = await startMoto(SETUP_ACTIONS);
  context.cloudwatch = await startMoto(undefined);
  const deployer = await createDeployer(context.moto, await deployPolicyForMoto(REPO, 'tf-state'));
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-moto-tf-'));
  for (const file of (await readdir(join(REPO, 'terraform'))).filter((name) => name.endsWith('.tf')))
    await cp(join(REPO, 'terraform', file), join(context.dir, file));
  await writeFile(
    join(context.dir, 'terraform.tfvars.json'),
    JSON.stringify({
      name: 'demo-staging',
      app: 'demo',
      environment: 'staging',
      region: 'eu-west-1',
      image: { id: 'ami-12c6146b', root_device_name: '/dev/xvda' },
      instances: { min: 1, desired: 1, max: 2 },
      service: { port: 8080, health_path: '/health' },
    }),
  );
  const config = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'bakery', 'terraform.tfrc');
  context.env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // As scripts/test-terraform.sh: an explicit configuration only when it names a file.
    TF_CLI_CONFIG_FILE:
      process.env.TF_CLI_CONFIG_FILE && existsSync(process.env.TF_CLI_CONFIG_FILE)
        ? process.env.TF_CLI_CONFIG_FILE
        : config,
    TF_IN_AUTOMATION: '1',
    AWS_ENDPOINT_URL: context.moto.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH: context.cloudwatch.endpoint,
    AWS_ACCESS_KEY_ID: deployer.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: deployer.credentials.secretAccessKey,
    AWS_REGION: 'eu-west-1',
  };
});

Stack.after(async (context) => {
  await context.moto?.stop();
  await context.cloudwatch?.stop();
  if (context.dir) await rm(context.dir, { recursive: true, force: true });
});

async function terraform(context: Context, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn('terraform', [...args, '-input=false', '-no-color'], {
    cwd: context.dir,
    env: context.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}

Stack('apply, re-plan and destroy the stack with only the deploy policy', async (context) => {
  const init = await terraform(context, ['init']);
  assert.is(init.code, 0, init.output);

  const apply = await terraform(context, ['apply', '-auto-approve']);
  assert.is(apply.code, 0, apply.output);
  assert.match(apply.output, /Apply complete! Resources: \d+ added/);
  assert.not.match(apply.output, /AccessDenied|not authorized/);

  const plan = await terraform(context, ['plan', '-detailed-exitcode']);
  assert.ok(plan.code === 0 || plan.code === 2, plan.output);
  const changed = [...plan.output.matchAll(/^ {2}# (\S+) (?:will|must) be /gm)].map((m) => m[1]);
  assert.equal(
    changed.filter((address) => !MOTO_PLAN_GAPS.includes(address as string)),
    [],
    `the re-plan changes more than moto's known gaps:\n${plan.output}`,
  );
  assert.not.match(plan.output, /will be (created|destroyed)|must be replaced/);

  const destroy = await terraform(context, ['destroy', '-auto-approve']);
  assert.is(destroy.code, 0, destroy.output);
  assert.match(destroy.output, /Destroy complete! Resources: \d+ destroyed/);
});

Stack.run();
