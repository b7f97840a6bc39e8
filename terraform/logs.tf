# Where the instances' logs go: one CloudWatch Logs group per environment, one stream per
# instance (its id), written by the image's bakery-logs unit (launcher/bakery_launcher/
# log_shipper.py) from the journal: the service, and the release and one-off commands.
# The instances have no route out, so they reach CloudWatch Logs through an interface
# endpoint in the stack's subnets (private DNS: logs.REGION.amazonaws.com resolves to it),
# with one egress rule, HTTPS to the endpoint's group. The instance role may create
# streams in and write to this group only; ./status.ts ENV --logs reads it.

locals {
  log_group_name = "/bakery/${var.app}/${var.environment}"
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.logs.retention_days
  # Encrypted with CloudWatch Logs' own key; a customer key would need a key policy for
  # the logs service that the deploy policy does not manage.

  tags = merge(local.tags, { Name = local.log_group_name })
}

resource "aws_security_group" "logs_endpoint" {
  name_prefix = "${var.name}-logs-"
  description = "CloudWatch Logs endpoint of ${var.name}: HTTPS from the instances only"
  vpc_id      = data.aws_vpc.this.id

  tags = { Name = "${var.name}-logs-endpoint" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "logs_endpoint_from_instances" {
  security_group_id            = aws_security_group.logs_endpoint.id
  description                  = "HTTPS from the instances (journal shipping)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.instances.id

  tags = { Name = "${var.name}-logs-in-https" }
}

resource "aws_vpc_security_group_egress_rule" "instances_to_logs_endpoint" {
  security_group_id            = aws_security_group.instances.id
  description                  = "HTTPS to the CloudWatch Logs endpoint only (journal shipping)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.logs_endpoint.id

  tags = { Name = "${var.name}-instances-out-logs" }
}

resource "aws_vpc_endpoint" "logs" {
  vpc_id              = data.aws_vpc.this.id
  service_name        = "com.amazonaws.${var.region}.logs"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = local.endpoint_subnet_ids
  security_group_ids  = [aws_security_group.logs_endpoint.id]
  private_dns_enabled = true
  ip_address_type     = "ipv4"

  tags = { Name = "${var.name}-logs" }
}

resource "aws_iam_role_policy" "logs" {
  name = "service-logs"
  role = aws_iam_role.instances.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      # PutLogEvents takes no sequence token since 2023, so no DescribeLogStreams either:
      # the shipper creates its stream (an existing one is fine) and writes to it.
      Sid      = "WriteTheEnvironmentsLogGroupOnly"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "${aws_cloudwatch_log_group.this.arn}:log-stream:*"
    }]
  })
}
