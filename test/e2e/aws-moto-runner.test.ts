// The runner itself against moto, as a principal that holds only iam/deploy-policy.json
// (IAM enforced): ./deploy.ts, --rollback, ./status.ts and ./destroy.ts through their
// real entry points, with the real Terraform and the mirror's hashicorp/aws provider,
// the runner's own SDK calls, and a stand-in `packer` that makes the AMI in moto as
// amazon-ebs does (test/fakes/moto-bin/packer). The instance refresh is moto-server.py's
// shim; the health poll reaches a loopback server through BAKERY_TEST_EMULATOR_ALB. What
// moto does not emulate, and how the tests make up for it: test/support/moto.ts.
//
// One story, in order (each test starts from the state the previous one left): a first
// deploy, a second image rolled out by a refresh, a rollback, status, a refresh cancelled
// by someone else mid-rollout and the deploy that finishes it, and destroy.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import {
  ADMIN_SETUP_ACTIONS,
  createPrincipals,
  deployPolicyForMoto,
  motoPython,
  runPython,
  startMoto,
  type Credentials,
  type Moto,
} from '../support/moto.ts';
import { suite } from '../support/suite.ts';

const REPO = join(import.meta.dirname, '..', '..');
const FAKE_PACKER = join(REPO, 'test', 'fakes', 'moto-bin');
const STACK = 'demo-staging';
/** One command's limit: a deploy here takes seconds; a hung one must not hold the suite. */
const COMMAND_TIMEOUT_MS = 150_000;
/** A base AMI that moto ships (owner and name as deploy.yaml's image.base gives them). */
const BASE_AMI = { owner: '099720109477', name: 'ubuntu/images/hvm-ssd/ubuntu-trusty-14.04-amd64-server-*' };

interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

interface Member {
  id: string;
  lifecycle: string;
  version: string;
  image: string;
}

interface Context {
  moto: Moto;
  /** CloudWatch without IAM (see test/support/moto.ts). */
  cloudwatch: Moto;
  admin: Credentials;
  dir: string;
  env: Record<string, string>;
  /** The loopback server standing in for the load balancer, and the Host headers it was asked for. */
  lb: Server;
  hosts: string[];
  /** AMIs in the order the deploys made them. */
  images: string[];
}

const Runner = suite<Context>('the runner against moto as the deployer');

