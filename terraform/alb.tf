# The Application Load Balancer, its target group and listeners.

resource "aws_lb" "this" {
  name               = var.name
  load_balancer_type = "application"
  internal           = false
  ip_address_type    = "ipv4"
  security_groups    = [aws_security_group.alb.id]
  subnets            = local.subnet_ids

  # Requests with header names that are not valid HTTP tokens are dropped at the edge
  # instead of reaching the service (request smuggling, header confusion).
  drop_invalid_header_fields = true
  desync_mitigation_mode     = "defensive"

  # Below the service's 75 s keep-alive (waitress channel_timeout), so the ALB always
  # closes an idle connection first and never reuses one the backend is closing (502).
  idle_timeout = var.idle_timeout_s

  # On by default (aws.deletion_protection): a stray `terraform destroy` or console click
  # cannot remove it. ./destroy.ts applies it off, after its confirmation, before destroying.
  enable_deletion_protection = var.deletion_protection

  tags = { Name = var.name }

  lifecycle {
    precondition {
      # CreateLoadBalancer rejects an ALB with subnets in fewer than two zones.
      condition     = length(local.availability_zones) >= 2
      error_message = "The subnets must span at least two availability zones (found ${join(", ", local.availability_zones)}). Set aws.subnet_ids in deploy.yaml to subnets in two zones."
    }

    precondition {
      condition     = alltrue([for subnet in data.aws_subnet.this : subnet.vpc_id == data.aws_vpc.this.id])
      error_message = "Every subnet in subnet_ids must belong to VPC ${data.aws_vpc.this.id}."
    }
  }
}

resource "aws_lb_target_group" "this" {
  # name_prefix (at most 6 characters) rather than a name: changing the port or VPC
  # replaces the group, and create_before_destroy needs a free name for the new one.
  name_prefix          = substr(var.app, 0, 5)
  port                 = var.service.port
  protocol             = "HTTP"
  protocol_version     = "HTTP1"
  target_type          = "instance"
  ip_address_type      = "ipv4"
  vpc_id               = data.aws_vpc.this.id
  deregistration_delay = var.deregistration_delay_s

  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = "traffic-port"
    path                = var.service.health_path
    matcher             = "200"
    interval            = var.health.interval_s
    timeout             = var.health.timeout_s
    healthy_threshold   = var.health.healthy_threshold
    unhealthy_threshold = var.health.unhealthy_threshold
  }

  tags = { Name = var.name }

  lifecycle {
    create_before_destroy = true
  }
}

# Port 80 always forwards to the instances. With a certificate, a rule in front of that
# default redirects every request to HTTPS instead. The listener itself is the same in both
# cases on purpose: provider 5.x updates a listener's default action in place and warns
# "Invalid Attribute Combination" (to become an error) when the previous action type's
# attributes linger (target_group_arn on a redirect, redirect on a forward). A rule is only
# ever created or destroyed, and port 80 keeps answering while certificate_arn changes.
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = { Name = "${var.name}-http" }
}

resource "aws_lb_listener_rule" "http_to_https" {
  count = local.https ? 1 : 0

  listener_arn = aws_lb_listener.http.arn
  # The first rule: it decides before the listener's default action does.
  priority = 1

  action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }

  condition {
    path_pattern {
      # Every request path starts with "/".
      values = ["/*"]
    }
  }

  tags = { Name = "${var.name}-http-to-https" }

  # Redirect only once 443 answers; when the certificate goes, the redirect goes first.
  depends_on = [aws_lb_listener.https]
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = { Name = "${var.name}-https" }
}
