// Security rules of the AWS stack, checked on the HCL itself (no Terraform binary):
// one test per rule of the security baseline in DESIGN.md and issue 6.

import * as assert from 'uvu/assert';
import { suite } from '../support/suite.ts';
import {
  commentAbove,
  loadStack,
  nested,
  nestedAll,
  optionalDefault,
  resource,
  resourcesOf,
  securityGroupRules,
  validations,
  variable,
  type Block,
  type Stack,
} from '../helpers/terraform.ts';

const Security = suite<{ stack: Stack }>('terraform security rules');

Security.before(async (context) => {
  context.stack = await loadStack();
});

Security('instances require IMDSv2 tokens with a hop limit of 1', ({ stack }) => {
  const metadata = nested(resource(stack, 'aws_launch_template'), 'metadata_options');
  assert.is(metadata.http_endpoint, 'enabled');
  assert.is(metadata.http_tokens, 'required');
  assert.is(metadata.http_put_response_hop_limit, 1);
});

Security('the root volume is an encrypted gp3 volume on the image root device', ({ stack }) => {
  const mappings = nestedAll(resource(stack, 'aws_launch_template'), 'block_device_mappings');
  assert.is(mappings.length, 1);
  const mapping = mappings[0] as Block;
  assert.is(mapping.device_name, '${var.image.root_device_name}');
  const ebs = nested(mapping, 'ebs');
  assert.is(ebs.encrypted, true);
  assert.is(ebs.volume_type, 'gp3');
  assert.is(ebs.delete_on_termination, true);
});

Security('instances get no public IP address', ({ stack }) => {
  const template = resource(stack, 'aws_launch_template');
  const interfaces = nestedAll(template, 'network_interfaces');
  assert.is(interfaces.length, 1);
  assert.is((interfaces[0] as Block).associate_public_ip_address, false);
  // Security groups belong on the interface; vpc_security_group_ids cannot be combined
  // with a network interface block and would hide this rule.
  assert.is(template.vpc_security_group_ids, undefined);
  assert.equal((interfaces[0] as Block).security_groups, ['${aws_security_group.instances.id}']);
});

Security('no key pair and no user data reach the instances', ({ stack }) => {
  const template = resource(stack, 'aws_launch_template');
  assert.is(template.key_name, undefined);
  assert.is(template.user_data, undefined);
});

Security('no rule opens port 22 or all ports', ({ stack }) => {
  const rules = securityGroupRules(stack);
  assert.ok(rules.length >= 3, 'expected the stack to declare its security group rules');
  for (const { address, rule } of rules) {
    assert.is.not(String(rule.ip_protocol ?? rule.protocol), '-1', `${address} allows every protocol`);
    const from = rule.from_port;
    const to = rule.to_port;
    if (typeof from === 'number' && typeof to === 'number') assert.ok(!(from <= 22 && 22 <= to), `${address} covers port 22`);
    assert.is.not(from, 22, `${address} opens port 22`);
  }
  for (const [name, group] of resourcesOf(stack, 'aws_security_group')) {
    assert.is(group.ingress, undefined, `aws_security_group.${name} has inline ingress rules`);
  }
  for (const text of stack.sources.values()) assert.not.match(text, /port\s*=\s*22\b/);
});

Security('the load balancer admits only 80 (and 443 with a certificate) from anywhere on IPv4', ({ stack }) => {
  const ingress = securityGroupRules(stack).filter((r) => r.direction === 'ingress' && r.rule.security_group_id === '${aws_security_group.alb.id}');
  assert.is(ingress.length, 1, 'one rule resource, repeated per listener port');
  const rule = (ingress[0] as { rule: Block }).rule;
  assert.is(rule.for_each, '${toset([for port in local.listener_ports : tostring(port)])}');
  assert.is(rule.cidr_ipv4, '0.0.0.0/0');
  assert.is(rule.ip_protocol, 'tcp');
  assert.is(rule.cidr_ipv6, undefined);
  assert.is(stack.locals.listener_ports, '${local.https ? [80, 443] : [80]}');
  assert.is(stack.locals.https, '${var.certificate_arn != null}');
});

Security('the instances admit only the service port, only from the load balancer group', ({ stack }) => {
  const ingress = securityGroupRules(stack).filter((r) => r.direction === 'ingress' && r.rule.security_group_id === '${aws_security_group.instances.id}');
  assert.is(ingress.length, 1);
  const rule = (ingress[0] as { rule: Block }).rule;
  assert.is(rule.referenced_security_group_id, '${aws_security_group.alb.id}');
  assert.is(rule.from_port, '${var.service.port}');
  assert.is(rule.to_port, '${var.service.port}');
  assert.is(rule.ip_protocol, 'tcp');
  assert.is(rule.cidr_ipv4, undefined);
});

Security('the load balancer may send only to the instances group on the service port', ({ stack }) => {
  const egress = securityGroupRules(stack).filter((r) => r.direction === 'egress' && r.rule.security_group_id === '${aws_security_group.alb.id}');
  assert.is(egress.length, 1);
  const rule = (egress[0] as { rule: Block }).rule;
  assert.is(rule.referenced_security_group_id, '${aws_security_group.instances.id}');
  assert.is(rule.from_port, '${var.service.port}');
  assert.is(rule.to_port, '${var.service.port}');
});

