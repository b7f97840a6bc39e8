# Inputs. The runner writes them to .deploy/ENV/terraform.tfvars.json from deploy.yaml
# (never secrets: credentials come from the environment). Limits below are AWS's own,
# so a bad value fails at plan time with a message instead of halfway through apply.

variable "name" {
  description = "Name of the stack, APP-ENV: names the load balancer, the Auto Scaling group and the launch template."
  type        = string
  nullable    = false

  validation {
    # Load balancer names: at most 32 characters, alphanumerics and hyphens, no hyphen
    # at either end.
    condition     = can(regex("^[a-zA-Z0-9]([a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$", var.name))
    error_message = "name must be 1 to 32 letters, digits or hyphens, not starting or ending with a hyphen (an ALB name limit)."
  }
}

variable "app" {
  description = "Application name (deploy.yaml app); tagged as bakery:app on every resource."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$", var.app))
    error_message = "app must be a DNS-safe name of at most 20 characters."
  }
}

variable "environment" {
  description = "Environment name (deploy.yaml environments key); tagged as bakery:env on every resource."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]*[a-z0-9])?$", var.environment))
    error_message = "environment must be lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region such as \"eu-west-1\"."
  }
}

variable "vpc_id" {
  description = "VPC to deploy into; null means the region's default VPC."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as \"vpc-0123456789abcdef0\", or null."
  }
}

variable "subnet_ids" {
  description = "Subnets for the load balancer and the instances, in at least two availability zones; empty means the default subnets of the VPC."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    # An Application Load Balancer needs subnets in at least two availability zones.
    condition     = length(var.subnet_ids) == 0 || length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two subnets (in two availability zones), or be empty to use the default subnets."
  }

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "subnet_ids must contain subnet ids such as \"subnet-0123456789abcdef0\"."
  }

  validation {
    condition     = length(distinct(var.subnet_ids)) == length(var.subnet_ids)
    error_message = "subnet_ids must not repeat a subnet."
  }
}

variable "image" {
  description = "The baked AMI to run: its id and root device name (the encrypted gp3 root volume is mapped onto that device)."
  type = object({
    id               = string
    root_device_name = optional(string, "/dev/xvda")
  })
  nullable = false

  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.image.id))
    error_message = "image.id must be an AMI id such as \"ami-0123456789abcdef0\"."
  }

  validation {
    condition     = can(regex("^/dev/[a-z0-9]+$", var.image.root_device_name))
    error_message = "image.root_device_name must be a device such as \"/dev/xvda\"."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the instances."
  type        = string
  default     = "t3.micro"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must be an instance type such as \"t3.micro\"."
  }
}

variable "root_volume_size_gb" {
  description = "Size of the encrypted gp3 root volume in GiB; at least the AMI's snapshot size (8 GiB for Debian 12)."
  type        = number
  default     = 8
  nullable    = false

  validation {
    condition     = var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 1024 && floor(var.root_volume_size_gb) == var.root_volume_size_gb
    error_message = "root_volume_size_gb must be a whole number from 8 to 1024."
  }
}

variable "instances" {
  description = "Size of the Auto Scaling group."
  type = object({
    min     = number
    desired = number
    max     = number
  })
  nullable = false

  validation {
    condition     = var.instances.min >= 1 && var.instances.min <= var.instances.desired && var.instances.desired <= var.instances.max && var.instances.max <= 20
    error_message = "instances must satisfy 1 <= min <= desired <= max <= 20."
  }

  validation {
    condition     = alltrue([for n in [var.instances.min, var.instances.desired, var.instances.max] : floor(n) == n])
    error_message = "instances.min, desired and max must be whole numbers."
  }
}

variable "service" {
  description = "The service inside the image: the port it listens on and the path the load balancer checks."
  type = object({
    port        = number
    health_path = string
  })
  nullable = false

  validation {
    condition     = var.service.port >= 1024 && var.service.port <= 65535 && floor(var.service.port) == var.service.port
    error_message = "service.port must be a whole number from 1024 to 65535 (the service runs unprivileged)."
  }

  validation {
    # Target group health check paths: at most 1024 characters, starting with "/".
    condition     = can(regex("^/[A-Za-z0-9._~/-]*$", var.service.health_path)) && length(var.service.health_path) <= 1024
    error_message = "service.health_path must be an absolute URL path such as \"/health\"."
  }
}

