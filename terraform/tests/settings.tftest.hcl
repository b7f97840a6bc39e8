# Runtime settings (service_env, service_ssm_parameters) on the mocked AWS provider: what the
# launch template's user data holds, and that the instances may read exactly the named
# SSM parameters, decrypted through SSM only.

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
}

run "no_settings_only_the_public_host_and_no_secret_policy" {
  command = apply

  assert {
    # logs.json (where the journal goes) is checked by logs.tftest.hcl.
    condition = [for file in yamldecode(base64decode(aws_launch_template.this.user_data)).write_files : file if file.path != "/etc/bakery/logs.json"] == [{
      path        = "/etc/bakery/app.env"
      owner       = "root:root"
      permissions = "0600"
      content     = "APP_PUBLIC_HOST=\"demo-staging-123456789.eu-west-1.elb.amazonaws.com\"\n"
    }]
    error_message = "without settings the user data writes only APP_PUBLIC_HOST, the load balancer's DNS name the launcher answers health checks with"
  }

  assert {
    condition     = length(aws_iam_role_policy.secrets) == 0
    error_message = "without secrets the instances may read no parameter"
  }
}

run "settings_reach_the_user_data_and_the_policy_names_exactly_the_parameters" {
  command = apply

  variables {
    service_env            = { GREETING_STYLE = "formal \"quoted\"", LOG_LEVEL = "info" }
    service_ssm_parameters = { API_TOKEN = "/shop/prod/api-token", DB_URL = "shop-db-url" }
  }

  assert {
    condition     = aws_launch_template.this.iam_instance_profile[0].arn == aws_iam_instance_profile.instances.arn
    error_message = "the instances run with the stack's instance profile"
  }

  assert {
    condition     = aws_iam_role.instances.path == "/bakery/" && aws_iam_instance_profile.instances.path == "/bakery/"
    error_message = "the role and profile live under /bakery/, where the deploy policy may pass them"
  }

  assert {
    condition     = startswith(base64decode(aws_launch_template.this.user_data), "#cloud-config\n")
    error_message = "the user data is cloud-config (write_files runs before the service's unit starts)"
  }

  assert {
    condition = (
      yamldecode(base64decode(aws_launch_template.this.user_data)).write_files[0].content == "APP_PUBLIC_HOST=\"demo-staging-123456789.eu-west-1.elb.amazonaws.com\"\nGREETING_STYLE=\"formal \\\"quoted\\\"\"\nLOG_LEVEL=\"info\"\n" &&
      yamldecode(base64decode(aws_launch_template.this.user_data)).write_files[0].permissions == "0600" &&
      yamldecode(base64decode(aws_launch_template.this.user_data)).write_files[0].path == "/etc/bakery/app.env"
    )
    error_message = "service_env becomes /etc/bakery/app.env (root-only), one quoted line per variable"
  }

  assert {
    condition = jsondecode(yamldecode(base64decode(aws_launch_template.this.user_data)).write_files[1].content) == {
      region     = "eu-west-1"
      parameters = { API_TOKEN = "/shop/prod/api-token", DB_URL = "shop-db-url" }
      database   = null
    }
    error_message = "the secrets reach the instances by parameter name only, with the region"
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.secrets[0].policy).Statement[0].Resource == [
      "arn:aws:ssm:eu-west-1:123456789012:parameter/shop-db-url",
      "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/prod/api-token",
    ]
    error_message = "ssm:GetParameters is allowed on exactly the named parameters"
  }

  assert {
    condition = (
      jsondecode(aws_iam_role_policy.secrets[0].policy).Statement[0].Action == "ssm:GetParameters" &&
      jsondecode(aws_iam_role_policy.secrets[0].policy).Statement[1].Action == "kms:Decrypt" &&
      jsondecode(aws_iam_role_policy.secrets[0].policy).Statement[1].Condition.StringEquals["kms:ViaService"] == "ssm.eu-west-1.amazonaws.com"
    )
    error_message = "the instances read the parameters and decrypt through SSM only"
  }
}

run "a_bad_variable_name_is_refused" {
  command = plan

  variables {
    service_env = { "1BAD" = "x" }
  }

  expect_failures = [var.service_env]
}

run "a_bad_parameter_name_is_refused" {
  command = plan

  variables {
    service_ssm_parameters = { TOKEN = "env:TOKEN" }
  }

  expect_failures = [var.service_ssm_parameters]
}

run "secrets_open_https_to_an_ssm_endpoint_only" {
  command = plan

  variables {
    service_ssm_parameters = { API_TOKEN = "/shop/prod/api-token" }
  }

  assert {
    condition = (
      aws_vpc_endpoint.ssm[0].service_name == "com.amazonaws.eu-west-1.ssm" &&
      aws_vpc_endpoint.ssm[0].private_dns_enabled &&
      length(aws_vpc_endpoint.ssm[0].subnet_ids) == 2
    )
    error_message = "an SSM interface endpoint with private DNS, one subnet per zone"
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.instances_to_ssm_endpoint[0].from_port == 443 &&
      aws_vpc_security_group_egress_rule.instances_to_ssm_endpoint[0].cidr_ipv4 == null
    )
    error_message = "the instances' only egress is HTTPS to the endpoint's group"
  }
}

run "no_secrets_no_endpoint_and_no_egress" {
  command = plan

  assert {
    condition     = length(aws_vpc_endpoint.ssm) == 0 && length(aws_vpc_security_group_egress_rule.instances_to_ssm_endpoint) == 0
    error_message = "without secrets the instances keep no egress at all"
  }
}
