# Autoscaling: one target-tracking policy that keeps the group's average CPU, or the load
# balancer's requests per instance, at the target between instances.min and .max. Target
# tracking makes and owns its two CloudWatch alarms (AlarmHigh/AlarmLow); scale-in waits
# for the group's default_instance_warmup before a new instance's metrics count.
#
# A rollout is not disturbed by it: the runner suspends the group's AlarmNotification
# process (the alarms' actions, which is how target tracking acts) while it waits for an
# instance refresh, and resumes it on every way out, so the canary's share stays what the
# checkpoint says and no scale-in terminates an instance being judged
# (pipeline/targets/aws/scaling.ts). The refresh itself (Launch, Terminate) is untouched.
#
# desired_capacity: the runner passes the group's current desired capacity (within min and
# max) when a policy is set, so an apply never undoes what scaling did.

locals {
  scaling_metric = var.scaling == null ? null : (var.scaling.cpu_percent != null ? "ASGAverageCPUUtilization" : "ALBRequestCountPerTarget")
}

resource "aws_autoscaling_policy" "target_tracking" {
  count = var.scaling == null ? 0 : 1

  name                   = "${var.name}-${local.scaling_metric == "ASGAverageCPUUtilization" ? "cpu" : "requests"}"
  autoscaling_group_name = aws_autoscaling_group.this.name
  policy_type            = "TargetTrackingScaling"
  enabled                = true

  target_tracking_configuration {
    target_value     = coalesce(var.scaling.cpu_percent, var.scaling.requests_per_target)
    disable_scale_in = false

    predefined_metric_specification {
      predefined_metric_type = local.scaling_metric
      # ALBRequestCountPerTarget names the target group as app/LB/ID/targetgroup/TG/ID.
      resource_label = local.scaling_metric == "ALBRequestCountPerTarget" ? "${aws_lb.this.arn_suffix}/${aws_lb_target_group.this.arn_suffix}" : null
    }
  }
}
