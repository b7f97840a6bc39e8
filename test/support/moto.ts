// moto's server (the AWS API emulator, installed by scripts/setup.sh) on loopback, with IAM
// enforced: the first requests (the administrator's setup) pass unauthenticated, every
// later one is checked against the caller's policies (INITIAL_NO_AUTH_ACTION_COUNT).
// The server is test/support/moto-server.py: moto with the instance refresh it lacks.
//
// What moto 5.2.2 does not emulate, and how these tests make up for it:
// - instance refresh (moto answers StartInstanceRefresh, DescribeInstanceRefreshes and
//   CancelInstanceRefresh with a 500): moto-server.py adds the three actions inside moto,
//   so they pass moto's IAM check like every other call, and a refresh really replaces
//   the group's instances through moto's models (launch before terminate, one instance
//   per look). Checkpoints, warmup, alarms and auto rollback are not emulated; those are
//   tested against aws-sdk-client-mock and the project's fake endpoint (test/fakes/aws-api.ts).
//   moto-server.py also reports each instance's own launch template version (moto reports
//   the template's default version for every member), which the runner's fleet check reads;
// - policy conditions on resource and request tags: moto has no tag context for its
//   checks and denies every conditioned statement, so the policy is loaded with its
//   Condition blocks removed (its actions are what is checked here; the conditions are
//   checked by test/unit/aws-iam-policy.test.ts); permissions boundaries are not enforced
//   (the boundary's presence on every role change is a condition, checked there too);
// - resource-level permissions: moto matches a statement's Resource against "*" only, so
//   the resources are widened to "*" as well: what moto checks is the list of actions;
// - CloudWatch under IAM enforcement: the SDK and the provider speak CloudWatch's RPCv2
//   CBOR protocol, and moto with IAM enforced refuses every such call with a bare 403
//   whatever the policy says. The tests send CloudWatch to a second moto without IAM
//   (AWS_ENDPOINT_URL_CLOUDWATCH); CloudWatch's actions are checked by the unit tests only;
// - a load balancer that serves: moto's ALB has a DNS name that does not resolve. The
//   runner's health poll is pointed at a loopback server by BAKERY_TEST_EMULATOR_ALB
//   (pipeline/targets/aws/emulator-health.ts), which the runner honours only when every
//   AWS endpoint is a loopback emulator; moto counts every registered running instance
//   healthy, so target health and the fleet check pass once the refresh replaced them.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Moto {
  endpoint: string;
  /**
   * While held, a refresh stops after its first replaced instance (InProgress), so a test
   * can cancel it mid-rollout (moto-server.py).
   */
  holdRefreshes(hold: boolean): Promise<void>;
  /** moto's request log lines answered 403 so far (IAM refusals and unknown keys). */
  refusals(): string[];
  stop(): Promise<void>;
}

/** The moto server with the instance refresh shim. */
const SERVER = join(import.meta.dirname, 'moto-server.py');

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
  const scratch = await mkdtemp(join(tmpdir(), 'bakery-moto-'));
  const hold = join(scratch, 'hold-refreshes');
  let output = '';
  const child = spawn(python, [SERVER, '-H', '127.0.0.1', '-p', String(port)], {
    env: {
      ...process.env,
      BAKERY_MOTO_REFRESH_HOLD: hold,
      ...(unauthenticatedActions === undefined ? {} : { INITIAL_NO_AUTH_ACTION_COUNT: String(unauthenticatedActions) }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await listening(port, child, () => output);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    holdRefreshes: async (on) => (on ? writeFile(hold, '') : rm(hold, { force: true })),
    refusals: () => output.split('\n').filter((line) => /" 403 -?$/.test(line.trim())),
    stop: async () => {
      // BAKERY_MOTO_LOG=FILE keeps moto's own output (its tracebacks) for a failing test.
      if (process.env.BAKERY_MOTO_LOG) await writeFile(`${process.env.BAKERY_MOTO_LOG}.${port}`, output);
      await rm(scratch, { recursive: true, force: true });
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

/** Runs a Python snippet in moto's virtualenv (boto3 is there) and returns its stdout; throws on a non-zero exit. */
export async function runPython(script: string, args: string[], input = ''): Promise<string> {
  const child = spawn(motoPython(), ['-c', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin?.end(input);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`python in moto's virtualenv failed (exit ${code}):\n${stderr}`);
  return stdout;
}

/**
 * Requests an administrator's setup takes before IAM is enforced (createPrincipals): a
 * user, its inline policy allowing everything, its access key. Start moto with
 * INITIAL_NO_AUTH_ACTION_COUNT=ADMIN_SETUP_ACTIONS.
 */
export const ADMIN_SETUP_ACTIONS = 3;

export interface Principals {
  /** Allowed everything: the test's own view of the account (and "someone else"). */
  admin: Credentials;
  /** Holds only the deploy policy. */
  deployer: Credentials;
}

/** The administrator (unauthenticated, then enforced), and as the administrator the deployer holding only `policy`. */
export async function createPrincipals(moto: Moto, policy: string): Promise<Principals> {
  const script = `
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="eu-west-1")
iam = boto3.client("iam", aws_access_key_id="AKIAADMINSETUP", aws_secret_access_key="x", **kw)
iam.create_user(UserName="administrator")
iam.put_user_policy(UserName="administrator", PolicyName="everything", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
admin = iam.create_access_key(UserName="administrator")["AccessKey"]
iam = boto3.client("iam", aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"], **kw)
iam.create_user(UserName="bakery-deployer")
arn = iam.create_policy(PolicyName="bakery-deploy", PolicyDocument=sys.stdin.read())["Policy"]["Arn"]
iam.attach_user_policy(UserName="bakery-deployer", PolicyArn=arn)
key = iam.create_access_key(UserName="bakery-deployer")["AccessKey"]
print(json.dumps({"admin": [admin["AccessKeyId"], admin["SecretAccessKey"]], "deployer": [key["AccessKeyId"], key["SecretAccessKey"]]}))
`;
  const answer = JSON.parse(await runPython(script, [moto.endpoint], policy)) as Record<
    'admin' | 'deployer',
    [string, string]
  >;
  const credentials = ([accessKeyId, secretAccessKey]: [string, string]): Credentials => ({
    accessKeyId,
    secretAccessKey,
  });
  return { admin: credentials(answer.admin), deployer: credentials(answer.deployer) };
}
