# The environment's database (var.database) on the mocked AWS provider: RDS PostgreSQL
# that only the instances reach, encrypted, protected against deletion, with a final
# snapshot of a known name, its master secret read by the instances through SSM; and
# nothing of it without a database.

mock_provider "aws" {
  source = "./tests/aws"
}

variables {
  name        = "shop-prod"
  app         = "shop"
  environment = "prod"
  region      = "eu-west-1"
  image       = { id = "ami-0123456789abcdef0", root_device_name = "/dev/xvda" }
  instances   = { min = 2, desired = 2, max = 4 }
  service     = { port = 8080, health_path = "/health" }
  database    = { engine = "postgres", instance_class = "db.t4g.small", storage_gb = 30, multi_az = true, backup_retention_days = 9 }
}

run "no_database_when_none_is_configured" {
  command = plan

  variables {
    database = null
  }

  assert {
    condition = (
      length(aws_db_instance.this) == 0 &&
      length(aws_db_subnet_group.this) == 0 &&
      length(aws_security_group.database) == 0 &&
      length(aws_vpc_security_group_ingress_rule.database_from_instances) == 0 &&
      length(aws_vpc_security_group_egress_rule.instances_to_database) == 0
    )
    error_message = "without database there is no RDS instance, subnet group, security group or rule"
  }

  assert {
    condition     = length(aws_vpc_endpoint.ssm) == 0 && length(aws_iam_role_policy.secrets) == 0
    error_message = "without database (and secrets) there is no SSM endpoint and the instances may read nothing"
  }

  assert {
    condition     = output.database_endpoint == null && output.database_final_snapshot == null
    error_message = "the database outputs are null without a database"
  }
}

run "the_database_takes_its_settings_from_the_variable" {
  command = apply

  assert {
    condition = (
      aws_db_instance.this[0].engine == "postgres" &&
      aws_db_instance.this[0].instance_class == "db.t4g.small" &&
      aws_db_instance.this[0].allocated_storage == 30 &&
      aws_db_instance.this[0].multi_az == true &&
      aws_db_instance.this[0].backup_retention_period == 9 &&
      aws_db_instance.this[0].db_name == "shop" &&
      aws_db_instance.this[0].port == 5432
    )
    error_message = "engine, class, storage, Multi-AZ and backup retention come from var.database"
  }

  assert {
    condition     = aws_db_subnet_group.this[0].subnet_ids == toset(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]) && aws_db_instance.this[0].db_subnet_group_name == aws_db_subnet_group.this[0].name
    error_message = "the database runs in a subnet group on the stack's subnets"
  }

  assert {
    condition     = output.database_endpoint == "shop-prod.abcdefghijkl.eu-west-1.rds.amazonaws.com:5432"
    error_message = "the endpoint output is the database's address and port"
  }
}

run "the_database_is_not_public_and_is_encrypted" {
  command = apply

  assert {
    condition     = aws_db_instance.this[0].publicly_accessible == false
    error_message = "the database must not be publicly accessible"
  }

  assert {
    condition     = aws_db_instance.this[0].storage_encrypted == true
    error_message = "the database's storage must be encrypted"
  }

  assert {
    condition     = aws_db_instance.this[0].manage_master_user_password == true && aws_db_instance.this[0].password == null
    error_message = "RDS makes and keeps the master password in Secrets Manager; Terraform never holds one"
  }
}

run "the_database_is_protected_and_leaves_a_named_final_snapshot" {
  command = apply

  assert {
    condition     = aws_db_instance.this[0].deletion_protection == true
    error_message = "deletion protection is on by default"
  }

  assert {
    condition = (
      aws_db_instance.this[0].skip_final_snapshot == false &&
      aws_db_instance.this[0].final_snapshot_identifier == "shop-prod-final" &&
      output.database_final_snapshot == "shop-prod-final"
    )
    error_message = "deleting the database takes a final snapshot named APP-ENV-final, which the output names"
  }
}

