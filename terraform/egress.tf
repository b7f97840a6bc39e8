# Outbound traffic chosen in deploy.yaml (aws.egress): exactly those rules on the instances'
# group, TCP to one port of an IPv4 range or of a managed prefix list, none by default.
# Besides these the instances reach only what bakery opens itself (the CloudWatch Logs
# endpoint, the SSM endpoint with secrets, the database). A rule to the internet also needs
# a route out of the subnets: the instances have no public IP, so that is a NAT gateway
# (or another default route), not an internet gateway; the runner's preflight checks it.

resource "aws_vpc_security_group_egress_rule" "instances_chosen" {
  for_each = { for rule in var.egress : "${coalesce(rule.cidr, rule.prefix_list)}:${rule.port}" => rule }

  security_group_id = aws_security_group.instances.id
  description       = "aws.egress in deploy.yaml: TCP ${each.value.port} to ${each.key}"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
  prefix_list_id    = each.value.prefix_list

  tags = { Name = "${var.name}-instances-out-${replace(replace(each.key, "/", "-"), ":", "-")}" }
}
