output "url" {
  description = "URL of the service through the load balancer (https when a certificate is configured)."
  value       = "${local.https ? "https" : "http"}://${aws_lb.this.dns_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (point a CNAME or alias record here)."
  value       = aws_lb.this.dns_name
}

output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "asg_name" {
  description = "Name of the Auto Scaling group (the runner polls its instance refreshes)."
  value       = aws_autoscaling_group.this.name
}

output "target_group_arn" {
  description = "ARN of the target group (the runner polls its target health)."
  value       = aws_lb_target_group.this.arn
}

output "launch_template_id" {
  description = "ID of the launch template."
  value       = aws_launch_template.this.id
}

output "launch_template_version" {
  description = "Launch template version the Auto Scaling group runs."
  value       = aws_launch_template.this.latest_version
}

output "alb_security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.alb.id
}

output "instance_security_group_id" {
  description = "Security group of the instances."
  value       = aws_security_group.instances.id
}

output "vpc_id" {
  description = "VPC the stack runs in."
  value       = data.aws_vpc.this.id
}

output "subnet_ids" {
  description = "Subnets of the load balancer and the instances."
  value       = local.subnet_ids
}

output "image_id" {
  description = "AMI the launch template runs."
  value       = var.image.id
}

output "http_listener_arn" {
  description = "ARN of the port-80 listener (the same listener with and without a certificate)."
  value       = aws_lb_listener.http.arn
}

output "alarm_names" {
  description = "CloudWatch alarms the instance refresh watches (it rolls back when one is in ALARM); the runner shows their state changes while it waits."
  value       = local.refresh_alarms
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify (subscribe more endpoints here)."
  value       = aws_sns_topic.alarms.arn
}

output "database_endpoint" {
  description = "Address and port of the environment's database (reachable from the instances only); null without a database."
  value       = local.database_enabled ? "${one(aws_db_instance.this[*].address)}:${local.database_port}" : null
}

output "database_final_snapshot" {
  description = "Name of the snapshot RDS takes when ./destroy.ts deletes the database; null without a database."
  value       = local.database_enabled ? local.database_final_snapshot : null
}

output "database_secret_arn" {
  description = "Secrets Manager secret (managed by RDS) holding the database's master user name and password; null without a database."
  value       = local.database_secret_arn
}

output "log_group_name" {
  description = "CloudWatch Logs group of the instances' journal, one stream per instance id (./status.ts ENV --logs reads it)."
  value       = aws_cloudwatch_log_group.this.name
}

output "scaling_policy_name" {
  description = "Name of the target-tracking scaling policy (its metric in the name: -cpu or -requests); null without instances.scale."
  value       = one(aws_autoscaling_policy.target_tracking[*].name)
}
