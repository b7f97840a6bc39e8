// The amazon-ebs source's layered bake, run by the real Packer against the fake EC2 API
// (test/fakes/aws-api.ts) up to the builder instance, which the fake refuses to start:
// which AMI each layer's builder starts from, whose AMI it must be, and the user data
// that unmasks the hardened base layer's sshd for Packer. Nothing leaves 127.0.0.1.

import * as assert from 'uvu/assert';
import { FakeAws, type FakeCall, type FakeImage } from '../fakes/aws-api.ts';
import { PACKER_DIR, packerEnv, runTool, tailOf, testBakeVariables } from '../helpers/bake.ts';
import { suite } from '../support/suite.ts';

const DEBIAN: FakeImage = {
  id: 'ami-0deb1a0000000001',
  name: 'debian-12-amd64-20261101-1234',
  owner: '136693071363',
  created: '2026-11-01T10:00:00.000Z',
  tags: {},
  snapshots: ['snap-0debian000000001'],
};

/** A base layer this account baked earlier from the Debian AMI. */
const BASE_LAYER: FakeImage = {
  id: 'ami-0ba5e00000000001',
  name: 'shop-staging-ba5e00000001-20261121000000',
  owner: '123456789012',
  created: '2026-11-21T00:00:00.000Z',
  tags: { 'bakery:app': 'shop', 'bakery:env': 'staging', 'bakery:layer': 'base' },
  snapshots: ['snap-0ba5e0000000001'],
};

/** Runs `packer build -only=amazon-ebs.app` against a fake EC2 API; returns its calls. */
async function bakeAgainstFake(
  layer: 'base' | 'app',
  baseAmiId: string,
  extra: Record<string, string> = {},
): Promise<{ calls: FakeCall[]; output: string }> {
  const aws = new FakeAws({ images: [structuredClone(DEBIAN), structuredClone(BASE_LAYER)] });
  const endpoint = await aws.start();
  try {
    const variables = testBakeVariables({
      app_name: 'shop',
      environment: 'staging',
      aws_region: 'eu-west-1',
      instance_type: 't3.micro',
      ssh_source_cidrs: ['203.0.113.7/32'],
    });
    const result = await runTool('packer', ['build', '-only=amazon-ebs.app', '-machine-readable', `${PACKER_DIR}/`], {
      env: {
        ...packerEnv(variables),
        PKR_VAR_bake_layer: layer,
        PKR_VAR_base_ami_id: baseAmiId,
        PKR_VAR_aws_endpoint_ec2: endpoint,
        CHECKPOINT_DISABLE: '1',
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        AWS_EC2_METADATA_DISABLED: 'true',
        ...extra,
      },
    });
    // The fake starts no instance: the build ends there, after cleaning up.
    assert.is.not(result.code, 0);
    assert.match(result.stdout, /the test allows no instances/, tailOf(result));
    return { calls: aws.calls, output: result.stdout };
  } finally {
    await aws.stop();
  }
}

/** The source AMI lookup: the DescribeImages call that filters by image-id. */
function sourceLookup(calls: readonly FakeCall[]): Record<string, string> {
  const lookup = calls.find(
    (call) =>
      call.action === 'DescribeImages' &&
      Object.entries(call.params).some(([key, value]) => /^Filter\.\d+\.Name$/.test(key) && value === 'image-id'),
  );
  if (!lookup) throw new Error(`no DescribeImages by image-id among ${calls.map((c) => c.action).join(', ')}`);
  return lookup.params;
}

function filterValue(params: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(params).find((k) => /^Filter\.\d+\.Name$/.test(k) && params[k] === name);
  return key ? params[key.replace(/Name$/, 'Value.1')] : undefined;
}

function runInstances(calls: readonly FakeCall[]): Record<string, string> {
  const run = calls.find((call) => call.action === 'RunInstances');
  if (!run) throw new Error(`no RunInstances among ${calls.map((c) => c.action).join(', ')}`);
  return run.params;
}

const Layers = suite('the AMI builder of each layer (real Packer, fake EC2 API)');

