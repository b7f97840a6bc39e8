# What the mocked AWS provider answers in every test file (mock_provider "aws" { source
# = "./tests/aws" }): a VPC with two default subnets in two zones, and ids in the formats
# the provider validates (a launch template id must start with "lt-", an ARN must parse).

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

# The second default subnet is in another zone (a test moves it to check the zone rule).
override_data {
  target = data.aws_subnet.this["subnet-0bbbbbbbbbbbbbbbb"]
  values = { vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1b" }
}

mock_resource "aws_launch_template" {
  defaults = {
    id             = "lt-0123456789abcdef0"
    latest_version = 3
  }
}

mock_resource "aws_lb" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo-staging/0123456789abcdef"
    arn_suffix = "app/demo-staging/0123456789abcdef"
    dns_name   = "demo-staging-123456789.eu-west-1.elb.amazonaws.com"
  }
}

mock_resource "aws_lb_target_group" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo-20240101/0123456789abcdef"
    arn_suffix = "targetgroup/demo-20240101/0123456789abcdef"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:eu-west-1:123456789012:demo-staging-alarms"
  }
}

mock_resource "aws_lb_listener" {
  defaults = {
    arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/demo-staging/0123456789abcdef/0123456789abcdef"
  }
}

# The account and partition the instance role's policy names parameters in.
mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition = "aws"
  }
}

mock_resource "aws_iam_instance_profile" {
  defaults = {
    arn = "arn:aws:iam::123456789012:instance-profile/bakery/demo-staging-0123456789"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/bakery/demo-staging-0123456789"
  }
}

# The database: an address and the secret RDS makes for its master password (the name
# rds!db-UUID, plus Secrets Manager's random 6-character suffix in the ARN).
mock_resource "aws_db_instance" {
  defaults = {
    address = "shop-prod.abcdefghijkl.eu-west-1.rds.amazonaws.com"
    master_user_secret = [{
      secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789-AbC123"
      kms_key_id    = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
      secret_status = "active"
    }]
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/bakery/demo/staging"
  }
}
