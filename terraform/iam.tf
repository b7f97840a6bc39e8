# The instances' identity: a role with an instance profile, allowed to read exactly the
# SSM parameters named in service_ssm_parameters (and to decrypt them through SSM only),
# with a database also its master secret through SSM's reference name, and nothing else.
# The image's bakery-secrets unit uses it at boot.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  # An SSM parameter's ARN: a name given as a path (/shop/prod/key) adds no second "/".
  secret_parameter_arns = sort([
    for parameter in distinct(values(var.service_ssm_parameters)) :
    "arn:${data.aws_partition.current.partition}:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter/${trimprefix(parameter, "/")}"
  ])
  database_secret_parameter_arn = local.database_enabled ? "arn:${data.aws_partition.current.partition}:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${local.database_secret_parameter}" : null
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
  count = local.secrets_enabled ? 1 : 0

  name = "service-secrets"
  role = aws_iam_role.instances.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      # slice(): a conditional cannot choose between tuples of different lengths.
      slice([{
        Sid      = "ReadTheServiceSecrets"
        Effect   = "Allow"
        Action   = "ssm:GetParameters"
        Resource = local.secret_parameter_arns
      }], 0, length(var.service_ssm_parameters) > 0 ? 1 : 0),
      [{
        Sid       = "DecryptThroughSsmOnly"
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = "*"
        Condition = { StringEquals = { "kms:ViaService" = "ssm.${var.region}.amazonaws.com" } }
      }],
      # SSM resolves a /aws/reference/secretsmanager/ name with the caller's own rights:
      # the parameter read (AWS documents GetParameter and GetParameters for references;
      # the unit sends one GetParameters) and GetSecretValue on exactly the database's
      # master secret, nothing else in Secrets Manager. That secret is encrypted with the
      # account's aws/secretsmanager key, whose key policy admits the account's principals
      # through Secrets Manager, so it needs no kms statement of its own.
      slice([
        {
          Sid      = "ReadTheDatabaseSecretByItsReference"
          Effect   = "Allow"
          Action   = ["ssm:GetParameter", "ssm:GetParameters"]
          Resource = local.database_secret_parameter_arn
        },
        {
          Sid      = "ReadTheDatabaseMasterSecret"
          Effect   = "Allow"
          Action   = "secretsmanager:GetSecretValue"
          Resource = local.database_secret_arn
        },
      ], 0, local.database_enabled ? 2 : 0),
    )
  })
}
