// iam/deploy-policy.json: the least-privilege policy the README points at. It must allow
// every AWS call the runner makes itself (derived from the SDK commands imported under
// pipeline/targets/aws/, so the two cannot drift apart), and stay narrow.

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { suite } from '../support/suite.ts';

const REPO = join(import.meta.dirname, '..', '..');

interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const SERVICE_PREFIX: Record<string, string> = {
  'client-sts': 'sts',
  'client-ec2': 'ec2',
  'client-auto-scaling': 'autoscaling',
  'client-elastic-load-balancing-v2': 'elasticloadbalancing',
  'client-cloudwatch': 'cloudwatch',
  'client-s3': 's3',
};

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

async function policy(): Promise<Statement[]> {
  return (JSON.parse(await readFile(join(REPO, 'iam', 'deploy-policy.json'), 'utf8')) as { Statement: Statement[] })
    .Statement;
}

/** "ec2:DescribeImages" for every XxxCommand imported from an AWS SDK client by the runner. */
async function runnerActions(): Promise<string[]> {
  const directory = join(REPO, 'pipeline', 'targets', 'aws');
  const actions = new Set<string>();
  for (const file of (await readdir(directory)).filter((name) => name.endsWith('.ts'))) {
    const text = await readFile(join(directory, file), 'utf8');
    for (const match of text.matchAll(/import \{([^}]+)\} from '@aws-sdk\/(client-[a-z0-9-]+)'/g)) {
      const prefix = SERVICE_PREFIX[match[2] as string];
      for (const name of (match[1] as string).split(',').map((n) => n.trim())) {
        const command = /^(\w+)Command$/.exec(name);
        if (command && prefix) actions.add(`${prefix}:${command[1]}`);
      }
    }
  }
  return [...actions].sort();
}

const Policy = suite('deploy IAM policy');

Policy('every statement is an Allow with a Sid, actions and resources', async () => {
  const statements = await policy();
  assert.ok(statements.length >= 10);
  const sids = statements.map((s) => s.Sid);
  assert.is(new Set(sids).size, sids.length, 'Sids are unique');
  for (const statement of statements) {
    assert.match(statement.Sid, /^[A-Za-z0-9]+$/);
    assert.is(statement.Effect, 'Allow');
    assert.ok(list(statement.Action).length > 0 && list(statement.Resource).length > 0, statement.Sid);
  }
});

Policy('no statement grants a whole service or every action', async () => {
  for (const statement of await policy()) {
    for (const action of list(statement.Action))
      assert.not.match(action, /(^\*$|:\*$)/, `${statement.Sid} grants ${action}`);
  }
});

Policy('every AWS call the runner makes is allowed', async () => {
  const allowed = new Set((await policy()).flatMap((s) => list(s.Action)));
  const used = await runnerActions();
  assert.ok(
    used.includes('autoscaling:DescribeInstanceRefreshes') && used.includes('ec2:DeregisterImage'),
    `found ${used.join(', ')}`,
  );
  for (const action of used) assert.ok(allowed.has(action), `iam/deploy-policy.json does not allow ${action}`);
});

Policy('instances can only be stopped or terminated when bakery tagged them', async () => {
  const statements = (await policy()).filter((s) =>
    list(s.Action).some((a) => a === 'ec2:TerminateInstances' || a === 'ec2:StopInstances'),
  );
  assert.ok(statements.length >= 1);
  for (const statement of statements)
    assert.is(statement.Condition?.StringLike?.['ec2:ResourceTag/bakery:app'], '*', statement.Sid);
});

Policy('the stack resources can only be changed or deleted when they carry the bakery tag', async () => {
  for (const action of [
    'autoscaling:DeleteAutoScalingGroup',
    'elasticloadbalancing:DeleteLoadBalancer',
    'ec2:DeleteLaunchTemplate',
    'ec2:DeleteVpcEndpoints',
  ]) {
    const statements = (await policy()).filter((s) => list(s.Action).includes(action));
    assert.is(statements.length, 1, action);
    assert.match(JSON.stringify(statements[0]?.Condition), /ResourceTag\/bakery:app/, action);
  }
});

