locals {
  https = var.certificate_arn != null

  # The given subnets, or the default subnets of the (default) VPC.
  subnet_ids = length(var.subnet_ids) > 0 ? var.subnet_ids : data.aws_subnets.default[0].ids

  availability_zones = distinct([for subnet in data.aws_subnet.this : subnet.availability_zone])

  # Tags in layers: bakery's own keys (the runner finds resources and AMIs by them),
  # then the caller's extra tags. Resources add their Name on top.
  tags = merge(
    {
      "bakery:app"        = var.app
      "bakery:env"        = var.environment
      "bakery:managed-by" = "terraform"
    },
    var.tags,
  )

  # Ports the load balancer listens on from the internet.
  listener_ports = local.https ? [80, 443] : [80]

  # Runtime settings as cloud-init write_files: cloud-init writes them before
  # network-online.target, which the service's unit starts after. One NAME="value" line
  # per variable, in systemd's EnvironmentFile quoting; the secrets only by name, for the
  # image's bakery-secrets unit to read from SSM. No settings, no user data.
  settings_files = concat(
    length(var.service_env) > 0 || length(var.service_ssm_parameters) > 0 ? [{
      path        = "/etc/bakery/app.env"
      owner       = "root:root"
      permissions = "0600"
      content     = join("", [for name, value in var.service_env : "${name}=\"${replace(replace(value, "\\", "\\\\"), "\"", "\\\"")}\"\n"])
    }] : [],
    length(var.service_ssm_parameters) > 0 ? [{
      path        = "/etc/bakery/secrets.json"
      owner       = "root:root"
      permissions = "0600"
      content     = jsonencode({ region = var.region, parameters = var.service_ssm_parameters })
    }] : [],
  )
  user_data = length(local.settings_files) > 0 ? base64encode("#cloud-config\n${yamlencode({ write_files = local.settings_files })}") : null
}
