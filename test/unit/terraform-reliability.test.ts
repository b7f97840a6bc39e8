// Reliability rules of the AWS stack, checked on the HCL: health checks, draining,
// launch-before-terminate refreshes with rollback, and the availability zone rule.

import * as assert from 'uvu/assert';
import { suite } from '../support/suite.ts';
import { commentAbove, loadStack, nested, nestedAll, optionalDefault, resource, variable, type Block, type Stack } from '../helpers/terraform.ts';

const Reliability = suite<{ stack: Stack }>('terraform reliability rules');

Reliability.before(async (context) => {
  context.stack = await loadStack();
});

Reliability('the target group checks the health path over HTTP and wants exactly 200', ({ stack }) => {
  const group = resource(stack, 'aws_lb_target_group');
  assert.is(group.protocol, 'HTTP');
  assert.is(group.port, '${var.service.port}');
  const check = nested(group, 'health_check');
  assert.is(check.enabled, true);
  assert.is(check.protocol, 'HTTP');
  assert.is(check.port, 'traffic-port');
  assert.is(check.path, '${var.service.health_path}');
  assert.is(check.matcher, '200');
});

Reliability('health check interval, thresholds and timeout come from the config with fast defaults', ({ stack }) => {
  const check = nested(resource(stack, 'aws_lb_target_group'), 'health_check');
  assert.is(check.interval, '${var.health.interval_s}');
  assert.is(check.timeout, '${var.health.timeout_s}');
  assert.is(check.healthy_threshold, '${var.health.healthy_threshold}');
  assert.is(check.unhealthy_threshold, '${var.health.unhealthy_threshold}');
  assert.is(optionalDefault(stack, 'health', 'interval_s'), '10');
  assert.is(optionalDefault(stack, 'health', 'healthy_threshold'), '2');
  assert.is(optionalDefault(stack, 'health', 'unhealthy_threshold'), '2');
});

Reliability('draining a removed target is short', ({ stack }) => {
  assert.is(resource(stack, 'aws_lb_target_group').deregistration_delay, '${var.deregistration_delay_s}');
  const delay = variable(stack, 'deregistration_delay_s').default;
  assert.type(delay, 'number');
  assert.ok((delay as number) <= 60 && (delay as number) > 0, `deregistration delay default ${String(delay)} should be short but not zero`);
});

Reliability('the group replaces instances the load balancer finds unhealthy', ({ stack }) => {
  const group = resource(stack, 'aws_autoscaling_group');
  assert.is(group.health_check_type, 'ELB');
  assert.is(group.health_check_grace_period, '${var.health_check_grace_period_s}');
  assert.is(group.default_instance_warmup, '${var.instance_warmup_s}');
  assert.type(variable(stack, 'health_check_grace_period_s').default, 'number');
  assert.type(variable(stack, 'instance_warmup_s').default, 'number');
});

Reliability('the group registers its instances with the target group', ({ stack }) => {
  assert.equal(resource(stack, 'aws_autoscaling_group').target_group_arns, ['${aws_lb_target_group.this.arn}']);
  assert.is(resource(stack, 'aws_lb_target_group').target_type, 'instance');
});

Reliability('the launch template version is pinned, never $Latest or $Default', ({ stack }) => {
  const template = nested(resource(stack, 'aws_autoscaling_group'), 'launch_template');
  assert.is(template.id, '${aws_launch_template.this.id}');
  assert.is(template.version, '${aws_launch_template.this.latest_version}');
  for (const text of stack.sources.values()) {
    const code = text.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
    assert.not.match(code, /\$(Latest|Default)/);
  }
  assert.match(commentAbove(stack, 'compute.tf', 'version = aws_launch_template.this.latest_version'), /roll back/);
});

Reliability('an image change starts a rolling refresh that launches before it terminates', ({ stack }) => {
  const refresh = nested(resource(stack, 'aws_autoscaling_group'), 'instance_refresh');
  assert.is(refresh.strategy, 'Rolling');
  const preferences = nested(refresh, 'preferences');
  assert.is(preferences.min_healthy_percentage, '${var.instance_refresh.min_healthy_percentage}');
  assert.is(preferences.max_healthy_percentage, '${var.instance_refresh.max_healthy_percentage}');
  assert.is(optionalDefault(stack, 'instance_refresh', 'min_healthy_percentage'), '100');
  assert.is(optionalDefault(stack, 'instance_refresh', 'max_healthy_percentage'), '200');
});

