// The deploy policy against moto with IAM enforced: a principal that holds only
// iam/deploy-policy.json makes the runner's own AWS calls (through the real modules and
// SDK clients) and Packer's require-imdsv2.mjs against moto, and is refused what the
// policy leaves out. What moto cannot check (tag conditions, instance refresh) is listed
// in test/support/moto.ts.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { createAwsClients, type AwsClients } from '../../pipeline/targets/aws/clients.ts';
import { AwsCallError } from '../../pipeline/targets/aws/errors.ts';
import { describeFleet } from '../../pipeline/targets/aws/fleet.ts';
import { amiStore } from '../../pipeline/targets/aws/images.ts';
import { checkCredentials, checkRegion } from '../../pipeline/targets/aws/preflight.ts';
import { awsEnvironment, FAST_RETRY, recordingIO } from '../helpers/aws-io.ts';
import { createDeployer, deployPolicyForMoto, SETUP_ACTIONS, startMoto, type Moto } from '../support/moto.ts';
import { suite } from '../support/suite.ts';

const REPO = join(import.meta.dirname, '..', '..');
const VARIABLES = [
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_PROFILE',
  'AWS_REGION',
] as const;

interface Context {
  moto: Moto;
  clients: AwsClients;
  instanceId: string;
  saved: Record<string, string | undefined>;
}

const Moto = suite<Context>('the deploy policy against moto, IAM enforced');

Moto.before(async (context) => {
  context.saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  context.moto = await startMoto(SETUP_ACTIONS);
  const deployer = await createDeployer(context.moto, await deployPolicyForMoto(REPO, 'tf-state'));
  context.instanceId = deployer.instanceId;
  delete process.env.AWS_PROFILE;
  process.env.AWS_ENDPOINT_URL = context.moto.endpoint;
  process.env.AWS_ACCESS_KEY_ID = deployer.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = deployer.credentials.secretAccessKey;
  process.env.AWS_REGION = 'eu-west-1';
  context.clients = { ...createAwsClients('eu-west-1', process.env), retry: FAST_RETRY };
});

Moto.after(async (context) => {
  context.clients?.destroy();
  await context.moto?.stop();
  for (const [name, value] of Object.entries(context.saved ?? {})) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

Moto("the runner's preflight, image and fleet reads are allowed to the deployer", async ({ clients }) => {
  const io = recordingIO();
  const env = awsEnvironment();
  const identity = await checkCredentials(clients, io);
  assert.match(identity.arn, /user\/bakery-deployer$/);
  await checkRegion(clients, env, io);
  assert.equal(await amiStore(clients, env).findByFingerprint(io, 'no-such-fingerprint'), undefined);
  assert.equal(await describeFleet(clients, 'demo-staging', io), undefined);
});

Moto(
  "Packer's require-imdsv2.mjs runs as the deployer (ec2:ModifyInstanceMetadataOptions is allowed)",
  async ({ instanceId }) => {
    const child = spawn(process.execPath, [join(REPO, 'packer', 'scripts', 'require-imdsv2.mjs')], {
      env: { ...process.env, BAKERY_INSTANCE_ID: instanceId },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.is(code, 0, output);
    assert.match(output, new RegExp(`${instanceId} now requires IMDSv2 session tokens`));
  },
);

Moto('what the policy leaves out is refused: sharing an image, a user of its own', async ({ clients }) => {
  const { ModifyImageAttributeCommand } = await import('@aws-sdk/client-ec2');
  const error = await clients.ec2
    .send(
      new ModifyImageAttributeCommand({
        ImageId: 'ami-12c6146b',
        LaunchPermission: { Add: [{ Group: 'all' }] },
      }),
    )
    .then(
      () => undefined,
      (e: unknown) => e as Error & { name: string },
    );
  assert.ok(error, 'making an image public must be refused');
  assert.match(`${error.name} ${error.message}`, /AccessDenied|UnauthorizedOperation|not authorized/);
  assert.not.instance(error, AwsCallError);
});

Moto.run();
