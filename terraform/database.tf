# The environment's database (deploy.yaml environments.ENV.database), only when it has
# one: RDS PostgreSQL in the stack's subnets, reachable on 5432 from the instances'
# security group only, its master password made and kept by RDS in Secrets Manager
# (manage_master_user_password), never by Terraform, its state or the runner. The
# instances read that secret at boot through the SSM endpoint (secrets-endpoint.tf) by its
# Parameter Store reference name, /aws/reference/secretsmanager/NAME, and the image's
# secrets unit builds DATABASE_URL from it (launcher/bakery_launcher/secrets.py).

# var.database is declared in variables.gen.tf: its limits come from deploy.yaml's schema.

locals {
  database_enabled = var.database != null

  # The database's name inside PostgreSQL: the app's name with "_" for "-" (identifiers
  # with hyphens would need quoting in every psql line).
  database_name = replace(var.app, "-", "_")
  database_port = 5432

  # Deterministic, so the output, the README and ./destroy.ts can name the backup before
  # it exists. A second destroy of a recreated environment needs the first snapshot
  # renamed or deleted (RDS refuses a duplicate name and keeps the database).
  database_final_snapshot = "${lower(var.name)}-final"

  # The secret RDS creates (rds!db-UUID) by name, as its Parameter Store reference: the
  # name is the ARN's resource part without Secrets Manager's random 6-character suffix.
  database_secret_arn       = one(flatten(aws_db_instance.this[*].master_user_secret[*].secret_arn))
  database_secret_name      = local.database_secret_arn == null ? null : regex(":secret:(.+)-[A-Za-z0-9]{6}$", local.database_secret_arn)[0]
  database_secret_parameter = local.database_secret_name == null ? null : "/aws/reference/secretsmanager/${local.database_secret_name}"
}

resource "aws_db_subnet_group" "this" {
  count = local.database_enabled ? 1 : 0

  name        = lower(var.name)
  description = "Database of ${var.name}: the stack's subnets"
  subnet_ids  = local.subnet_ids

  tags = { Name = var.name }
}

resource "aws_security_group" "database" {
  count = local.database_enabled ? 1 : 0

  name_prefix = "${var.name}-database-"
  description = "Database of ${var.name}: PostgreSQL from the instances only; no egress"
  vpc_id      = data.aws_vpc.this.id

  tags = { Name = "${var.name}-database" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "database_from_instances" {
  count = local.database_enabled ? 1 : 0

  security_group_id            = aws_security_group.database[0].id
  description                  = "PostgreSQL from the instances only"
  ip_protocol                  = "tcp"
  from_port                    = local.database_port
  to_port                      = local.database_port
  referenced_security_group_id = aws_security_group.instances.id

  tags = { Name = "${var.name}-database-in-postgres" }
}

resource "aws_vpc_security_group_egress_rule" "instances_to_database" {
  count = local.database_enabled ? 1 : 0

  security_group_id            = aws_security_group.instances.id
  description                  = "PostgreSQL to the database's group only"
  ip_protocol                  = "tcp"
  from_port                    = local.database_port
  to_port                      = local.database_port
  referenced_security_group_id = aws_security_group.database[0].id

  tags = { Name = "${var.name}-instances-out-postgres" }
}

resource "aws_db_instance" "this" {
  count = local.database_enabled ? 1 : 0

  identifier     = lower(var.name)
  engine         = var.database.engine
  engine_version = var.database.engine_version
  instance_class = var.database.instance_class
  db_name        = local.database_name
  port           = local.database_port

  # RDS makes the password, keeps it in Secrets Manager (encrypted with the account's
  # aws/secretsmanager key) and rotates it; Terraform never sees it.
  username                    = "bakery"
  manage_master_user_password = true

  allocated_storage = var.database.storage_gb
  storage_type      = "gp3"
  storage_encrypted = true

  db_subnet_group_name   = aws_db_subnet_group.this[0].name
  vpc_security_group_ids = [aws_security_group.database[0].id]
  publicly_accessible    = false
  multi_az               = var.database.multi_az

  backup_retention_period = var.database.backup_retention_days
  copy_tags_to_snapshot   = true
  # Minor versions (security fixes) in the maintenance window; a major upgrade is a
  # deliberate change of engine_version.
  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  # Size and class changes wait for the maintenance window instead of restarting the
  # database in the middle of a deploy.
  apply_immediately = false

  deletion_protection       = var.database.deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = local.database_final_snapshot

  tags = { Name = var.name }
}
