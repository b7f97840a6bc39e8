// What terraform test (terraform/tests/*.tftest.hcl, run by npm run test:terraform)
// cannot say, checked on the HCL: it sees the values Terraform would create, not
// lifecycle settings, dependencies, descriptions, version constraints or provider
// configuration. Everything about planned values lives in the tftest files.

import * as assert from 'uvu/assert';
import { ALARM_SUFFIXES } from '../../pipeline/targets/aws/alarms.ts';
import { logGroupName } from '../../pipeline/targets/aws/logs.ts';
import { suite } from '../support/suite.ts';
import { loadStack, resource, resourcesOf, securityGroupRules, type Block, type Stack } from '../helpers/terraform.ts';

const Static = suite<{ stack: Stack }>('terraform rules terraform test cannot check');

Static.before(async (context) => {
  context.stack = await loadStack();
});

Static('Terraform and the aws provider versions are constrained', ({ stack }) => {
  const block = stack.terraform.find((t) => t.required_version) as Block;
  assert.ok(block, 'versions.tf must set required_version');
  assert.match(String(block.required_version), /^>= 1\.1[1-9]/, 'S3 use_lockfile needs Terraform 1.11+');
  const providers = (
    block.required_providers as Array<Record<string, { source: string; version: string }>>
  )[0] as Record<string, { source: string; version: string }>;
  assert.is(providers.aws?.source, 'hashicorp/aws');
  assert.match(String(providers.aws?.version), />= 5\.\d+\.\d+, < 7\.0\.0/);
});

Static('the repository stack has no backend block: the runner generates it per environment', ({ stack }) => {
  for (const block of stack.terraform) assert.is(block.backend, undefined);
});

Static('every variable has a description and a precise type, and every validation names its variable', ({ stack }) => {
  assert.ok(stack.variables.size >= 15);
  for (const [name, declaration] of stack.variables) {
    assert.type(declaration.description, 'string', `variable ${name} has no description`);
    assert.ok(String(declaration.description).length > 15, `variable ${name} needs a real description`);
    assert.type(declaration.type, 'string', `variable ${name} has no type`);
    assert.not.match(String(declaration.type), /\bany\b/, `variable ${name} is typed any`);
    for (const check of (declaration.validation as Block[] | undefined) ?? []) {
      assert.match(
        String(check.error_message),
        new RegExp(`^${name}\\b|\\b${name}\\.`),
        `variable ${name}: error_message must name it`,
      );
    }
  }
});

Static('the outputs the runner and the README rely on exist and are described', ({ stack }) => {
  for (const name of [
    'url',
    'alb_dns_name',
    'asg_name',
    'target_group_arn',
    'launch_template_id',
    'launch_template_version',
    'alb_security_group_id',
    'instance_security_group_id',
  ]) {
    const output = stack.outputs.get(name);
    assert.ok(output, `output ${name} is missing`);
    assert.type(output?.description, 'string', `output ${name} has no description`);
  }
});

Static('the alarm names status.ts asks CloudWatch for are the ones alarms.tf gives the stack', ({ stack }) => {
  const alarms = stack.resources.get('aws_cloudwatch_metric_alarm') ?? new Map<string, Block>();
  const names = [...alarms.values()].map((alarm) => {
    const block = Array.isArray(alarm) ? (alarm[0] as Block) : alarm;
    return String(block.alarm_name).replace('${var.name}-', '');
  });
  assert.equal(names.sort(), [...ALARM_SUFFIXES].sort());
});

Static('the log group the runner reads is the one the stack names', ({ stack }) => {
  assert.is(stack.locals.log_group_name, logGroupName('${var.app}', '${var.environment}'));
});

Static('resources that cannot be replaced in place are created before the old ones go', ({ stack }) => {
  for (const [type, name] of [
    ['aws_lb_target_group', 'this'],
    ['aws_security_group', 'alb'],
    ['aws_security_group', 'instances'],
    ['aws_security_group', 'database'],
  ] as const) {
    const lifecycle = (resource(stack, type, name).lifecycle as Block[] | undefined)?.[0];
    assert.is(lifecycle?.create_before_destroy, true, `${type}.${name}`);
  }
  assert.is(resource(stack, 'aws_lb_target_group').name, undefined, 'a fixed name would collide with its replacement');
});

Static(
  'target group health checks start only once a listener exists, and the redirect only once 443 does',
  ({ stack }) => {
    assert.equal(resource(stack, 'aws_autoscaling_group').depends_on, [
      '${aws_lb_listener.http}',
      '${aws_lb_listener.https}',
    ]);
    assert.equal(resource(stack, 'aws_lb_listener_rule', 'http_to_https').depends_on, ['${aws_lb_listener.https}']);
  },
);

Static('rules are separate described resources of the kinds the tftest files enumerate', ({ stack }) => {
  // security.tftest.hcl checks every rule resource by name; an inline rule or another
  // rule type would escape it.
  for (const [name, group] of resourcesOf(stack, 'aws_security_group')) {
    assert.is(group.ingress, undefined, `aws_security_group.${name} has inline ingress rules`);
    assert.is(group.egress, undefined, `aws_security_group.${name} has inline egress rules`);
    assert.type(group.description, 'string', `aws_security_group.${name} has no description`);
  }
  assert.equal(resourcesOf(stack, 'aws_security_group_rule'), []);
  assert.equal(
    securityGroupRules(stack)
      .map((r) => r.address)
      .sort(),
    [
      'aws_vpc_security_group_egress_rule.alb_to_instances',
      'aws_vpc_security_group_egress_rule.instances_chosen',
      'aws_vpc_security_group_egress_rule.instances_to_database',
      'aws_vpc_security_group_egress_rule.instances_to_logs_endpoint',
      'aws_vpc_security_group_egress_rule.instances_to_ssm_endpoint',
      'aws_vpc_security_group_ingress_rule.alb_listener',
      'aws_vpc_security_group_ingress_rule.database_from_instances',
      'aws_vpc_security_group_ingress_rule.instances_from_alb',
      'aws_vpc_security_group_ingress_rule.logs_endpoint_from_instances',
      'aws_vpc_security_group_ingress_rule.ssm_endpoint_from_instances',
    ],
  );
  for (const { address, rule } of securityGroupRules(stack))
    assert.ok(String(rule.description ?? '').length > 10, `${address} needs a real description`);
});

Static('the provider tags by default and carries no credentials', ({ stack }) => {
  const provider = stack.providers.get('aws') as Block;
  assert.is(((provider.default_tags as Block[])[0] as Block).tags, '${local.tags}');
  assert.is(provider.access_key, undefined);
  assert.is(provider.secret_key, undefined);
  for (const name of stack.variables.keys())
    assert.not.match(name, /secret|password|token|access_key|private/i, `variable ${name} looks like a secret`);
});

Static.run();
