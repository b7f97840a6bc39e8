# How instances without a public IP, a NAT gateway or any egress reach SSM at boot: an
# interface endpoint for SSM in the stack's subnets (one per availability zone), with
# private DNS so ssm.REGION.amazonaws.com resolves to it, and one egress rule: HTTPS from
# the instances to the endpoint's group, nowhere else. Only when there are secrets (the
# database's master secret counts: it is read through SSM too).

locals {
  secrets_enabled = length(var.service_ssm_parameters) > 0 || local.database_enabled

  # An interface endpoint takes at most one subnet per zone: the first given in each.
  endpoint_subnet_ids = [
    for zone in sort(local.availability_zones) :
    [for id in sort(local.subnet_ids) : id if data.aws_subnet.this[id].availability_zone == zone][0]
  ]
}

resource "aws_security_group" "ssm_endpoint" {
  count = local.secrets_enabled ? 1 : 0

  name_prefix = "${var.name}-ssm-"
  description = "SSM endpoint of ${var.name}: HTTPS from the instances only"
  vpc_id      = data.aws_vpc.this.id

  tags = { Name = "${var.name}-ssm-endpoint" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "ssm_endpoint_from_instances" {
  count = local.secrets_enabled ? 1 : 0

  security_group_id            = aws_security_group.ssm_endpoint[0].id
  description                  = "HTTPS from the instances (secrets at boot)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.instances.id

  tags = { Name = "${var.name}-ssm-in-https" }
}

resource "aws_vpc_security_group_egress_rule" "instances_to_ssm_endpoint" {
  count = local.secrets_enabled ? 1 : 0

  security_group_id            = aws_security_group.instances.id
  description                  = "HTTPS to the SSM endpoint only (secrets at boot)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.ssm_endpoint[0].id

  tags = { Name = "${var.name}-instances-out-ssm" }
}

resource "aws_vpc_endpoint" "ssm" {
  count = local.secrets_enabled ? 1 : 0

  vpc_id              = data.aws_vpc.this.id
  service_name        = "com.amazonaws.${var.region}.ssm"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = local.endpoint_subnet_ids
  security_group_ids  = [aws_security_group.ssm_endpoint[0].id]
  private_dns_enabled = true
  ip_address_type     = "ipv4"

  tags = { Name = "${var.name}-ssm" }
}
