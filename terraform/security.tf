# Two security groups, IPv4 only, no SSH anywhere:
#   load balancer: 80 (and 443 with a certificate) from the internet; sends only to the
#                  instances' group on the service port.
#   instances:     the service port from the load balancer's group; nothing else in,
#                  nothing out.
# Rules are separate resources (one description each) rather than inline blocks, which
# the provider cannot mix with rule resources and which cannot carry per-rule tags.

resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  description = "Load balancer of ${var.name}: HTTP(S) from the internet, to the instances on the service port only"
  vpc_id      = data.aws_vpc.this.id

  tags = { Name = "${var.name}-alb" }

  # A group cannot be deleted while a network interface still uses it, so a replacement
  # must exist (and be attached) before the old one goes.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "instances" {
  name_prefix = "${var.name}-instances-"
  description = "Instances of ${var.name}: the service port from the load balancer only; no SSH, no egress"
  vpc_id      = data.aws_vpc.this.id

  tags = { Name = "${var.name}-instances" }

  lifecycle {
    create_before_destroy = true
  }
}

# AWS gives every new group an allow-all egress rule; the provider removes it when it
# creates a group without inline egress blocks, so the groups above start with no
# egress at all. Responses to allowed inbound traffic need no rule (groups are
# stateful), and the VPC's DNS, DHCP, NTP and instance metadata are not filtered by
# security groups, so the instances need no egress: updates arrive as a new image.

resource "aws_vpc_security_group_ingress_rule" "alb_listener" {
  for_each = toset([for port in local.listener_ports : tostring(port)])

  security_group_id = aws_security_group.alb.id
  description       = each.value == "443" ? "HTTPS from the internet (IPv4)" : "HTTP from the internet (IPv4)"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_ipv4         = "0.0.0.0/0"

  tags = { Name = "${var.name}-alb-in-${each.value}" }
}

resource "aws_vpc_security_group_egress_rule" "alb_to_instances" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Requests and health checks to the instances on the service port"
  ip_protocol                  = "tcp"
  from_port                    = var.service.port
  to_port                      = var.service.port
  referenced_security_group_id = aws_security_group.instances.id

  tags = { Name = "${var.name}-alb-out-service" }
}

resource "aws_vpc_security_group_ingress_rule" "instances_from_alb" {
  security_group_id            = aws_security_group.instances.id
  description                  = "Service port from the load balancer only"
  ip_protocol                  = "tcp"
  from_port                    = var.service.port
  to_port                      = var.service.port
  referenced_security_group_id = aws_security_group.alb.id

  tags = { Name = "${var.name}-instances-in-service" }
}