Runner.before(async (context) => {
  context.images = [];
  context.hosts = [];
  context.moto = await startMoto(ADMIN_SETUP_ACTIONS);
  context.cloudwatch = await startMoto(undefined);
  const principals = await createPrincipals(context.moto, await deployPolicyForMoto(REPO, 'tf-state'));
  context.admin = principals.admin;

  context.lb = createServer((request, response) => {
    context.hosts.push(request.headers.host ?? '');
    const ok = request.url === '/health';
    response.writeHead(ok ? 200 : 404, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not found\n');
  });
  await new Promise<void>((resolve) => context.lb.listen(0, '127.0.0.1', resolve));
  const lbPort = (context.lb.address() as AddressInfo).port;

  context.dir = await mkdtemp(join(tmpdir(), 'bakery-moto-runner-'));
  await mkdir(join(context.dir, 'home'), { recursive: true });
  await symlink(join(REPO, 'terraform'), join(context.dir, 'terraform'));
  // The bake reads the version from package.json; the stand-in packer needs nothing else.
  await copyFile(join(REPO, 'package.json'), join(context.dir, 'package.json'));
  await writeFile(
    join(context.dir, 'deploy.yaml'),
    [
      'app: demo',
      'environments:',
      '  staging:',
      '    target: aws',
      '    instances: { min: 2, desired: 2, max: 4 }',
      '    health: { interval_s: 5, timeout_s: 2, deadline_s: 60 }',
      `    image: { base: { owner: '${BASE_AMI.owner}', name: '${BASE_AMI.name}' } }`,
      '    aws:',
      '      region: eu-west-1',
      '      instance_type: t3.micro',
      '',
    ].join('\n'),
  );
  const tfrc = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'bakery', 'terraform.tfrc');
  context.env = {
    PATH: `${FAKE_PACKER}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: join(context.dir, 'home'),
    LANG: 'C.UTF-8',
    TMPDIR: tmpdir(),
    CI: '',
    BAKERY_NO_CONTAINER: '1',
    BAKERY_AWS_POLL_MS: '100',
    BAKERY_SSH_SOURCE_CIDR: '127.0.0.1/32',
    BAKERY_MOTO_PYTHON: motoPython(),
    BAKERY_TEST_EMULATOR_ALB: `127.0.0.1:${lbPort}`,
    // As scripts/test-terraform.sh: an explicit configuration only when it names a file.
    TF_CLI_CONFIG_FILE:
      process.env.TF_CLI_CONFIG_FILE && existsSync(process.env.TF_CLI_CONFIG_FILE)
        ? process.env.TF_CLI_CONFIG_FILE
        : tfrc,
    AWS_ENDPOINT_URL: context.moto.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH: context.cloudwatch.endpoint,
    AWS_ACCESS_KEY_ID: principals.deployer.accessKeyId,
    AWS_SECRET_ACCESS_KEY: principals.deployer.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(context.dir, 'home', 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(context.dir, 'home', 'no-aws-credentials'),
  };
});

Runner.after(async (context) => {
  await context.moto?.stop();
  await context.cloudwatch?.stop();
  await new Promise<void>((resolve) => (context.lb ? context.lb.close(() => resolve()) : resolve()));
  if (context.dir) await rm(context.dir, { recursive: true, force: true });
});

function start(
  context: Context,
  entry: 'deploy.ts' | 'destroy.ts' | 'status.ts',
  args: string[] = [],
): { done: Promise<RunResult>; stderr: () => string; ended: () => boolean } {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO, entry),
      'staging',
      '--config',
      join(context.dir, 'deploy.yaml'),
      ...(entry === 'status.ts' ? [] : ['--no-container']),
      ...args,
    ],
    { cwd: REPO, env: context.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
  let ended = false;
  const done = new Promise<RunResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ended = true;
      resolve({ exitCode: code ?? (signal ? 128 : -1), stdout, stderr });
    }),
  );
  return { done, stderr: () => stderr, ended: () => ended };
}

const run = (context: Context, entry: 'deploy.ts' | 'destroy.ts' | 'status.ts', args: string[] = []) =>
  start(context, entry, args).done;

/** Python with boto3 as the administrator: the test's own view of moto. */
function asAdmin(context: Context, script: string): Promise<string> {
  const prelude = `
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="eu-west-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
`;
  return runPython(prelude + script, [context.moto.endpoint, context.admin.accessKeyId, context.admin.secretAccessKey]);
}

/** The stack's group members: lifecycle, launch template version and the AMI each booted. */
async function members(context: Context): Promise<Member[]> {
  return JSON.parse(
    await asAdmin(
      context,
      `
asg = boto3.client("autoscaling", **kw); ec2 = boto3.client("ec2", **kw)
groups = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["${STACK}"])["AutoScalingGroups"]
out = []
for m in (groups[0]["Instances"] if groups else []):
    image = ec2.describe_instances(InstanceIds=[m["InstanceId"]])["Reservations"][0]["Instances"][0]["ImageId"]
    out.append({"id": m["InstanceId"], "lifecycle": m["LifecycleState"], "version": m["LaunchTemplate"]["Version"], "image": image})
print(json.dumps(out))
`,
    ),
  ) as Member[];
}

async function record(context: Context): Promise<{ image: string; url: string } | undefined> {
  const text = await readFile(join(context.dir, '.deploy', 'staging', 'deployment.json'), 'utf8').catch(
    () => undefined,
  );
  return text === undefined ? undefined : (JSON.parse(text) as { image: string; url: string });
}

Runner('a first deploy bakes in moto, applies the real stack and prints the URL', async (context) => {
  const result = await run(context, 'deploy.ts');
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /^http:\/\/\S+\.elb\.amazonaws\.com\/?\n$/);
  assert.not.match(result.stderr, /AccessDenied|not authorized/);
  const deployed = await record(context);
  assert.ok(deployed, 'the deployment record is written');
  assert.match(deployed.image, /^ami-/);
  assert.is(`${deployed.url}\n`, result.stdout);
  context.images.push(deployed.image);
  // The health poll asked for the load balancer's own name, through the loopback stand-in.
  assert.ok(context.hosts.length >= 2, 'the URL was polled');
  assert.is(context.hosts.at(-1), new URL(deployed.url).host);
  const fleet = await members(context);
  assert.is(fleet.length, 2);
  for (const member of fleet) assert.is(member.image, deployed.image);
});

Runner('a second image rolls out by an instance refresh that replaces every instance', async (context) => {
  const before = await members(context);
  const result = await run(context, 'deploy.ts', ['--rebake']);
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stderr, /waiting for instance refresh \S+ of demo-staging/);
  assert.match(result.stderr, /instance refresh \S+ succeeded/);
  const deployed = await record(context);
  assert.ok(deployed);
  assert.is.not(deployed.image, context.images[0], 'a new AMI was baked');
  context.images.push(deployed.image);
  const after = await members(context);
  assert.is(after.length, 2);
  for (const member of after) {
    assert.is(member.image, deployed.image);
    assert.ok(!before.some((old) => old.id === member.id), `${member.id} is a new instance`);
  }
});

Runner('--rollback goes back to the first image', async (context) => {
  const result = await run(context, 'deploy.ts', ['--rollback']);
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stderr, /instance refresh \S+ succeeded/);
  assert.is((await record(context))?.image, context.images[0]);
  for (const member of await members(context)) assert.is(member.image, context.images[0]);
});

Runner('status shows the release in service and no drift', async (context) => {
  const result = await run(context, 'status.ts');
  assert.is(result.exitCode, 0, result.stderr);
  const text = result.stdout + result.stderr;
  // status shows image ids by their first 12 characters (pipeline/operate/format.ts).
  const short = (context.images[0] as string).slice(0, 12);
  assert.ok(text.includes(`(${short})`), `${short} (the rolled-back image) not shown:\n${text}`);
  assert.match(text, /url: +http:\/\/\S+\/health → 200/, text);
  assert.match(text, /as deployed: no drift/, text);
});

Runner(
  'a refresh cancelled by someone else fails the deploy (exit 1, no record); the next deploy finishes it',
  async (context) => {
    await context.moto.holdRefreshes(true);
    const deploy = start(context, 'deploy.ts', ['--rebake']);
    const deadline = Date.now() + COMMAND_TIMEOUT_MS;
    while (!/instance refresh InProgress 50%/.test(deploy.stderr()) && !deploy.ended() && Date.now() < deadline)
      await sleep(100);
    assert.match(deploy.stderr(), /instance refresh InProgress 50%/, 'the refresh got halfway');
    await asAdmin(
      context,
      `boto3.client("autoscaling", **kw).cancel_instance_refresh(AutoScalingGroupName="${STACK}")`,
    );
    await context.moto.holdRefreshes(false);
    const cancelled = await deploy.done;
    assert.is(cancelled.exitCode, 1, cancelled.stderr);
    assert.is(cancelled.stdout, '', 'no URL for a failed deploy');
    assert.match(
      cancelled.stderr,
      /instance refresh of demo-staging ended Cancelled: The instance refresh was cancelled/,
    );
    assert.match(cancelled.stderr, /instance refresh \S+ ended Cancelled at 50%/);
    assert.is((await record(context))?.image, context.images[0], 'the record still names the release before');
    const mixed = await members(context);
    const images = new Set(mixed.map((member) => member.image));
    assert.is(images.size, 2, `old and new instances side by side: ${JSON.stringify(mixed)}`);
    const newImage = [...images].find((image) => image !== context.images[0]) as string;

    // status names both halves of the mixed fleet as drift.
    const status = await run(context, 'status.ts');
    const report = status.stdout + status.stderr;
    const oldMember = mixed.find((member) => member.image === context.images[0]) as Member;
    const newMember = mixed.find((member) => member.image === newImage) as Member;
    assert.match(
      report,
      new RegExp(`drift: instance ${oldMember.id} runs launch template version \\d+, not the group's \\d+`),
    );
    assert.match(
      report,
      new RegExp(`drift: instance ${newMember.id} runs image ${newImage}, not the deployed ${context.images[0]}`),
    );

    const finished = await run(context, 'deploy.ts', ['--image', newImage]);
    assert.is(finished.exitCode, 0, finished.stderr);
    assert.match(finished.stderr, /do not run ami-/);
    assert.match(finished.stderr, /started instance refresh \S+ to replace them/);
    assert.match(finished.stderr, /instance refresh \S+ succeeded/);
    assert.is((await record(context))?.image, newImage);
    for (const member of await members(context)) assert.is(member.image, newImage);
    context.images.push(newImage);
  },
);

