# Health checks, launch-before-terminate replacement with rollback, networks and tags,
# asserted on what Terraform would create against the mocked AWS provider in ./aws.

mock_provider "aws" {
  source = "./tests/aws"
}

variables {
  name        = "demo-staging"
  app         = "demo"
  environment = "staging"
  region      = "eu-west-1"
  image       = { id = "ami-0123456789abcdef0" }
  instances   = { min = 2, desired = 3, max = 4 }
  service     = { port = 8080, health_path = "/health" }
}

run "an_image_change_rolls_out_launch_before_terminate_with_auto_rollback" {
  command = apply

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].strategy == "Rolling"
    error_message = "a new launch template version starts a rolling instance refresh"
  }

  assert {
    condition = (
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].min_healthy_percentage == 100 &&
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].max_healthy_percentage == 200
    )
    error_message = "launch before terminate: min healthy 100 %, max healthy 200 %"
  }

  assert {
    condition = (
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].auto_rollback == true &&
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].skip_matching == true &&
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].scale_in_protected_instances == "Refresh" &&
      aws_autoscaling_group.this.instance_refresh[0].preferences[0].standby_instances == "Terminate"
    )
    error_message = "a failed refresh rolls back by itself; instances already on the new version stay"
  }

  assert {
    condition = (
      aws_autoscaling_group.this.instance_maintenance_policy[0].min_healthy_percentage == 100 &&
      aws_autoscaling_group.this.instance_maintenance_policy[0].max_healthy_percentage == 200
    )
    error_message = "replacements outside a refresh also launch before they terminate"
  }
}

run "the_group_pins_the_launch_template_version_and_checks_elb_health" {
  command = apply

  assert {
    condition     = aws_autoscaling_group.this.launch_template[0].id == aws_launch_template.this.id && aws_autoscaling_group.this.launch_template[0].version == "3"
    error_message = "the group runs the launch template's latest version by number (rollback needs a version), never $Latest"
  }

  assert {
    condition     = aws_launch_template.this.image_id == "ami-0123456789abcdef0"
    error_message = "the launch template runs the given image"
  }

  assert {
    condition = (
      aws_autoscaling_group.this.health_check_type == "ELB" &&
      aws_autoscaling_group.this.health_check_grace_period == 90 &&
      aws_autoscaling_group.this.target_group_arns == toset([aws_lb_target_group.this.arn]) &&
      aws_autoscaling_group.this.wait_for_capacity_timeout == "0"
    )
    error_message = "instances register with the target group, unhealthy ones are replaced, Terraform does not wait for capacity"
  }

  assert {
    condition     = [aws_autoscaling_group.this.min_size, aws_autoscaling_group.this.desired_capacity, aws_autoscaling_group.this.max_size] == [2, 3, 4]
    error_message = "the group's size comes from instances"
  }
}

run "the_target_group_checks_the_health_path_and_wants_200" {
  command = apply

  variables {
    service = { port = 9000, health_path = "/ready" }
    health  = { interval_s = 15, timeout_s = 4, healthy_threshold = 3, unhealthy_threshold = 4 }
  }

  assert {
    condition     = aws_lb_target_group.this.port == 9000 && aws_lb_target_group.this.protocol == "HTTP" && aws_lb_target_group.this.target_type == "instance"
    error_message = "the target group sends HTTP to the instances on the service port"
  }

  assert {
    condition = (
      aws_lb_target_group.this.health_check[0].path == "/ready" &&
      aws_lb_target_group.this.health_check[0].matcher == "200" &&
      aws_lb_target_group.this.health_check[0].port == "traffic-port" &&
      aws_lb_target_group.this.health_check[0].interval == 15 &&
      aws_lb_target_group.this.health_check[0].timeout == 4 &&
      aws_lb_target_group.this.health_check[0].healthy_threshold == 3 &&
      aws_lb_target_group.this.health_check[0].unhealthy_threshold == 4
    )
    error_message = "the health check polls the configured path with the configured timing and wants exactly 200"
  }

  assert {
    condition     = aws_lb_target_group.this.deregistration_delay == "30"
    error_message = "draining a removed target is short"
  }
}

run "without_subnets_the_default_subnets_serve_the_load_balancer_and_the_group" {
  command = apply

  assert {
    condition     = data.aws_vpc.this.default == true
    error_message = "without vpc_id the default VPC is looked up"
  }

  assert {
    condition = (
      aws_lb.this.subnets == toset(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]) &&
      aws_autoscaling_group.this.vpc_zone_identifier == toset(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"])
    )
    error_message = "the load balancer and the group use the VPC's default subnets"
  }
}

run "given_subnets_are_used_as_they_are" {
  command = apply

  variables {
    vpc_id     = "vpc-0123456789abcdef0"
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  }

  assert {
    condition     = length(data.aws_subnets.default) == 0
    error_message = "with subnets given, the default subnets are not searched"
  }

  assert {
    condition     = aws_autoscaling_group.this.vpc_zone_identifier == toset(var.subnet_ids) && output.subnet_ids == var.subnet_ids
    error_message = "the group runs in the given subnets"
  }
}

run "subnets_in_one_availability_zone_are_refused" {
  command = plan

  override_data {
    target = data.aws_subnet.this["subnet-0bbbbbbbbbbbbbbbb"]
    values = { vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1a" }
  }

  expect_failures = [aws_lb.this]
}

run "subnets_of_another_vpc_are_refused" {
  command = plan

  override_data {
    target = data.aws_subnet.this["subnet-0bbbbbbbbbbbbbbbb"]
    values = { vpc_id = "vpc-0fedcba9876543210", availability_zone = "eu-west-1b" }
  }

  expect_failures = [aws_lb.this]
}

run "everything_is_tagged_for_the_app_and_environment" {
  command = apply

  variables {
    tags = { team = "web" }
  }

  assert {
    condition = alltrue([
      for key, value in { "bakery:app" = "demo", "bakery:env" = "staging", "bakery:managed-by" = "terraform", team = "web", Name = "demo-staging" } :
      contains([for tag in aws_autoscaling_group.this.tag : "${tag.key}=${tag.value}"], "${key}=${value}")
    ])
    error_message = "the group (which ignores default_tags) carries bakery's tags, the caller's and its Name"
  }

  assert {
    condition = alltrue([
      for spec in aws_launch_template.this.tag_specifications : spec.tags["bakery:app"] == "demo" && spec.tags["bakery:env"] == "staging" && spec.tags.team == "web"
    ])
    error_message = "instances, volumes and interfaces are tagged at launch"
  }

  assert {
    condition     = toset([for spec in aws_launch_template.this.tag_specifications : spec.resource_type]) == toset(["instance", "volume", "network-interface"])
    error_message = "instances, volumes and network interfaces each get tags"
  }

  assert {
    condition     = aws_launch_template.this.monitoring[0].enabled == true
    error_message = "instances have detailed (one-minute) monitoring"
  }
}
