# The network is looked up, never created: the given VPC and subnets, or the region's
# default VPC and its default subnets (one per availability zone).

data "aws_vpc" "this" {
  id = var.vpc_id
  # Only filter on "default" when no VPC is named: a filter of false would reject the
  # default VPC when it is named explicitly.
  default = var.vpc_id == null ? true : null
}

data "aws_subnets" "default" {
  count = length(var.subnet_ids) > 0 ? 0 : 1

  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.this.id]
  }

  # Only the default VPC has default subnets; a custom VPC needs subnet_ids (checked by
  # the precondition on aws_lb.this).
  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

data "aws_subnet" "this" {
  for_each = toset(local.subnet_ids)

  id = each.value
}
