# Plan-only tests with a mocked AWS provider: `terraform test` in terraform/ (needs the
# Terraform binary and the aws provider; CI checks the same rules statically in
# test/unit/terraform-*.test.ts).

mock_provider "aws" {
  mock_data "aws_vpc" {
    defaults = {
      id = "vpc-0123456789abcdef0"
    }
  }

  mock_data "aws_subnets" {
    defaults = {
      ids = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
    }
  }

  mock_data "aws_subnet" {
    defaults = {
      vpc_id            = "vpc-0123456789abcdef0"
      availability_zone = "eu-west-1a"
    }
  }

  mock_resource "aws_launch_template" {
    defaults = {
      id             = "lt-0123456789abcdef0"
      latest_version = 3
    }
  }

  mock_resource "aws_lb" {
    defaults = {
      arn      = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo-staging/0123456789abcdef"
      dns_name = "demo-staging-123456789.eu-west-1.elb.amazonaws.com"
    }
  }

  mock_resource "aws_lb_target_group" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo-20240101/0123456789abcdef"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:eu-west-1:123456789012:demo-staging-alarms"
    }
  }
}

# The second default subnet is in another zone; one run below moves it.
override_data {
  target = data.aws_subnet.this["subnet-0bbbbbbbbbbbbbbbb"]
  values = { vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1b" }
}

variables {
  name        = "demo-staging"
  app         = "demo"
  environment = "staging"
  region      = "eu-west-1"
  image       = { id = "ami-0123456789abcdef0" }
  instances   = { min = 2, desired = 2, max = 4 }
  service     = { port = 8080, health_path = "/health" }
}

run "one_availability_zone_is_refused" {
  command = plan

  override_data {
    target = data.aws_subnet.this["subnet-0bbbbbbbbbbbbbbbb"]
    values = { vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1a" }
  }

  expect_failures = [aws_lb.this]
}

run "http_only_without_a_certificate" {
  command = apply

  assert {
    condition     = output.url == "http://demo-staging-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "the url must be plain HTTP on the load balancer's name"
  }

  assert {
    condition     = length(aws_lb_listener.https) == 0 && aws_lb_listener.http.default_action[0].type == "forward"
    error_message = "without a certificate port 80 forwards and there is no 443 listener"
  }

  assert {
    condition     = keys(aws_vpc_security_group_ingress_rule.alb_listener) == ["80"]
    error_message = "without a certificate only port 80 is open"
  }

  assert {
    condition     = aws_autoscaling_group.this.launch_template[0].version == "3"
    error_message = "the group must pin the launch template's latest version"
  }
}

run "https_with_a_certificate" {
  command = apply

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0f0f0f-1111-2222-3333-444444444444"
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "redirect" && aws_lb_listener.https[0].ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    error_message = "with a certificate port 80 redirects and 443 uses a TLS 1.2+ policy"
  }

  assert {
    condition     = toset(keys(aws_vpc_security_group_ingress_rule.alb_listener)) == toset(["80", "443"])
    error_message = "with a certificate ports 80 and 443 are open"
  }

  assert {
    condition     = startswith(output.url, "https://")
    error_message = "the url must be https with a certificate"
  }
}

run "bad_instance_counts_are_refused" {
  command = plan

  variables {
    instances = { min = 3, desired = 2, max = 4 }
  }

  expect_failures = [var.instances]
}

run "idle_timeout_must_stay_below_the_service_keep_alive" {
  command = plan

  variables {
    idle_timeout_s = 75
  }

  expect_failures = [var.idle_timeout_s]
}

run "refresh_percentages_are_checked" {
  command = plan

  variables {
    instance_refresh = { min_healthy_percentage = 50, max_healthy_percentage = 200 }
  }

  expect_failures = [var.instance_refresh]
}
