# Release safety with a mocked AWS provider: the alarms the instance refresh watches,
# its canary checkpoint, the SNS topic and its optional e-mail subscription.

mock_provider "aws" {
  source = "./tests/aws"
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

run "the_refresh_watches_the_5xx_rate_and_unhealthy_host_alarms_and_stops_at_the_canary" {
  command = apply

  assert {
    condition = toset(aws_autoscaling_group.this.instance_refresh[0].preferences[0].alarm_specification[0].alarms) == toset([
      "demo-staging-target-5xx-rate", "demo-staging-unhealthy-hosts",
    ])
    error_message = "the refresh must watch the 5xx-rate and unhealthy-host alarms (no p99 alarm without max_p99_ms)"
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].preferences[0].checkpoint_percentages == tolist([50, 100]) && tostring(aws_autoscaling_group.this.instance_refresh[0].preferences[0].checkpoint_delay) == "10"
    error_message = "the refresh must stop at the canary's share for bake_s, then go on to 100 %"
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].preferences[0].auto_rollback == true
    error_message = "an alarm must roll the refresh back"
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.target_p99) == 0 && length(aws_sns_topic_subscription.email) == 0
    error_message = "no latency alarm and no e-mail subscription unless asked for"
  }
}

run "the_5xx_alarm_divides_target_5xx_by_requests_of_this_target_group" {
  command = apply

  assert {
    condition     = aws_cloudwatch_metric_alarm.target_5xx_rate.threshold == 0.01 && aws_cloudwatch_metric_alarm.target_5xx_rate.comparison_operator == "GreaterThanThreshold"
    error_message = "the 5xx alarm must fire above max_error_rate"
  }

  assert {
    condition = toset([for q in aws_cloudwatch_metric_alarm.target_5xx_rate.metric_query : q.metric[0].metric_name if length(q.metric) > 0]) == toset([
      "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount",
    ])
    error_message = "the rate must be metric math over HTTPCode_Target_5XX_Count, the ALB's HTTPCode_ELB_5XX_Count and RequestCount"
  }

  assert {
    condition     = alltrue([for q in aws_cloudwatch_metric_alarm.target_5xx_rate.metric_query : q.metric[0].dimensions.TargetGroup == "targetgroup/demo-20240101/0123456789abcdef" if length(q.metric) > 0 && q.id != "elb_errors"])
    error_message = "the metrics must be those of this stack's target group (but the load balancer's own 5xx, which has no target group)"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.target_5xx_rate.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:demo-staging-alarms"]) && aws_cloudwatch_metric_alarm.target_5xx_rate.tags["bakery:app"] == "demo"
    error_message = "alarms notify the stack's SNS topic and carry the stack's tags"
  }
}

run "a_latency_limit_adds_a_p99_alarm_and_an_address_subscribes_to_the_topic" {
  command = apply

  variables {
    release_safety = { max_p99_ms = 250, alarm_email = "oncall@example.com", canary_percent = 25, bake_s = 120 }
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.target_p99[0].extended_statistic == "p99" && aws_cloudwatch_metric_alarm.target_p99[0].threshold == 0.25
    error_message = "the p99 alarm must compare TargetResponseTime's p99 in seconds"
  }

  assert {
    condition     = contains(aws_autoscaling_group.this.instance_refresh[0].preferences[0].alarm_specification[0].alarms, "demo-staging-target-p99")
    error_message = "the refresh must watch the p99 alarm too"
  }

  assert {
    condition     = aws_sns_topic_subscription.email[0].endpoint == "oncall@example.com" && aws_sns_topic_subscription.email[0].protocol == "email"
    error_message = "alarm_email must subscribe to the topic"
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].preferences[0].checkpoint_percentages == tolist([25, 100]) && tostring(aws_autoscaling_group.this.instance_refresh[0].preferences[0].checkpoint_delay) == "120"
    error_message = "the checkpoint follows canary_percent and bake_s"
  }
}

run "no_canary_means_no_checkpoint" {
  command = plan

  variables {
    release_safety = { canary_percent = 0 }
  }

  assert {
    condition     = length(aws_autoscaling_group.this.instance_refresh[0].preferences[0].checkpoint_percentages) == 0
    error_message = "canary_percent 0 must turn the checkpoint off"
  }
}

run "a_canary_share_of_100_is_refused" {
  command = plan

  variables {
    release_safety = { canary_percent = 100 }
  }

  expect_failures = [var.release_safety]
}

run "a_bad_alarm_address_is_refused" {
  command = plan

  variables {
    release_safety = { alarm_email = "not-an-address" }
  }

  expect_failures = [var.release_safety]
}

# The release_safety object exactly as the runner writes it (releaseSafetyInputs in
# pipeline/targets/aws/terraform.ts: every key present, null where unset).
run "the_runner_inputs_set_the_checkpoint_and_the_alarm_names_output" {
  command = apply

  variables {
    instances      = { min = 4, desired = 4, max = 8 }
    release_safety = { canary_percent = 25, bake_s = 45, max_error_rate = 0.005, max_p99_ms = 750, alarm_email = null }
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].preferences[0].checkpoint_percentages == tolist([25, 100]) && tostring(aws_autoscaling_group.this.instance_refresh[0].preferences[0].checkpoint_delay) == "45"
    error_message = "one canary of four instances must be a 25 % checkpoint held for bake_s"
  }

  assert {
    condition     = toset(output.alarm_names) == toset(["demo-staging-target-5xx-rate", "demo-staging-unhealthy-hosts", "demo-staging-target-p99"])
    error_message = "the alarm_names output must list every alarm the refresh watches, for the runner to read"
  }

  assert {
    condition     = toset(output.alarm_names) == toset(aws_autoscaling_group.this.instance_refresh[0].preferences[0].alarm_specification[0].alarms)
    error_message = "the runner must watch the same alarms as the refresh"
  }
}

run "the_5xx_rate_counts_the_load_balancers_own_5xx_and_needs_min_requests" {
  command = apply

  variables {
    release_safety = { min_requests = 40 }
  }

  assert {
    condition = one([
      for query in aws_cloudwatch_metric_alarm.target_5xx_rate.metric_query : query.expression if query.id == "rate"
    ]) == "IF(requests >= 40, (FILL(errors, 0) + FILL(elb_errors, 0)) / requests, 0)"
    error_message = "the rate must add the ALB's 5xx to the targets' and count only minutes with min_requests requests"
  }

  assert {
    condition = one([
      for query in aws_cloudwatch_metric_alarm.target_5xx_rate.metric_query : query.metric[0].metric_name if query.id == "elb_errors"
    ]) == "HTTPCode_ELB_5XX_Count"
    error_message = "elb_errors must be the load balancer's own HTTPCode_ELB_5XX_Count"
  }
}