Policy('state access is limited to the bakery prefix of one bucket', async () => {
  const s3 = (await policy()).filter((s) => list(s.Action).some((a) => a.startsWith('s3:')));
  for (const statement of s3) {
    for (const resource of list(statement.Resource))
      assert.match(resource, /^arn:aws:s3:::<STATE_BUCKET>(\/bakery\/\*)?$/);
  }
  assert.ok(
    s3.some((s) => list(s.Action).includes('s3:DeleteObject')),
    'the S3 lock file must be deletable',
  );
});

Policy('service-linked roles can be created only for Auto Scaling, Elastic Load Balancing and RDS', async () => {
  const statements = (await policy()).filter((s) => list(s.Action).includes('iam:CreateServiceLinkedRole'));
  const services = statements.flatMap((s) => list(s.Condition?.StringEquals?.['iam:AWSServiceName'] ?? []));
  assert.equal(services.sort(), [
    'autoscaling.amazonaws.com',
    'elasticloadbalancing.amazonaws.com',
    'rds.amazonaws.com',
  ]);
  for (const statement of statements)
    assert.equal(Object.keys(statement.Condition?.StringEquals ?? {}), ['iam:AWSServiceName'], statement.Sid);
});

Policy("the one role passed is the stack's instance role (path /bakery/, terraform/iam.tf), to EC2 only", async () => {
  const passing = (await policy()).filter((s) => list(s.Action).includes('iam:PassRole'));
  assert.is(passing.length, 1);
  assert.equal(list(passing[0]?.Resource ?? []), ['arn:aws:iam::*:role/bakery/*']);
  assert.equal(passing[0]?.Condition, { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
  const terraform = await readFile(join(REPO, 'terraform', 'iam.tf'), 'utf8');
  assert.is(
    [...terraform.matchAll(/^\s*path\s*=\s*"\/bakery\/"/gm)].length,
    2,
    'role and instance profile under /bakery/',
  );
  for (const statement of await policy()) {
    for (const action of list(statement.Action).filter(
      (a) => a.startsWith('iam:') && a !== 'iam:CreateServiceLinkedRole',
    ))
      assert.ok(
        list(statement.Resource).every((r) => /^arn:aws:iam::\*:(role|instance-profile)\/bakery\/\*$/.test(r)),
        `${action} reaches beyond bakery's own role and profile`,
      );
  }
});

Policy("CloudWatch access is limited to the stack's alarms, by the names terraform/alarms.tf gives them", async () => {
  const statements = (await policy()).filter((s) => list(s.Action).some((a) => a.startsWith('cloudwatch:')));
  assert.ok(statements.some((s) => list(s.Action).includes('cloudwatch:DescribeAlarms')));
  const alarmArns = statements.flatMap((s) => list(s.Resource)).filter((r) => r.startsWith('arn:aws:cloudwatch:'));
  for (const arn of alarmArns) assert.match(arn, /^arn:aws:cloudwatch:\*:\*:alarm:\*-[a-z0-9-]+$/, arn);
  const terraform = await readFile(join(REPO, 'terraform', 'alarms.tf'), 'utf8');
  const suffixes = [...terraform.matchAll(/alarm_name\s*=\s*"\$\{var\.name\}(-[a-z0-9-]+)"/g)].map((m) => m[1]);
  assert.ok(suffixes.length >= 3, `alarm names in terraform/alarms.tf: ${suffixes.join(', ')}`);
  for (const suffix of suffixes)
    assert.ok(
      alarmArns.includes(`arn:aws:cloudwatch:*:*:alarm:*${suffix}`),
      `no statement covers the alarm *${suffix}`,
    );
});

// The database (terraform/database.tf): its own statements, so a rewrite of the rest of
// the policy and these merge apart.
const DATABASE_ACTIONS = [
  'rds:CreateDBInstance',
  'rds:ModifyDBInstance',
  'rds:DeleteDBInstance',
  'rds:DescribeDBInstances',
  'rds:CreateDBSubnetGroup',
  'rds:ModifyDBSubnetGroup',
  'rds:DeleteDBSubnetGroup',
  'rds:DescribeDBSubnetGroups',
  'rds:AddTagsToResource',
  'rds:RemoveTagsFromResource',
  'rds:ListTagsForResource',
  // DeleteDBInstance with a final snapshot also takes the snapshot in the caller's name.
  'rds:CreateDBSnapshot',
  'rds:DescribeDBSnapshots',
  // manage_master_user_password: RDS creates (and on delete removes) the secret with the caller's rights.
  'secretsmanager:CreateSecret',
  'secretsmanager:TagResource',
  'secretsmanager:DeleteSecret',
];

Policy('the database stack can be created, changed and destroyed with a final snapshot', async () => {
  const allowed = new Set((await policy()).flatMap((s) => list(s.Action)));
  for (const action of DATABASE_ACTIONS)
    assert.ok(allowed.has(action), `iam/deploy-policy.json does not allow ${action}`);
  const terraform = await readFile(join(REPO, 'terraform', 'database.tf'), 'utf8');
  assert.match(terraform, /manage_master_user_password\s*=\s*true/);
  assert.match(
    terraform,
    /database_final_snapshot = "\$\{lower\(var\.name\)\}-final"/,
    'the snapshot statement names *-final',
  );
});

Policy(
  'the database can be created only tagged, and changed or deleted only when it carries the bakery tag',
  async () => {
    for (const statement of await policy()) {
      const mutating = list(statement.Action).filter((a) => a.startsWith('rds:') && !/^rds:(Describe|List)/.test(a));
      if (mutating.length === 0) continue;
      const condition = JSON.stringify(statement.Condition ?? {});
      const snapshotsOnly = list(statement.Resource).every((r) => r === 'arn:aws:rds:*:*:snapshot:*-final');
      assert.ok(
        snapshotsOnly || /(Request|Resource)Tag\/bakery:app/.test(condition),
        `${statement.Sid} allows ${mutating.join(', ')} without the bakery tag`,
      );
    }
    const deleting = (await policy()).filter((s) => list(s.Action).includes('rds:DeleteDBInstance'));
    assert.is(deleting.length, 1);
    assert.equal(deleting[0]?.Condition, { StringLike: { 'aws:ResourceTag/bakery:app': '*' } });
  },
);

Policy(
  'Secrets Manager is reached only for the secrets RDS manages (rds!db-*), never read by the deployer',
  async () => {
    const statements = (await policy()).filter((s) => list(s.Action).some((a) => a.startsWith('secretsmanager:')));
    assert.ok(statements.length >= 1);
    for (const statement of statements) {
      assert.equal(list(statement.Resource), ['arn:aws:secretsmanager:*:*:secret:rds!db-*'], statement.Sid);
      assert.not.ok(list(statement.Action).includes('secretsmanager:GetSecretValue'), statement.Sid);
    }
  },
);

Policy(
  "a one-off instance comes only from the stack's launch template, tagged, and only such instances are terminated",
  async () => {
    const statements = await policy();
    const fromTemplate = statements.find((s) => s.Sid === 'OneOffInstanceFromTheStacksLaunchTemplate');
    assert.equal(list(fromTemplate?.Resource ?? []), ['arn:aws:ec2:*:*:launch-template/*']);
    assert.equal(fromTemplate?.Condition, { StringLike: { 'ec2:ResourceTag/bakery:app': '*' } });
    const tagged = statements.find((s) => s.Sid === 'OneOffInstanceTaggedAtLaunch');
    assert.equal(tagged?.Condition, {
      StringEquals: { 'aws:RequestTag/bakery:role': 'one-off' },
      StringLike: { 'aws:RequestTag/bakery:app': '*' },
    });
    const terminate = statements.find((s) => s.Sid === 'OneOffInstanceTerminate');
    assert.equal(list(terminate?.Action ?? []), ['ec2:TerminateInstances']);
    assert.equal(terminate?.Condition, {
      StringEquals: { 'ec2:ResourceTag/bakery:role': 'one-off' },
      StringLike: { 'ec2:ResourceTag/bakery:app': '*' },
    });
  },
);

const statementsWith = async (action: string): Promise<Statement[]> =>
  (await policy()).filter((s) => list(s.Action).includes(action));

Policy('no path up: every role the policy may create or change carries the shipped permissions boundary', async () => {
  const boundary = 'arn:aws:iam::*:policy/bakery/BakeryInstanceBoundary';
  for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:PutRolePermissionsBoundary']) {
    const statements = await statementsWith(action);
    assert.is(statements.length, 1, action);
    assert.equal(statements[0]?.Condition, { StringLike: { 'iam:PermissionsBoundary': boundary } }, action);
  }
  const actions = new Set((await policy()).flatMap((s) => list(s.Action)));
  for (const action of [
    'iam:DeleteRolePermissionsBoundary',
    'iam:AttachRolePolicy',
    'iam:UpdateAssumeRolePolicy',
    'iam:CreatePolicy',
    'iam:CreatePolicyVersion',
    'iam:SetDefaultPolicyVersion',
    'iam:CreateUser',
    'iam:CreateAccessKey',
    'iam:PutUserPolicy',
    'sts:AssumeRole',
  ])
    assert.not.ok(actions.has(action), `${action} would open a way up`);
  // The boundary is shipped, and the role Terraform makes names it.
  const shipped = JSON.parse(await readFile(join(REPO, 'iam', 'instance-boundary.json'), 'utf8')) as {
    Statement: Statement[];
  };
  for (const statement of shipped.Statement) {
    assert.match(statement.Sid, /^[A-Za-z0-9]+$/);
    for (const action of list(statement.Action)) assert.not.match(action, /^(iam|sts|organizations):|\*$/, action);
  }
  const terraform = await readFile(join(REPO, 'terraform', 'iam.tf'), 'utf8');
  assert.match(
    terraform,
    /permissions_boundary = "arn:\$\{[^}]+\}:iam::\$\{[^}]+\}:policy\/bakery\/BakeryInstanceBoundary"/,
  );
});

Policy('the guard tag cannot be put on a foreign resource', async () => {
  const tagging = [
    'ec2:CreateTags',
    'ec2:DeleteTags',
    'elasticloadbalancing:AddTags',
    'elasticloadbalancing:RemoveTags',
    'autoscaling:CreateOrUpdateTags',
    'autoscaling:DeleteTags',
  ];
  for (const action of tagging) {
    for (const statement of await statementsWith(action)) {
      const condition = JSON.stringify(statement.Condition ?? {});
      // Either while creating the resource, or on one already tagged and never the guard key itself.
      const whileCreating = /CreateAction/.test(condition);
      const guarded = /ResourceTag\/bakery:app/.test(condition) && /"aws:TagKeys":\["bakery:app"\]/.test(condition);
      const bakeryKeysOnImages =
        list(statement.Resource).every((r) => /:(image|snapshot)\//.test(r)) && /aws:TagKeys/.test(condition);
      assert.ok(whileCreating || guarded || bakeryKeysOnImages, `${statement.Sid} lets ${action} tag anything`);
    }
  }
});

Policy(
  'security groups, AMIs and snapshots: changed or deleted only when tagged for the stack, never shared',
  async () => {
    for (const action of [
      'ec2:RevokeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:AuthorizeSecurityGroupEgress',
      'ec2:ModifySecurityGroupRules',
      'ec2:DeregisterImage',
      'ec2:DeleteSnapshot',
    ]) {
      for (const statement of await statementsWith(action)) {
        const onGroupsOrImages = list(statement.Resource).some((r) => /:(security-group|image|snapshot)\//.test(r));
        if (onGroupsOrImages)
          assert.equal(statement.Condition, { StringLike: { 'ec2:ResourceTag/bakery:app': '*' } }, statement.Sid);
      }
    }
    // Packer's untagged temporary group: only groups with no bakery:app and no Name tag.
    for (const action of ['ec2:AuthorizeSecurityGroupIngress', 'ec2:DeleteSecurityGroup'])
      for (const statement of (await statementsWith(action)).filter((s) =>
        list(s.Resource).some((r) => r.includes(':security-group/')),
      ))
        assert.ok(
          /ResourceTag\/bakery:app/.test(JSON.stringify(statement.Condition ?? {})),
          `${statement.Sid}: ${action} on any group`,
        );
    const actions = new Set((await policy()).flatMap((s) => list(s.Action)));
    for (const action of ['ec2:ModifyImageAttribute', 'ec2:ModifySnapshotAttribute', 'ec2:ResetImageAttribute'])
      assert.not.ok(actions.has(action), `${action} could make an image or snapshot public`);
  },
);

Policy.run();
