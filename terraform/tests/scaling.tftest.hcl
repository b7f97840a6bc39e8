# Autoscaling (scaling.tf): nothing without instances.scale; one target-tracking policy on
# CPU or on requests per target (with the target group's resource label); validations.

mock_provider "aws" {
  source = "./tests/aws"
}

variables {
  name        = "demo-staging"
  app         = "demo"
  environment = "staging"
  region      = "eu-west-1"
  image       = { id = "ami-0123456789abcdef0", root_device_name = "/dev/sda1" }
  instances   = { min = 2, desired = 2, max = 6 }
  service     = { port = 8080, health_path = "/health" }
}

run "no_scale_setting_no_policy" {
  command = plan

  assert {
    condition     = length(aws_autoscaling_policy.target_tracking) == 0
    error_message = "without instances.scale the group keeps its desired capacity"
  }
}

run "cpu_percent_tracks_the_groups_average_cpu" {
  command = apply

  variables {
    scaling = { cpu_percent = 60 }
  }

  assert {
    condition = (
      aws_autoscaling_policy.target_tracking[0].policy_type == "TargetTrackingScaling" &&
      aws_autoscaling_policy.target_tracking[0].autoscaling_group_name == aws_autoscaling_group.this.name &&
      aws_autoscaling_policy.target_tracking[0].target_tracking_configuration[0].target_value == 60 &&
      aws_autoscaling_policy.target_tracking[0].target_tracking_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ASGAverageCPUUtilization" &&
      aws_autoscaling_policy.target_tracking[0].target_tracking_configuration[0].predefined_metric_specification[0].resource_label == null
    )
    error_message = "cpu_percent is a target-tracking policy on ASGAverageCPUUtilization at that value"
  }

  assert {
    condition     = output.scaling_policy_name == "demo-staging-cpu"
    error_message = "the policy's name says its metric"
  }
}

run "requests_per_target_tracks_the_target_groups_request_count" {
  command = apply

  variables {
    scaling = { requests_per_target = 500 }
  }

  assert {
    condition = (
      aws_autoscaling_policy.target_tracking[0].target_tracking_configuration[0].target_value == 500 &&
      aws_autoscaling_policy.target_tracking[0].target_tracking_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ALBRequestCountPerTarget" &&
      aws_autoscaling_policy.target_tracking[0].target_tracking_configuration[0].predefined_metric_specification[0].resource_label == "app/demo-staging/0123456789abcdef/targetgroup/demo-20240101/0123456789abcdef"
    )
    error_message = "requests_per_target tracks ALBRequestCountPerTarget labelled with the load balancer and target group"
  }
}

run "both_metrics_at_once_are_refused" {
  command = plan

  variables {
    scaling = { cpu_percent = 60, requests_per_target = 500 }
  }

  expect_failures = [var.scaling]
}

run "a_cpu_target_outside_the_schema_is_refused" {
  command = plan

  variables {
    scaling = { cpu_percent = 95 }
  }

  expect_failures = [var.scaling]
}
