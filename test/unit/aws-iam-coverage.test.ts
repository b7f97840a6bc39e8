// Every AWS call a deploy, rollback and destroy make is allowed by iam/deploy-policy.json:
// the runner's (the SDK commands imported under pipeline/targets/aws/), Terraform's (per
// resource and data source in terraform/*.tf, from test/helpers/aws-required-actions.ts),
// Packer amazon-ebs's documented minimal policy, and the SDK commands of the scripts
// Packer runs (packer/scripts/*.mjs). A new call or resource without a statement fails here.

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import {
  EBS_CUSTOMER_KEY_ACTIONS,
  PACKER_DOCUMENTED_MINIMUM,
  PACKER_NOT_CALLED,
  TERRAFORM_ACTIONS,
  TERRAFORM_BACKEND_ACTIONS,
} from '../helpers/aws-required-actions.ts';
import { suite } from '../support/suite.ts';

const REPO = join(import.meta.dirname, '..', '..');

const SERVICE_PREFIX: Record<string, string> = {
  'client-sts': 'sts',
  'client-ec2': 'ec2',
  'client-auto-scaling': 'autoscaling',
  'client-elastic-load-balancing-v2': 'elasticloadbalancing',
  'client-cloudwatch': 'cloudwatch',
  'client-cloudwatch-logs': 'logs',
  'client-s3': 's3',
  'client-iam': 'iam',
};

interface Statement {
  Sid: string;
  Action: string | string[];
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

async function allowedActions(): Promise<Set<string>> {
  const policy = JSON.parse(await readFile(join(REPO, 'iam', 'deploy-policy.json'), 'utf8')) as {
    Statement: Statement[];
  };
  return new Set(policy.Statement.flatMap((s) => list(s.Action)));
}

/** "ec2:ModifyInstanceMetadataOptions" for each XxxCommand a file imports from an AWS SDK client. */
function sdkActions(text: string): string[] {
  const actions: string[] = [];
  for (const match of text.matchAll(/import \{([^}]+)\} from '@aws-sdk\/(client-[a-z0-9-]+)'/g)) {
    const prefix = SERVICE_PREFIX[match[2] as string];
    assert.ok(prefix, `no IAM service prefix known for @aws-sdk/${match[2]}`);
    for (const name of (match[1] as string).split(',').map((n) => n.trim())) {
      const command = /^(\w+)Command$/.exec(name);
      if (command) actions.push(`${prefix}:${command[1]}`);
    }
  }
  return actions;
}

async function actionsOfFiles(directory: string, extension: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const file of (await readdir(join(REPO, directory))).filter((name) => name.endsWith(extension)))
    found.set(`${directory}/${file}`, sdkActions(await readFile(join(REPO, directory, file), 'utf8')));
  return found;
}

/** "aws_lb" and "data.aws_vpc" for every resource and data source of terraform/*.tf. */
async function terraformTypes(): Promise<string[]> {
  const types = new Set<string>();
  const directory = join(REPO, 'terraform');
  for (const file of (await readdir(directory)).filter((name) => name.endsWith('.tf'))) {
    const text = await readFile(join(directory, file), 'utf8');
    for (const match of text.matchAll(/^(resource|data) "(aws_[a-z0-9_]+)"/gm))
      types.add(match[1] === 'data' ? `data.${match[2]}` : (match[2] as string));
  }
  return [...types].sort();
}

function missing(allowed: Set<string>, required: readonly string[]): string[] {
  return required.filter((action) => !allowed.has(action));
}

const Coverage = suite('the deploy policy covers every call');

Coverage('the runner: every SDK command under pipeline/targets/aws/ is allowed', async () => {
  const allowed = await allowedActions();
  const files = await actionsOfFiles('pipeline/targets/aws', '.ts');
  const used = [...files.values()].flat();
  assert.ok(used.includes('autoscaling:DescribeInstanceRefreshes'), `found ${used.join(', ')}`);
  for (const [file, actions] of files)
    assert.equal(missing(allowed, actions), [], `${file} calls actions iam/deploy-policy.json lacks`);
});

Coverage("Packer's scripts: require-imdsv2.mjs's ModifyInstanceMetadataOptions and the rest are allowed", async () => {
  const allowed = await allowedActions();
  const files = await actionsOfFiles('packer/scripts', '.mjs');
  assert.ok(
    files.get('packer/scripts/require-imdsv2.mjs')?.includes('ec2:ModifyInstanceMetadataOptions'),
    'the script is read',
  );
  for (const [file, actions] of files)
    assert.equal(missing(allowed, actions), [], `${file} calls actions iam/deploy-policy.json lacks`);
});

Coverage(
  'Terraform: every resource and data source of the stack has its calls listed, and all are allowed',
  async () => {
    const allowed = await allowedActions();
    const types = await terraformTypes();
    assert.ok(types.includes('aws_autoscaling_group') && types.includes('data.aws_vpc'), types.join(', '));
    const unlisted = types.filter((type) => !(type in TERRAFORM_ACTIONS));
    assert.equal(unlisted, [], 'resource types without their calls in test/helpers/aws-required-actions.ts');
    for (const type of types)
      assert.equal(missing(allowed, TERRAFORM_ACTIONS[type] ?? []), [], `${type}: calls iam/deploy-policy.json lacks`);
    assert.equal(missing(allowed, TERRAFORM_BACKEND_ACTIONS), [], 'the S3 backend');
  },
);

Coverage(
  'Packer amazon-ebs: its documented minimal policy is allowed, but for calls this template never makes',
  async () => {
    const allowed = await allowedActions();
    const template = await readFile(join(REPO, 'packer', 'app.pkr.hcl'), 'utf8');
    // Each exception holds only while the template sets nothing that makes the call.
    assert.not.match(template, /^\s*(ami_users|ami_groups|ami_org_arns|snapshot_users|snapshot_groups)\s*=/m);
    assert.not.match(template, /^\s*encrypt_boot\s*=\s*true/m, 'encrypt_boot deregisters an untagged AMI');
    assert.not.match(template, /communicator\s*=\s*"winrm"/);
    const needed = PACKER_DOCUMENTED_MINIMUM.filter((action) => !(action in PACKER_NOT_CALLED));
    assert.equal(missing(allowed, needed), [], 'amazon-ebs calls iam/deploy-policy.json lacks');
    assert.equal(missing(allowed, EBS_CUSTOMER_KEY_ACTIONS), [], 'KMS calls of a bake with aws.kms_key_id');
    for (const action of Object.keys(PACKER_NOT_CALLED))
      assert.not.ok(
        allowed.has(action) && action.startsWith('ec2:Modify'),
        `${action} is not needed and would let images be shared`,
      );
  },
);

Coverage('the check itself fails when a call is missing', async () => {
  const allowed = await allowedActions();
  allowed.delete('ec2:ModifyInstanceMetadataOptions');
  const script = await readFile(join(REPO, 'packer', 'scripts', 'require-imdsv2.mjs'), 'utf8');
  assert.equal(missing(allowed, sdkActions(script)), ['ec2:ModifyInstanceMetadataOptions']);
  assert.equal(missing(allowed, ['cloudformation:CreateStack']), ['cloudformation:CreateStack']);
});

Coverage.run();
