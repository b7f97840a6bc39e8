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
}
