# Egress chosen in deploy.yaml (egress.tf): none by default, exactly the given rules on the
# instances' group otherwise, and the validations.

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

run "no_egress_rules_by_default" {
  command = plan

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.instances_chosen) == 0
    error_message = "the instances get no egress of the user's unless deploy.yaml asks"
  }
}

run "exactly_the_given_rules" {
  command = apply

  variables {
    egress = [
      { cidr = "0.0.0.0/0", port = 443 },
      { prefix_list = "pl-0123456789abcdef0", port = 443 },
    ]
  }

  assert {
    condition = toset([
      for rule in values(aws_vpc_security_group_egress_rule.instances_chosen) :
      "${rule.security_group_id} ${rule.ip_protocol} ${rule.from_port}-${rule.to_port} ${coalesce(rule.cidr_ipv4, "-")} ${coalesce(rule.prefix_list_id, "-")}"
      ]) == toset([
      "${aws_security_group.instances.id} tcp 443-443 0.0.0.0/0 -",
      "${aws_security_group.instances.id} tcp 443-443 - pl-0123456789abcdef0",
    ])
    error_message = "each rule is one TCP port to one range or one prefix list, on the instances' group"
  }

  assert {
    condition     = alltrue([for rule in values(aws_vpc_security_group_egress_rule.instances_chosen) : startswith(rule.description, "aws.egress in deploy.yaml")])
    error_message = "every rule says where it comes from"
  }
}

run "a_rule_with_both_a_range_and_a_prefix_list_is_refused" {
  command = plan

  variables {
    egress = [{ cidr = "0.0.0.0/0", prefix_list = "pl-0123456789abcdef0", port = 443 }]
  }

  expect_failures = [var.egress]
}

run "a_range_that_is_not_ipv4_is_refused" {
  command = plan

  variables {
    egress = [{ cidr = "::/0", port = 443 }]
  }

  expect_failures = [var.egress]
}

run "a_repeated_rule_is_refused" {
  command = plan

  variables {
    egress = [{ cidr = "0.0.0.0/0", port = 443 }, { cidr = "0.0.0.0/0", port = 443 }]
  }

  expect_failures = [var.egress]
}