run "only_the_instances_reach_the_database_and_only_on_5432" {
  command = apply

  assert {
    condition     = aws_db_instance.this[0].vpc_security_group_ids == toset([aws_security_group.database[0].id])
    error_message = "the database runs in its own security group only"
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.database_from_instances[0].security_group_id == aws_security_group.database[0].id &&
      aws_vpc_security_group_ingress_rule.database_from_instances[0].referenced_security_group_id == aws_security_group.instances.id &&
      aws_vpc_security_group_ingress_rule.database_from_instances[0].cidr_ipv4 == null &&
      aws_vpc_security_group_ingress_rule.database_from_instances[0].cidr_ipv6 == null &&
      aws_vpc_security_group_ingress_rule.database_from_instances[0].ip_protocol == "tcp" &&
      aws_vpc_security_group_ingress_rule.database_from_instances[0].from_port == 5432 &&
      aws_vpc_security_group_ingress_rule.database_from_instances[0].to_port == 5432
    )
    error_message = "the database admits tcp/5432 from the instances' security group only"
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.instances_to_database[0].security_group_id == aws_security_group.instances.id &&
      aws_vpc_security_group_egress_rule.instances_to_database[0].referenced_security_group_id == aws_security_group.database[0].id &&
      aws_vpc_security_group_egress_rule.instances_to_database[0].cidr_ipv4 == null &&
      aws_vpc_security_group_egress_rule.instances_to_database[0].ip_protocol == "tcp" &&
      aws_vpc_security_group_egress_rule.instances_to_database[0].from_port == 5432 &&
      aws_vpc_security_group_egress_rule.instances_to_database[0].to_port == 5432
    )
    error_message = "the instances may send tcp/5432 to the database's group only"
  }

  assert {
    condition = alltrue([
      for rule in [aws_vpc_security_group_ingress_rule.database_from_instances[0], aws_vpc_security_group_egress_rule.instances_to_database[0]] :
      length(rule.description) > 10
    ]) && length(aws_security_group.database[0].description) > 10
    error_message = "the database's group and both rules are described"
  }
}

run "the_instances_read_the_master_secret_through_ssm_and_build_database_url" {
  command = apply

  assert {
    condition = jsondecode(yamldecode(base64decode(aws_launch_template.this.user_data)).write_files[1].content).database == {
      variable  = "DATABASE_URL"
      parameter = "/aws/reference/secretsmanager/rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789"
      host      = "shop-prod.abcdefghijkl.eu-west-1.rds.amazonaws.com"
      port      = 5432
      name      = "shop"
    }
    error_message = "secrets.json names the secret's SSM reference and where the database listens (plain, no password)"
  }

  assert {
    condition     = length(aws_vpc_endpoint.ssm) == 1
    error_message = "a database alone needs the SSM endpoint: the secret is read through it"
  }

  assert {
    condition = [for statement in jsondecode(aws_iam_role_policy.secrets[0].policy).Statement : [statement.Sid, statement.Action, statement.Resource]] == [
      ["DecryptThroughSsmOnly", "kms:Decrypt", "*"],
      ["ReadTheDatabaseSecretByItsReference", ["ssm:GetParameter", "ssm:GetParameters"], "arn:aws:ssm:eu-west-1:123456789012:parameter/aws/reference/secretsmanager/rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789"],
      ["ReadTheDatabaseMasterSecret", "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789-AbC123"],
    ]
    error_message = "the instances may read exactly the master secret's reference and that secret, nothing more"
  }
}

run "an_unknown_engine_is_refused" {
  command = plan

  variables {
    database = { engine = "mysql" }
  }

  expect_failures = [var.database]
}

run "backups_cannot_be_turned_off" {
  command = plan

  variables {
    database = { backup_retention_days = 0 }
  }

  expect_failures = [var.database]
}

run "database_url_cannot_also_be_a_setting" {
  command = plan

  variables {
    service_env = { DATABASE_URL = "postgres://elsewhere/db" }
  }

  expect_failures = [var.database]
}
