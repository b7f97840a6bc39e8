# Release safety on AWS: CloudWatch alarms on what users see through the load balancer,
# watched by the instance refresh itself (alarm_specification in compute.tf). When one
# fires mid-refresh, Auto Scaling stops the refresh and rolls back to the previous launch
# template version: the same canary rule the local target applies from HAProxy's counters.
#
# ALB metrics arrive once a minute, so the shortest window an alarm can judge is 60 s;
# the refresh keeps watching the alarms for its whole run, and the checkpoint after the
# canary's share waits var.release_safety.bake_s before the rest is replaced.

resource "aws_sns_topic" "alarms" {
  name = "${var.name}-alarms"
  # SNS encrypts with the AWS managed key; no key policy of our own to keep.
  kms_master_key_id = "alias/aws/sns"

  tags = merge(local.tags, { Name = "${var.name}-alarms" })
}

resource "aws_sns_topic_subscription" "email" {
  count = var.release_safety.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.release_safety.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "target_5xx_rate" {
  alarm_name        = "${var.name}-target-5xx-rate"
  alarm_description = "Share of requests to ${var.app}/${var.environment} answered with a 5xx, by the instances or by the load balancer itself (502/503/504 when no instance answers), is above ${var.release_safety.max_error_rate} in a minute with at least ${var.release_safety.min_requests} requests: a release that fails its users. Stops and rolls back an instance refresh."

  comparison_operator = "GreaterThanThreshold"
  threshold           = var.release_safety.max_error_rate
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  # No requests is not a failure.
  treat_missing_data = "notBreaching"

  # Judged only on a minute with min_requests requests: a handful of requests (one error in
  # two) says nothing about the release. The load balancer's own 5xx count too: a release
  # whose instances crash or time out shows as 502/503/504 from the ALB, not from a target.
  metric_query {
    id          = "rate"
    expression  = "IF(requests >= ${var.release_safety.min_requests}, (FILL(errors, 0) + FILL(elb_errors, 0)) / requests, 0)"
    label       = "5xx rate (targets and load balancer)"
    return_data = true
  }

  metric_query {
    id = "elb_errors"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      period      = 60
      stat        = "Sum"
      dimensions  = { LoadBalancer = aws_lb.this.arn_suffix }
    }
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      period      = 60
      stat        = "Sum"
      dimensions  = local.target_group_dimensions
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      period      = 60
      stat        = "Sum"
      dimensions  = local.target_group_dimensions
    }
  }

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]

  tags = merge(local.tags, { Name = "${var.name}-target-5xx-rate" })
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_hosts" {
  alarm_name        = "${var.name}-unhealthy-hosts"
  alarm_description = "At least one instance of ${var.app}/${var.environment} fails the load balancer's health check for two minutes. Stops and rolls back an instance refresh."

  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.target_group_dimensions
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]

  tags = merge(local.tags, { Name = "${var.name}-unhealthy-hosts" })
}

resource "aws_cloudwatch_metric_alarm" "target_p99" {
  count = var.release_safety.max_p99_ms == null ? 0 : 1

  alarm_name        = "${var.name}-target-p99"
  alarm_description = "99th percentile of the instances' response time for ${var.app}/${var.environment} is above ${coalesce(var.release_safety.max_p99_ms, 0)} ms. Stops and rolls back an instance refresh."

  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.target_group_dimensions
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  comparison_operator = "GreaterThanThreshold"
  # TargetResponseTime is in seconds.
  threshold          = coalesce(var.release_safety.max_p99_ms, 0) / 1000
  treat_missing_data = "notBreaching"

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]

  tags = merge(local.tags, { Name = "${var.name}-target-p99" })
}

locals {
  target_group_dimensions = {
    LoadBalancer = aws_lb.this.arn_suffix
    TargetGroup  = aws_lb_target_group.this.arn_suffix
  }

  # Every alarm the instance refresh watches.
  refresh_alarms = concat(
    [aws_cloudwatch_metric_alarm.target_5xx_rate.alarm_name, aws_cloudwatch_metric_alarm.unhealthy_hosts.alarm_name],
    aws_cloudwatch_metric_alarm.target_p99[*].alarm_name,
  )

  # The refresh stops at the canary's share for bake_s, then goes on to 100 %.
  refresh_checkpoints = var.release_safety.canary_percent > 0 ? [var.release_safety.canary_percent, 100] : []
}
