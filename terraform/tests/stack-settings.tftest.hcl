# Stack settings from deploy.yaml: deletion protection (on by default), the load balancer's
# idle timeout and deregistration delay, the group's warmup, the root volume, extra tags.

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

run "the_load_balancer_is_protected_by_default" {
  command = plan

  assert {
    condition     = aws_lb.this.enable_deletion_protection == true
    error_message = "deletion protection is on unless deploy.yaml turns it off (destroy turns it off itself)"
  }
}

run "destroy_applies_it_off_first" {
  command = plan

  variables {
    deletion_protection = false
  }

  assert {
    condition     = aws_lb.this.enable_deletion_protection == false
    error_message = "deletion_protection = false turns it off"
  }
}

run "the_settings_reach_their_resources" {
  command = plan

  variables {
    idle_timeout_s         = 30
    deregistration_delay_s = 5
    instance_warmup_s      = 120
    root_volume_size_gb    = 20
    tags                   = { team = "payments", "cost-center" = "42" }
  }

  assert {
    condition = (
      aws_lb.this.idle_timeout == 30 &&
      aws_lb_target_group.this.deregistration_delay == "5" &&
      aws_autoscaling_group.this.default_instance_warmup == 120 &&
      aws_launch_template.this.block_device_mappings[0].ebs[0].volume_size == 20
    )
    error_message = "idle timeout, deregistration delay, warmup and root volume size come from their settings"
  }

  assert {
    condition     = aws_launch_template.this.tag_specifications[0].tags["team"] == "payments" && aws_cloudwatch_log_group.this.tags["cost-center"] == "42"
    error_message = "extra tags reach the resources, beside bakery's own"
  }
}

run "a_deregistration_delay_above_an_hour_is_refused" {
  command = plan

  variables {
    deregistration_delay_s = 3601
  }

  expect_failures = [var.deregistration_delay_s]
}

run "a_warmup_above_an_hour_is_refused" {
  command = plan

  variables {
    instance_warmup_s = 3601
  }

  expect_failures = [var.instance_warmup_s]
}

run "an_overlong_tag_value_is_refused" {
  command = plan

  variables {
    tags = { team = join("", [for i in range(257) : "x"]) }
  }

  expect_failures = [var.tags]
}
