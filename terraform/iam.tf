# The instances' identity: a role with an instance profile, allowed to read exactly the
# SSM parameters named in service_ssm_parameters (and to decrypt them through SSM only), and
# nothing else. The image's bakery-secrets unit uses it at boot.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  # An SSM parameter's ARN: a name given as a path (/shop/prod/key) adds no second "/".
  secret_parameter_arns = sort([
    for parameter in distinct(values(var.service_ssm_parameters)) :
    "arn:${data.aws_partition.current.partition}:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter/${trimprefix(parameter, "/")}"
  ])
}

resource "aws_iam_role" "instances" {
  # Under /bakery/: the deploy policy (iam/deploy-policy.json) manages and passes only these.
  path        = "/bakery/"
  name_prefix = "${substr(var.name, 0, 30)}-"
  description = "${var.name}: the service's instances"
  # The deploy policy may create and change /bakery/ roles only inside this boundary
  # (iam/instance-boundary.json, created once by an administrator): no role it makes can
  # hold more than the boundary allows, whatever policy it is given.
  permissions_boundary = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:policy/bakery/BakeryInstanceBoundary"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ec2.amazonaws.com" }
    }]
  })
  tags = local.tags
}

resource "aws_iam_instance_profile" "instances" {
  path        = "/bakery/"
  name_prefix = "${substr(var.name, 0, 30)}-"
  role        = aws_iam_role.instances.name
  tags        = local.tags
}

resource "aws_iam_role_policy" "secrets" {
  count = length(var.service_ssm_parameters) > 0 ? 1 : 0

  name = "service-secrets"
  role = aws_iam_role.instances.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadTheServiceSecrets"
        Effect   = "Allow"
        Action   = "ssm:GetParameters"
        Resource = local.secret_parameter_arns
      },
      {
        Sid       = "DecryptThroughSsmOnly"
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = "*"
        Condition = { StringEquals = { "kms:ViaService" = "ssm.${var.region}.amazonaws.com" } }
      },
    ]
  })
}