Security('nothing may send to the whole internet', ({ stack }) => {
  for (const { address, direction, rule } of securityGroupRules(stack)) {
    if (direction !== 'egress') continue;
    assert.is(rule.cidr_ipv4, undefined, `${address} sends to a CIDR`);
    assert.is(rule.cidr_ipv6, undefined, `${address} sends to an IPv6 CIDR`);
    assert.is(rule.cidr_blocks, undefined, `${address} sends to CIDR blocks`);
  }
  for (const [name, group] of resourcesOf(stack, 'aws_security_group')) {
    assert.is(group.egress, undefined, `aws_security_group.${name} has inline egress rules`);
  }
  const instancesEgress = securityGroupRules(stack).filter((r) => r.direction === 'egress' && r.rule.security_group_id === '${aws_security_group.instances.id}');
  assert.is(instancesEgress.length, 0, 'the instances need no egress at all');
});

Security('every security group and every rule has a description', ({ stack }) => {
  for (const [name, group] of resourcesOf(stack, 'aws_security_group')) {
    assert.type(group.description, 'string', `aws_security_group.${name} has no description`);
    assert.ok(String(group.description).length > 20, `aws_security_group.${name} needs a real description`);
  }
  for (const { address, rule } of securityGroupRules(stack)) {
    assert.type(rule.description, 'string', `${address} has no description`);
    assert.ok(String(rule.description).length > 10, `${address} needs a real description`);
  }
});

Security('the stack is IPv4 only', ({ stack }) => {
  assert.is(resource(stack, 'aws_lb').ip_address_type, 'ipv4');
  assert.is(resource(stack, 'aws_lb_target_group').ip_address_type, 'ipv4');
  assert.is(nested(resource(stack, 'aws_launch_template'), 'metadata_options').http_protocol_ipv6, 'disabled');
  assert.is(nested(resource(stack, 'aws_launch_template'), 'network_interfaces').ipv6_address_count, 0);
  for (const [file, text] of stack.sources) {
    assert.not.match(text, /^\s*(cidr_ipv6|ipv6_cidr_blocks|ipv6_address_count\s*=\s*[1-9])/m, `${file} mentions IPv6 addresses`);
    assert.not.match(text, /"dualstack/, `${file} enables dualstack`);
  }
});

Security('the load balancer is internet-facing and drops invalid header fields', ({ stack }) => {
  const lb = resource(stack, 'aws_lb');
  assert.is(lb.load_balancer_type, 'application');
  assert.is(lb.internal, false);
  assert.is(lb.drop_invalid_header_fields, true);
  assert.equal(lb.security_groups, ['${aws_security_group.alb.id}']);
});

Security('the idle timeout stays below the service keep-alive of 75 s', ({ stack }) => {
  assert.is(resource(stack, 'aws_lb').idle_timeout, '${var.idle_timeout_s}');
  const idle = variable(stack, 'idle_timeout_s');
  assert.type(idle.default, 'number');
  assert.ok((idle.default as number) < 75, `default ${String(idle.default)} must be below 75`);
  assert.ok(validations(stack, 'idle_timeout_s').some((c) => c.includes('var.idle_timeout_s < 75')), 'a validation must keep it below 75');
});

Security('deletion protection is off, and a comment says why', ({ stack }) => {
  assert.is(resource(stack, 'aws_lb').enable_deletion_protection, false);
  assert.match(commentAbove(stack, 'alb.tf', 'enable_deletion_protection'), /destroy/);
});

Security('port 80 forwards, or redirects to HTTPS when a certificate is set', ({ stack }) => {
  const http = resource(stack, 'aws_lb_listener', 'http');
  assert.is(http.port, 80);
  assert.is(http.protocol, 'HTTP');
  const action = nested(http, 'default_action');
  assert.is(action.type, '${local.https ? "redirect" : "forward"}');
  assert.is(action.target_group_arn, '${local.https ? null : aws_lb_target_group.this.arn}');
  const redirect = nestedAll(action, 'redirect');
  assert.is(redirect.length, 1);
  assert.is((redirect[0] as Block).protocol, 'HTTPS');
  assert.is((redirect[0] as Block).port, '443');
  assert.is((redirect[0] as Block).status_code, 'HTTP_301');
});

Security('port 443 exists only with a certificate and uses a TLS 1.2+ policy', ({ stack }) => {
  const https = resource(stack, 'aws_lb_listener', 'https');
  assert.is(https.count, '${local.https ? 1 : 0}');
  assert.is(https.port, 443);
  assert.is(https.protocol, 'HTTPS');
  assert.is(https.certificate_arn, '${var.certificate_arn}');
  assert.is(https.ssl_policy, '${var.ssl_policy}');
  const policy = variable(stack, 'ssl_policy');
  assert.match(String(policy.default), /^ELBSecurityPolicy-TLS13-1-2-/);
  assert.ok(validations(stack, 'ssl_policy').some((c) => c.includes('ELBSecurityPolicy-TLS13-')), 'only TLS13-family policies are allowed');
  assert.is(nested(https, 'default_action').target_group_arn, '${aws_lb_target_group.this.arn}');
});

Security('no variable carries a secret', ({ stack }) => {
  for (const name of stack.variables.keys()) assert.not.match(name, /secret|password|token|access_key|private/i, `variable ${name} looks like a secret`);
  const provider = stack.providers.get('aws') ?? {};
  assert.is(provider.access_key, undefined);
  assert.is(provider.secret_key, undefined);
});

Security('the service port cannot be a privileged port', ({ stack }) => {
  assert.ok(validations(stack, 'service').some((c) => c.includes('var.service.port >= 1024')));
  assert.is(optionalDefault(stack, 'service', 'port'), undefined, 'the port comes from deploy.yaml, not a default');
});

Security.run();
