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
  # image's bakery-secrets unit to read from SSM (with a database, also its master
  # secret's reference name and where it listens, from which the unit builds
  # DATABASE_URL). APP_PUBLIC_HOST is always there: the launcher answers the load
  # balancer's health checks with it as Host (launcher/bakery_launcher/health_host.py).
  settings_env = merge({ APP_PUBLIC_HOST = aws_lb.this.dns_name }, var.service_env)
  secrets_spec = {
    region     = var.region
    parameters = var.service_ssm_parameters
    database = local.database_enabled ? {
      variable  = "DATABASE_URL"
      parameter = local.database_secret_parameter
      host      = one(aws_db_instance.this[*].address)
      port      = local.database_port
      name      = local.database_name
    } : null
  }
  settings_files = concat(
    [{
      path        = "/etc/bakery/app.env"
      owner       = "root:root"
      permissions = "0600"
      content     = join("", [for name, value in local.settings_env : "${name}=\"${replace(replace(value, "\\", "\\\\"), "\"", "\\\"")}\"\n"])
    }],
    local.secrets_enabled ? [{
      path        = "/etc/bakery/secrets.json"
      owner       = "root:root"
      permissions = "0600"
      content     = jsonencode(local.secrets_spec)
    }] : [],
    # Last: where the image's bakery-logs unit ships the journal (terraform/logs.tf).
    [{
      path        = "/etc/bakery/logs.json"
      owner       = "root:root"
      permissions = "0644"
      content     = jsonencode({ region = var.region, group = local.log_group_name })
    }],
  )
  user_data = base64encode("#cloud-config\n${yamlencode({ write_files = local.settings_files })}")
}