Runner('destroy leaves nothing of the stack in moto', async (context) => {
  const result = await run(context, 'destroy.ts', ['--yes']);
  assert.is(result.exitCode, 0, result.stderr);
  assert.not.match(result.stderr, /AccessDenied|not authorized/);
  const left = JSON.parse(
    await asAdmin(
      context,
      `
ec2 = boto3.client("ec2", **kw); asg = boto3.client("autoscaling", **kw); elb = boto3.client("elbv2", **kw)
print(json.dumps({
  "instances": [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
                if i["State"]["Name"] != "terminated"],
  "groups": [g["AutoScalingGroupName"] for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]],
  "loadBalancers": [l["LoadBalancerName"] for l in elb.describe_load_balancers()["LoadBalancers"]],
  "targetGroups": [t["TargetGroupName"] for t in elb.describe_target_groups()["TargetGroups"]],
  "securityGroups": [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"],
  "launchTemplates": [t["LaunchTemplateName"] for t in ec2.describe_launch_templates()["LaunchTemplates"]],
  "images": [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]],
  "snapshots": [s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
                if any(t["Key"] == "bakery:app" for t in s.get("Tags", []))],
}))
`,
    ),
  ) as Record<string, string[]>;
  assert.equal(left, {
    instances: [],
    groups: [],
    loadBalancers: [],
    targetGroups: [],
    securityGroups: [],
    launchTemplates: [],
    images: [],
    snapshots: [],
  });
  assert.is(await record(context), undefined, 'the deployment record is gone');
  // Nothing the runner, Terraform or the bake asked for in the whole story was refused.
  assert.equal(context.moto.refusals(), [], 'moto refused requests under the deploy policy');
});

Runner.run();