Layers('the app layer starts from the base-layer AMI of this account, with user data that unmasks sshd', async () => {
  const { calls } = await bakeAgainstFake('app', BASE_LAYER.id);
  const lookup = sourceLookup(calls);
  assert.is(filterValue(lookup, 'image-id'), BASE_LAYER.id);
  assert.is(filterValue(lookup, 'name'), undefined, 'no name filter: the base layer is named by id');
  assert.is(lookup['Owner.1'], 'self', 'only an AMI of this account can be the base layer');
  const run = runInstances(calls);
  assert.is(run.ImageId, BASE_LAYER.id);
  const userData = Buffer.from(run.UserData ?? '', 'base64').toString('utf8');
  assert.match(userData, /^#!\/bin\/sh\n/);
  assert.match(userData, /systemctl unmask ssh\.service ssh\.socket/);
  assert.match(userData, /systemctl --no-block start ssh\.service/);
  // Packer removed what it created for the builder.
  const actions = calls.map((call) => call.action);
  assert.ok(actions.indexOf('CreateKeyPair') < actions.indexOf('RunInstances'));
  assert.ok(actions.includes('DeleteSecurityGroup') && actions.includes('DeleteKeyPair'), actions.join(', '));
});

Layers('the base layer starts from the Debian AMI preflight resolved, by id and owner, with no user data', async () => {
  const { calls } = await bakeAgainstFake('base', DEBIAN.id);
  const lookup = sourceLookup(calls);
  assert.is(filterValue(lookup, 'image-id'), DEBIAN.id);
  assert.is(lookup['Owner.1'], DEBIAN.owner);
  const run = runInstances(calls);
  assert.is(run.ImageId, DEBIAN.id);
  assert.is(run.UserData ?? '', '', 'sshd is not masked on the Debian AMI');
});

const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** RunInstances' root volume mapping, as the EC2 query protocol sends it. */
function rootVolume(run: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(run)
      .filter(([key]) => key.startsWith('BlockDeviceMapping.1.'))
      .map(([key, value]) => [key.slice('BlockDeviceMapping.1.'.length), value]),
  );
}

Layers('the builder volume is encrypted at launch, with the customer key when aws.kms_key_id names one', async () => {
  const plain = rootVolume(runInstances((await bakeAgainstFake('base', DEBIAN.id)).calls));
  assert.is(plain['Ebs.Encrypted'], 'true');
  assert.is(plain['Ebs.KmsKeyId'], undefined, "the account's key for EBS");
  const { calls } = await bakeAgainstFake('base', DEBIAN.id, { PKR_VAR_kms_key_id: KEY });
  const withKey = rootVolume(runInstances(calls));
  assert.is(withKey['Ebs.Encrypted'], 'true');
  assert.is(withKey['Ebs.KmsKeyId'], KEY);
  // The snapshot is encrypted with it from the start: no copy of the image.
  assert.not.ok(
    calls.some((call) => call.action === 'CopyImage'),
    'no CopyImage',
  );
});

Layers('an app layer cannot start from an AMI of another account, even with the right id', async () => {
  // The Debian AMI is not this account's: as an app layer's base it is not found.
  const aws = new FakeAws({ images: [structuredClone(DEBIAN)] });
  const endpoint = await aws.start();
  try {
    const result = await runTool('packer', ['build', '-only=amazon-ebs.app', '-machine-readable', `${PACKER_DIR}/`], {
      env: {
        ...packerEnv(testBakeVariables({ aws_region: 'eu-west-1', instance_type: 't3.micro' })),
        PKR_VAR_bake_layer: 'app',
        PKR_VAR_base_ami_id: DEBIAN.id,
        PKR_VAR_aws_endpoint_ec2: endpoint,
        CHECKPOINT_DISABLE: '1',
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    assert.is.not(result.code, 0);
    assert.not.ok(aws.actions().includes('RunInstances'), 'no builder started');
    assert.match(result.stdout, /No AMI was found matching filters/i, tailOf(result));
  } finally {
    await aws.stop();
  }
});

Layers.run();
