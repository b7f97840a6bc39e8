// moto's server (the AWS API emulator, installed by scripts/setup.sh) on loopback, with IAM
// enforced: the first requests (the administrator's setup) pass unauthenticated, every
// later one is checked against the caller's policies (INITIAL_NO_AUTH_ACTION_COUNT).
//
// What moto 5.2.2 does not emulate, and these tests therefore do not show:
// - instance refresh (StartInstanceRefresh, DescribeInstanceRefreshes answer 500): the
//   refresh logic is tested against aws-sdk-client-mock and the project's fake endpoint;
// - policy conditions on resource and request tags: moto has no tag context for its
//   checks and denies every conditioned statement, so the policy is loaded with its
//   Condition blocks removed (its actions are what is checked here; the conditions are
//   checked by test/unit/aws-iam-policy.test.ts); permissions boundaries are not enforced;
// - resource-level permissions: moto matches a statement's Resource against "*" only, so
//   the resources are widened to "*" as well: what moto checks is the list of actions;
// - CloudWatch under IAM enforcement: the SDK and the provider speak CloudWatch's RPCv2
//   CBOR protocol, and moto with IAM enforced refuses every such call with a bare 403
//   whatever the policy says. The tests send CloudWatch to a second moto without IAM
//   (AWS_ENDPOINT_URL_CLOUDWATCH); CloudWatch's actions are checked by the unit tests only.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

/** Where scripts/setup.sh installs moto's virtualenv (BAKERY_MOTO_VENV overrides). */
export function motoPython(env: NodeJS.ProcessEnv = process.env): string {
  const venv = env.BAKERY_MOTO_VENV ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bakery', 'moto-venv');
  return join(venv, 'bin', 'python');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Waits for the port to accept connections (a TCP probe: an HTTP request would count as an action). */
async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`moto exited with ${child.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`moto did not listen on ${port} within 10 s:\n${log()}`);
}

/** Starts moto enforcing IAM after `unauthenticatedActions` requests (undefined: never). */
export async function startMoto(unauthenticatedActions: number | undefined): Promise<Moto> {
  const python = motoPython();
  if (!existsSync(python))
    throw new Error(`moto is not installed (${python} is missing): run scripts/setup.sh, which installs it`);
  const port = await freePort();
  let output = '';
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    env: {
      ...process.env,
      ...(unauthenticatedActions === undefined ? {} : { INITIAL_NO_AUTH_ACTION_COUNT: String(unauthenticatedActions) }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await listening(port, child, () => output);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/** iam/deploy-policy.json for moto: its actions, without conditions or resource patterns (see above). */
export async function deployPolicyForMoto(repo: string, bucket: string): Promise<string> {
  const policy = JSON.parse(
    (await readFile(join(repo, 'iam', 'deploy-policy.json'), 'utf8')).replaceAll('<STATE_BUCKET>', bucket),
  ) as { Statement: Array<Record<string, unknown>> };
  for (const statement of policy.Statement) {
    delete statement.Condition;
    statement.Resource = '*';
  }
  return JSON.stringify(policy);
}

/**
 * The administrator's setup, in boto3 from moto's own virtualenv (the project has no IAM
 * client): a user holding only `policy`, its access key, and one running instance tagged
 * bakery:app for the scripts that act on Packer's builder. Five requests: start moto with
 * INITIAL_NO_AUTH_ACTION_COUNT=5 so that everything after them is checked.
 */
export const SETUP_ACTIONS = 5;

export async function createDeployer(
  moto: Moto,
  policy: string,
): Promise<{ credentials: Credentials; instanceId: string }> {
  const script = `
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="eu-west-1", aws_access_key_id="AKIAADMINSETUP", aws_secret_access_key="x")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="bakery-deployer")
arn = iam.create_policy(PolicyName="bakery-deploy", PolicyDocument=sys.stdin.read())["Policy"]["Arn"]
iam.attach_user_policy(UserName="bakery-deployer", PolicyArn=arn)
key = iam.create_access_key(UserName="bakery-deployer")["AccessKey"]
ec2 = boto3.client("ec2", **kw)
instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=[
    {"ResourceType": "instance", "Tags": [{"Key": "bakery:app", "Value": "demo"}]}])["Instances"][0]
print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"], "instance": instance["InstanceId"]}))
`;
  const child = spawn(motoPython(), ['-c', script, moto.endpoint], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin?.end(policy);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`creating the deployer in moto failed (exit ${code}):\n${stderr}`);
  const answer = JSON.parse(stdout) as { id: string; secret: string; instance: string };
  return { credentials: { accessKeyId: answer.id, secretAccessKey: answer.secret }, instanceId: answer.instance };
}
