# The launch template (what an instance is) and the Auto Scaling group (how many, where,
# and how they are replaced when the image changes).

resource "aws_launch_template" "this" {
  name        = var.name
  description = "${var.name}: instances from the baked image ${var.image.id}"

  image_id      = var.image.id
  instance_type = var.instance_type

  # Every change (a new image) is a new version, and the group below pins that exact
  # version; the default version follows so the console shows what runs.
  update_default_version = true

  # The image is complete (baked with Packer and Ansible): no key pair, and user data only
  # for the runtime settings (locals.user_data), which are per environment, never baked.
  instance_initiated_shutdown_behavior = "terminate"
  user_data                            = local.user_data

  iam_instance_profile {
    arn = aws_iam_instance_profile.instances.arn
  }

  metadata_options {
    http_endpoint = "enabled"
    # IMDSv2 only: session tokens defeat SSRF-style credential theft through IMDSv1.
    http_tokens = "required"
    # One hop: the token cannot leave the instance (containers, forwarded requests).
    http_put_response_hop_limit = 1
    http_protocol_ipv6          = "disabled"
    instance_metadata_tags      = "disabled"
  }

  monitoring {
    # One-minute CloudWatch metrics, so scaling and dashboards react within a minute.
    enabled = true
  }

  # A network interface block instead of vpc_security_group_ids: it is the only way to
  # say "no public IP" explicitly, whatever the subnet's map_public_ip_on_launch says
  # (default subnets do map public IPs). The instances are reached through the load
  # balancer only.
  network_interfaces {
    device_index                = 0
    associate_public_ip_address = false
    delete_on_termination       = true
    ipv6_address_count          = 0
    security_groups             = [aws_security_group.instances.id]
  }

  block_device_mappings {
    device_name = var.image.root_device_name

    ebs {
      volume_type           = "gp3"
      volume_size           = var.root_volume_size_gb
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = var.name })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(local.tags, { Name = "${var.name}-root" })
  }

  tag_specifications {
    resource_type = "network-interface"
    tags          = merge(local.tags, { Name = var.name })
  }

  tags = { Name = var.name }
}

resource "aws_autoscaling_group" "this" {
  name                = var.name
  vpc_zone_identifier = local.subnet_ids

  min_size         = var.instances.min
  desired_capacity = var.instances.desired
  max_size         = var.instances.max

  # Replace instances the load balancer finds unhealthy, not only those EC2 finds dead.
  health_check_type         = "ELB"
  health_check_grace_period = var.health_check_grace_period_s
  default_instance_warmup   = var.instance_warmup_s

  target_group_arns = [aws_lb_target_group.this.arn]

  launch_template {
    id = aws_launch_template.this.id
    # The exact version, never "$Latest" or "$Default": instance refresh can only roll
    # back to a previous configuration that names a version.
    version = aws_launch_template.this.latest_version
  }

  # A new launch template version starts an instance refresh (Terraform does not wait
  # for it; the runner polls DescribeInstanceRefreshes until it succeeds or rolls back).
  instance_refresh {
    strategy = "Rolling"

    preferences {
      # Launch before terminate: never fewer than desired healthy instances, and up to
      # twice desired while the new ones warm up.
      min_healthy_percentage = var.instance_refresh.min_healthy_percentage
      max_healthy_percentage = var.instance_refresh.max_healthy_percentage
      # A refresh that fails (instances never become healthy) restores the previous
      # launch template version and its instances.
      auto_rollback = true
      # Instances already on the new version (from an interrupted refresh) stay.
      skip_matching                = true
      scale_in_protected_instances = "Refresh"
      standby_instances            = "Terminate"
      # The canary: stop at its share of the group for bake_s, watched by the alarms;
      # an alarm in ALARM stops the refresh and (auto_rollback) restores the old version.
      checkpoint_percentages = local.refresh_checkpoints
      checkpoint_delay       = length(local.refresh_checkpoints) > 0 ? var.release_safety.bake_s : null

      alarm_specification {
        alarms = local.refresh_alarms
      }
    }
  }

  # The same launch-before-terminate rule for replacements outside a refresh (an
  # instance that turns unhealthy is replaced before it is terminated).
  instance_maintenance_policy {
    min_healthy_percentage = var.instance_refresh.min_healthy_percentage
    max_healthy_percentage = var.instance_refresh.max_healthy_percentage
  }

  # The runner waits for healthy targets itself and explains what is unhealthy; inside
  # Terraform the wait would end in a bare timeout.
  wait_for_capacity_timeout = "0"

  termination_policies = ["OldestLaunchTemplate", "OldestInstance"]

  enabled_metrics = [
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
  ]

  # Auto Scaling groups ignore the provider's default_tags; the launch template tags
  # the instances, so these stay on the group only.
  dynamic "tag" {
    for_each = merge(local.tags, { Name = var.name })

    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = false
    }
  }

  # Health checks of a target group only run once a listener forwards to it; before
  # that every target reads "unused" and ELB health checks would mark nothing healthy.
  depends_on = [aws_lb_listener.http, aws_lb_listener.https]
}
