// The stack's interface: versions, variables (typed, described, validated where limits
// exist), outputs, tags and naming, in the terraform-aws-modules style.

import * as assert from 'uvu/assert';
import { suite } from '../support/suite.ts';
import { loadStack, resourcesOf, validations, variable, type Block, type Stack } from '../helpers/terraform.ts';

const Interface = suite<{ stack: Stack }>('terraform interface');

Interface.before(async (context) => {
  context.stack = await loadStack();
});

Interface('Terraform and the aws provider versions are constrained', ({ stack }) => {
  const block = stack.terraform.find((t) => t.required_version) as Block;
  assert.ok(block, 'versions.tf must set required_version');
  assert.match(String(block.required_version), /^>= 1\.1[1-9]/, 'S3 use_lockfile needs Terraform 1.11+');
  const providers = (block.required_providers as Array<Record<string, { source: string; version: string }>>)[0] as Record<string, { source: string; version: string }>;
  assert.is(providers.aws?.source, 'hashicorp/aws');
  assert.match(String(providers.aws?.version), />= 5\.\d+\.\d+, < 7\.0\.0/);
});

Interface('the repository stack has no backend block: the runner generates it per environment', ({ stack }) => {
  for (const block of stack.terraform) assert.is(block.backend, undefined);
});

Interface('every variable has a description and a precise type', ({ stack }) => {
  assert.ok(stack.variables.size >= 15);
  for (const [name, declaration] of stack.variables) {
    assert.type(declaration.description, 'string', `variable ${name} has no description`);
    assert.ok(String(declaration.description).length > 15, `variable ${name} needs a real description`);
    assert.type(declaration.type, 'string', `variable ${name} has no type`);
    assert.not.match(String(declaration.type), /\bany\b/, `variable ${name} is typed any`);
  }
});

Interface('structured inputs are typed as objects with optional defaults', ({ stack }) => {
  for (const name of ['instances', 'service', 'health', 'image', 'instance_refresh']) {
    assert.match(String(variable(stack, name).type), /^\$\{object\(\{/, `${name} must be an object type`);
  }
  assert.match(String(variable(stack, 'health').type), /optional\(number, 10\)/);
});

Interface('every variable with limits is validated', ({ stack }) => {
  const expected: Record<string, string[]> = {
    name: ['regex('],
    app: ['regex('],
    environment: ['regex('],
    region: ['regex('],
    vpc_id: ['var.vpc_id == null'],
    subnet_ids: ['length(var.subnet_ids) >= 2', 'subnet-'],
    image: ['ami-'],
    instance_type: ['regex('],
    root_volume_size_gb: ['>= 8'],
    instances: ['var.instances.min <= var.instances.desired', 'var.instances.desired <= var.instances.max'],
    service: ['var.service.port >= 1024', 'var.service.port <= 65535', 'health_path'],
    health: ['var.health.interval_s >= 5', 'var.health.timeout_s < var.health.interval_s', 'healthy_threshold'],
    certificate_arn: ['acm'],
    ssl_policy: ['TLS13'],
    idle_timeout_s: ['< 75'],
    deregistration_delay_s: ['<= 3600'],
    health_check_grace_period_s: ['>= 0'],
    instance_warmup_s: ['>= 0'],
    instance_refresh: ['min_healthy_percentage <= 100', 'max_healthy_percentage <= 200', 'max_healthy_percentage - var.instance_refresh.min_healthy_percentage <= 100'],
    tags: ['bakery:'],
  };
  for (const [name, fragments] of Object.entries(expected)) {
    const conditions = validations(stack, name).join('\n');
    for (const fragment of fragments) assert.ok(conditions.includes(fragment), `variable ${name}: no validation mentions ${JSON.stringify(fragment)}`);
  }
});

Interface('every validation explains itself by naming its variable', ({ stack }) => {
  for (const [name, declaration] of stack.variables) {
    for (const check of (declaration.validation as Block[] | undefined) ?? []) {
      assert.match(String(check.error_message), new RegExp(`^${name}\\b|\\b${name}\\.`), `variable ${name}: error_message must name it`);
    }
  }
});

Interface('the outputs the runner and the README rely on exist and are described', ({ stack }) => {
  for (const name of ['url', 'alb_dns_name', 'asg_name', 'target_group_arn', 'launch_template_id', 'alb_security_group_id', 'instance_security_group_id']) {
    const output = stack.outputs.get(name);
    assert.ok(output, `output ${name} is missing`);
    assert.type(output?.description, 'string', `output ${name} has no description`);
  }
  // hcl2json renders the conditional as a template directive.
  const url = String(stack.outputs.get('url')?.value);
  assert.match(url, /local\.https/);
  assert.match(url, /https/);
  assert.match(url, /:\/\/\$\{aws_lb\.this\.dns_name\}$/);
});

Interface('the single main resources are named this', ({ stack }) => {
  // Rules and the two security groups are named after their role instead.
  for (const type of ['aws_lb', 'aws_lb_target_group', 'aws_launch_template', 'aws_autoscaling_group']) {
    assert.equal([...(stack.resources.get(type)?.keys() ?? [])], ['this'], `the only ${type} must be named "this"`);
  }
  for (const type of ['aws_vpc', 'aws_subnet']) assert.equal([...(stack.data.get(type)?.keys() ?? [])], ['this'], `data ${type} must be named "this"`);
});

Interface('tags are layered: bakery keys, then the caller tags, applied by default', ({ stack }) => {
  assert.match(String(stack.locals.tags), /"bakery:app"\s*=\s*var\.app/);
  assert.match(String(stack.locals.tags), /"bakery:env"\s*=\s*var\.environment/);
  assert.match(String(stack.locals.tags), /var\.tags/);
  const provider = stack.providers.get('aws') as Block;
  assert.is(((provider.default_tags as Block[])[0] as Block).tags, '${local.tags}');
  const group = resourcesOf(stack, 'aws_autoscaling_group')[0]?.[1] as Block;
  assert.match(JSON.stringify(group.dynamic), /local\.tags/, 'the group ignores default_tags and must tag itself');
});

Interface.run();
