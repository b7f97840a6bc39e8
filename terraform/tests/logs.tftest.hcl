# The instances' logs (logs.tf): one log group per environment with its retention, reached
# through an interface endpoint (no internet egress), written only by the instance role,
# and named to the image's shipper by the user data. Mocked AWS provider in ./aws.

mock_provider "aws" {
  source = "./tests/aws"
}

variables {
  name        = "demo-staging"
  app         = "demo"
  environment = "staging"
  region      = "eu-west-1"
  image       = { id = "ami-0123456789abcdef0", root_device_name = "/dev/sda1" }
  instances   = { min = 2, desired = 2, max = 4 }
  service     = { port = 8080, health_path = "/health" }
}

run "one_log_group_per_environment_kept_30_days_by_default" {
  command = apply

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/bakery/demo/staging" && aws_cloudwatch_log_group.this.retention_in_days == 30
    error_message = "the group is /bakery/APP/ENV (the runner reads that name) and keeps 30 days by default"
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.tags["bakery:app"] == "demo" && aws_cloudwatch_log_group.this.tags["bakery:env"] == "staging"
    error_message = "the group carries the guard tags the deploy policy's log statements require"
  }

  assert {
    condition     = output.log_group_name == "/bakery/demo/staging"
    error_message = "the group's name is an output"
  }
}

run "the_retention_comes_from_the_setting" {
  command = plan

  variables {
    logs = { retention_days = 365 }
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "logs.retention_days sets the group's retention"
  }
}

run "a_retention_cloudwatch_does_not_offer_is_refused" {
  command = plan

  variables {
    logs = { retention_days = 45 }
  }

  expect_failures = [var.logs]
}

run "instances_reach_cloudwatch_logs_through_the_endpoint_only" {
  command = apply

  assert {
    condition = (
      aws_vpc_endpoint.logs.service_name == "com.amazonaws.eu-west-1.logs" &&
      aws_vpc_endpoint.logs.vpc_endpoint_type == "Interface" &&
      aws_vpc_endpoint.logs.private_dns_enabled &&
      aws_vpc_endpoint.logs.security_group_ids == toset([aws_security_group.logs_endpoint.id]) &&
      length(aws_vpc_endpoint.logs.subnet_ids) == 2
    )
    error_message = "an interface endpoint for logs with private DNS, one subnet per zone, in its own group"
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.instances_to_logs_endpoint.security_group_id == aws_security_group.instances.id &&
      aws_vpc_security_group_egress_rule.instances_to_logs_endpoint.referenced_security_group_id == aws_security_group.logs_endpoint.id &&
      aws_vpc_security_group_egress_rule.instances_to_logs_endpoint.cidr_ipv4 == null &&
      aws_vpc_security_group_egress_rule.instances_to_logs_endpoint.from_port == 443 &&
      aws_vpc_security_group_egress_rule.instances_to_logs_endpoint.to_port == 443
    )
    error_message = "the instances' only new egress is HTTPS to the endpoint's group, not to the internet"
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.logs_endpoint_from_instances.security_group_id == aws_security_group.logs_endpoint.id &&
      aws_vpc_security_group_ingress_rule.logs_endpoint_from_instances.referenced_security_group_id == aws_security_group.instances.id &&
      aws_vpc_security_group_ingress_rule.logs_endpoint_from_instances.from_port == 443
    )
    error_message = "the endpoint accepts HTTPS from the instances' group only"
  }
}

run "the_instance_role_may_write_only_to_its_group" {
  command = apply

  assert {
    condition = (
      aws_iam_role_policy.logs.role == aws_iam_role.instances.id &&
      length(jsondecode(aws_iam_role_policy.logs.policy).Statement) == 1 &&
      toset(jsondecode(aws_iam_role_policy.logs.policy).Statement[0].Action) == toset(["logs:CreateLogStream", "logs:PutLogEvents"]) &&
      jsondecode(aws_iam_role_policy.logs.policy).Statement[0].Resource == "arn:aws:logs:eu-west-1:123456789012:log-group:/bakery/demo/staging:log-stream:*"
    )
    error_message = "the instance role creates streams in and writes to the environment's group, nothing else"
  }
}

run "the_user_data_tells_the_shipper_where_to_write" {
  command = apply

  assert {
    condition = contains(
      [for file in yamldecode(trimprefix(base64decode(aws_launch_template.this.user_data), "#cloud-config\n")).write_files : file.content if file.path == "/etc/bakery/logs.json"],
      jsonencode({ region = "eu-west-1", group = "/bakery/demo/staging" }),
    )
    error_message = "/etc/bakery/logs.json names the region and the group"
  }
}