variable "health" {
  description = "Target group health check: seconds between checks, consecutive results to change state, and seconds one check may take."
  type = object({
    interval_s          = optional(number, 10)
    healthy_threshold   = optional(number, 2)
    unhealthy_threshold = optional(number, 2)
    timeout_s           = optional(number, 5)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.health.interval_s >= 5 && var.health.interval_s <= 300
    error_message = "health.interval_s must be from 5 to 300 (a target group limit)."
  }

  validation {
    condition     = var.health.timeout_s >= 2 && var.health.timeout_s <= 120 && var.health.timeout_s < var.health.interval_s
    error_message = "health.timeout_s must be from 2 to 120 and less than health.interval_s."
  }

  validation {
    condition = alltrue([
      for n in [var.health.healthy_threshold, var.health.unhealthy_threshold] : n >= 2 && n <= 10
    ])
    error_message = "health.healthy_threshold and health.unhealthy_threshold must be from 2 to 10."
  }
}

variable "certificate_arn" {
  description = "ACM certificate for an HTTPS listener on 443; HTTP on 80 then redirects to HTTPS. null means HTTP only."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN, or null."
  }
}

variable "ssl_policy" {
  description = "Security policy of the HTTPS listener: TLS 1.2 and 1.3 only."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  nullable    = false

  validation {
    # Only the TLS13 family: all of them refuse TLS 1.0 and 1.1.
    condition     = startswith(var.ssl_policy, "ELBSecurityPolicy-TLS13-")
    error_message = "ssl_policy must be one of the ELBSecurityPolicy-TLS13-* policies (TLS 1.2 and newer)."
  }
}

variable "idle_timeout_s" {
  description = "Seconds the load balancer keeps an idle connection open; below the service's 75 s keep-alive so the ALB, not the instance, closes idle connections."
  type        = number
  default     = 60
  nullable    = false

  validation {
    # If the backend closed a kept-alive connection first, the ALB could send a request
    # into a closing socket and answer 502.
    condition     = var.idle_timeout_s >= 1 && var.idle_timeout_s < 75
    error_message = "idle_timeout_s must be from 1 to 74: below the service's 75 s channel timeout."
  }
}

variable "deregistration_delay_s" {
  description = "Seconds the load balancer lets in-flight requests finish on a target being removed."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.deregistration_delay_s >= 0 && var.deregistration_delay_s <= 3600
    error_message = "deregistration_delay_s must be from 0 to 3600."
  }
}

variable "health_check_grace_period_s" {
  description = "Seconds after launch before the Auto Scaling group acts on a failing load balancer health check."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.health_check_grace_period_s >= 0 && var.health_check_grace_period_s <= 7200
    error_message = "health_check_grace_period_s must be from 0 to 7200."
  }
}

variable "instance_warmup_s" {
  description = "Seconds a new instance counts as warming up after it is in service (default_instance_warmup of the group)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.instance_warmup_s >= 0 && var.instance_warmup_s <= 3600
    error_message = "instance_warmup_s must be from 0 to 3600."
  }
}