Reliability('a failed refresh rolls back automatically and matching instances are skipped', ({ stack }) => {
  const preferences = nested(nested(resource(stack, 'aws_autoscaling_group'), 'instance_refresh'), 'preferences');
  assert.is(preferences.auto_rollback, true);
  assert.is(preferences.skip_matching, true);
});

Reliability('health replacements outside a refresh also launch before they terminate', ({ stack }) => {
  const policy = nested(resource(stack, 'aws_autoscaling_group'), 'instance_maintenance_policy');
  assert.is(policy.min_healthy_percentage, '${var.instance_refresh.min_healthy_percentage}');
  assert.is(policy.max_healthy_percentage, '${var.instance_refresh.max_healthy_percentage}');
});

Reliability('the load balancer refuses subnets in fewer than two availability zones', ({ stack }) => {
  const preconditions = (nested(resource(stack, 'aws_lb'), 'lifecycle').precondition as Block[] | undefined) ?? [];
  assert.ok(preconditions.some((p) => String(p.condition).includes('length(local.availability_zones) >= 2')), 'a precondition must check two zones');
  assert.is(stack.locals.availability_zones, '${distinct([for subnet in data.aws_subnet.this : subnet.availability_zone])}');
  assert.ok(
    (variable(stack, 'subnet_ids').validation as Block[]).some((v) => String(v.condition).includes('length(var.subnet_ids) >= 2')),
    'subnet_ids must ask for at least two subnets',
  );
});

Reliability('the load balancer and the group use the same subnets', ({ stack }) => {
  assert.is(resource(stack, 'aws_lb').subnets, '${local.subnet_ids}');
  assert.is(resource(stack, 'aws_autoscaling_group').vpc_zone_identifier, '${local.subnet_ids}');
  assert.is(stack.locals.subnet_ids, '${length(var.subnet_ids) > 0 ? var.subnet_ids : data.aws_subnets.default[0].ids}');
});

Reliability('without a VPC the default VPC and its default subnets are used', ({ stack }) => {
  const vpc = stack.data.get('aws_vpc')?.get('this') as Block;
  assert.is(vpc.id, '${var.vpc_id}');
  assert.is(vpc.default, '${var.vpc_id == null ? true : null}');
  const subnets = stack.data.get('aws_subnets')?.get('default') as Block;
  const filters = nestedAll(subnets, 'filter');
  assert.ok(filters.some((f) => f.name === 'default-for-az' && JSON.stringify(f.values) === '["true"]'));
});

Reliability('instances have detailed monitoring and tagged instances, volumes and interfaces', ({ stack }) => {
  const template = resource(stack, 'aws_launch_template');
  assert.is(nested(template, 'monitoring').enabled, true);
  const kinds = nestedAll(template, 'tag_specifications').map((spec) => spec.resource_type);
  assert.equal(kinds.sort(), ['instance', 'network-interface', 'volume']);
  for (const spec of nestedAll(template, 'tag_specifications')) assert.match(String(spec.tags), /local\.tags/);
});

Reliability('resources that cannot be replaced in place are created before the old ones go', ({ stack }) => {
  for (const [type, name] of [['aws_lb_target_group', 'this'], ['aws_security_group', 'alb'], ['aws_security_group', 'instances']] as const) {
    assert.is(nested(resource(stack, type, name), 'lifecycle').create_before_destroy, true, `${type}.${name}`);
  }
  assert.is(resource(stack, 'aws_lb_target_group').name, undefined, 'a fixed name would collide with its replacement');
});

Reliability('target group health checks start only once a listener exists', ({ stack }) => {
  assert.equal(resource(stack, 'aws_autoscaling_group').depends_on, ['${aws_lb_listener.http}', '${aws_lb_listener.https}']);
});

Reliability('terraform does not wait for capacity: the runner waits and explains', ({ stack }) => {
  assert.is(resource(stack, 'aws_autoscaling_group').wait_for_capacity_timeout, '0');
});

Reliability.run();
