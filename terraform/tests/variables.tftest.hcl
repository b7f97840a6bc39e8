# Inputs AWS would reject (or that would break a rollout) fail at plan time, naming the
# variable, before anything is created.

mock_provider "aws" {
  source = "./tests/aws"
}

variables {
  name        = "demo-staging"
  app         = "demo"
  environment = "staging"
  region      = "eu-west-1"
  image       = { id = "ami-0123456789abcdef0" }
  instances   = { min = 2, desired = 2, max = 4 }
  service     = { port = 8080, health_path = "/health" }
}

run "good_inputs_plan" {
  command = plan
}

run "min_above_desired_is_refused" {
  command = plan

  variables {
    instances = { min = 3, desired = 2, max = 4 }
  }

  expect_failures = [var.instances]
}

run "more_than_twenty_instances_are_refused" {
  command = plan

  variables {
    instances = { min = 1, desired = 2, max = 21 }
  }

  expect_failures = [var.instances]
}

run "a_privileged_service_port_is_refused" {
  command = plan

  variables {
    service = { port = 80, health_path = "/health" }
  }

  expect_failures = [var.service]
}

run "a_relative_health_path_is_refused" {
  command = plan

  variables {
    service = { port = 8080, health_path = "health" }
  }

  expect_failures = [var.service]
}

run "a_health_timeout_not_below_the_interval_is_refused" {
  command = plan

  variables {
    health = { interval_s = 5, timeout_s = 5 }
  }

  expect_failures = [var.health]
}

run "an_idle_timeout_not_below_the_service_keep_alive_is_refused" {
  command = plan

  variables {
    idle_timeout_s = 75
  }

  expect_failures = [var.idle_timeout_s]
}

run "a_refresh_that_could_drop_below_desired_with_room_over_100_points_is_refused" {
  command = plan

  variables {
    instance_refresh = { min_healthy_percentage = 50, max_healthy_percentage = 200 }
  }

  expect_failures = [var.instance_refresh]
}

run "a_refresh_with_no_room_to_replace_is_refused" {
  command = plan

  variables {
    instance_refresh = { min_healthy_percentage = 100, max_healthy_percentage = 100 }
  }

  expect_failures = [var.instance_refresh]
}

run "one_subnet_is_refused" {
  command = plan

  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa"]
  }

  expect_failures = [var.subnet_ids]
}

run "a_repeated_subnet_is_refused" {
  command = plan

  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0aaaaaaaaaaaaaaaa"]
  }

  expect_failures = [var.subnet_ids]
}

run "an_image_that_is_not_an_ami_is_refused" {
  command = plan

  variables {
    image = { id = "sha256:0123456789abcdef" }
  }

  expect_failures = [var.image]
}

run "a_name_longer_than_an_alb_name_is_refused" {
  command = plan

  variables {
    name = "a-name-that-is-longer-than-thirty-two"
  }

  expect_failures = [var.name]
}

run "a_certificate_that_is_not_an_acm_arn_is_refused" {
  command = plan

  variables {
    certificate_arn = "arn:aws:iam::123456789012:server-certificate/demo"
  }

  expect_failures = [var.certificate_arn]
}

run "a_root_volume_smaller_than_the_image_is_refused" {
  command = plan

  variables {
    root_volume_size_gb = 4
  }

  expect_failures = [var.root_volume_size_gb]
}

run "reserved_tag_prefixes_are_refused" {
  command = plan

  variables {
    tags = { "bakery:app" = "other" }
  }

  expect_failures = [var.tags]
}

run "a_region_that_is_not_a_region_is_refused" {
  command = plan

  variables {
    region = "Europe"
  }

  expect_failures = [var.region]
}

# The limits below come from deploy.yaml's schema through the generated variables.gen.tf.

run "a_port_above_the_schema_maximum_is_refused" {
  command = plan

  variables {
    service = { port = 65536, health_path = "/health" }
  }

  expect_failures = [var.service]
}

run "an_app_name_longer_than_the_schema_allows_is_refused" {
  command = plan

  variables {
    app  = "a23456789012345678901"
    name = "a23456789012345678901-staging"
  }

  expect_failures = [var.app]
}

run "a_canary_bake_longer_than_the_schema_allows_is_refused" {
  command = plan

  variables {
    release_safety = { bake_s = 3601 }
  }

  expect_failures = [var.release_safety]
}