variable "instance_refresh" {
  description = "Rolling replacement when the image changes: the share of desired capacity that must stay healthy, and how far the group may grow meanwhile (launch before terminate)."
  type = object({
    min_healthy_percentage = optional(number, 100)
    max_healthy_percentage = optional(number, 200)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.instance_refresh.min_healthy_percentage >= 0 && var.instance_refresh.min_healthy_percentage <= 100
    error_message = "instance_refresh.min_healthy_percentage must be from 0 to 100."
  }

  validation {
    # Auto Scaling's own limits: 100 to 200, and at most 100 points above the minimum.
    condition = (
      var.instance_refresh.max_healthy_percentage >= 100 &&
      var.instance_refresh.max_healthy_percentage <= 200 &&
      var.instance_refresh.max_healthy_percentage - var.instance_refresh.min_healthy_percentage <= 100
    )
    error_message = "instance_refresh.max_healthy_percentage must be from 100 to 200 and at most 100 above min_healthy_percentage."
  }

  validation {
    # Both at 100 would leave no room to replace anything.
    condition     = var.instance_refresh.min_healthy_percentage < 100 || var.instance_refresh.max_healthy_percentage > 100
    error_message = "instance_refresh.min_healthy_percentage and max_healthy_percentage cannot both be 100."
  }
}

variable "tags" {
  description = "Extra tags for every resource, merged over bakery's own (bakery:app, bakery:env)."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = length([for key in keys(var.tags) : key if startswith(key, "bakery:") || startswith(lower(key), "aws:")]) == 0
    error_message = "tags must not use the reserved prefixes \"bakery:\" and \"aws:\"."
  }
}

variable "release_safety" {
  description = "How an instance refresh guards a release: the canary's share of desired capacity (percent; 0 turns the checkpoint off), how long it bakes at that checkpoint, and the alarm limits (5xx rate as a fraction, p99 response time in ms or null for none), with an optional e-mail address for the alarms' SNS topic."
  type = object({
    canary_percent = optional(number, 50)
    bake_s         = optional(number, 10)
    max_error_rate = optional(number, 0.01)
    min_requests   = optional(number, 20)
    max_p99_ms     = optional(number)
    alarm_email    = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.release_safety.canary_percent >= 0 && var.release_safety.canary_percent < 100
    error_message = "release_safety.canary_percent must be from 0 to 99 (the last checkpoint is always 100)."
  }

  validation {
    condition     = var.release_safety.bake_s >= 0 && var.release_safety.bake_s <= 172800
    error_message = "release_safety.bake_s must be from 0 to 172800 (Auto Scaling's checkpoint delay limit, 2 days)."
  }

  validation {
    condition     = var.release_safety.max_error_rate >= 0 && var.release_safety.max_error_rate <= 1
    error_message = "release_safety.max_error_rate is a fraction from 0 to 1."
  }

  validation {
    condition     = var.release_safety.max_p99_ms == null || coalesce(var.release_safety.max_p99_ms, 1) >= 1
    error_message = "release_safety.max_p99_ms must be at least 1 (or null for no latency alarm)."
  }

  validation {
    condition     = var.release_safety.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", coalesce(var.release_safety.alarm_email, "x@y.z")))
    error_message = "release_safety.alarm_email must be an e-mail address (or null)."
  }
}

variable "service_env" {
  description = "Environment variables of the service (deploy.yaml's service.env): written to /etc/bakery/app.env by the instances' user data, so a change is a new launch template version and an instance refresh, with no bake. Not secret: user data is readable with ec2:DescribeInstanceAttribute."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for name in keys(var.service_env) : can(regex("^[A-Za-z_][A-Za-z0-9_]{0,127}$", name))])
    error_message = "service_env names must be variable names: letters, digits and _, not starting with a digit."
  }

  validation {
    condition     = alltrue([for value in values(var.service_env) : !can(regex("[\n\r]", value))])
    error_message = "service_env values must be one line each."
  }
}

variable "service_ssm_parameters" {
  description = "Secret environment variables of the service (deploy.yaml's service.secrets): variable name to the name of an SSM Parameter Store SecureString. The instances read them at boot with their instance profile, which may read exactly these parameters; their values never pass through Terraform."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for name in keys(var.service_ssm_parameters) : can(regex("^[A-Za-z_][A-Za-z0-9_]{0,127}$", name))])
    error_message = "service_ssm_parameters names must be variable names: letters, digits and _, not starting with a digit."
  }

  validation {
    condition     = alltrue([for parameter in values(var.service_ssm_parameters) : can(regex("^(/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$", parameter))])
    error_message = "service_ssm_parameters values must be SSM parameter names such as /shop/prod/api-token."
  }
}
