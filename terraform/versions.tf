# Versions. Terraform 1.11 is the first release where the S3 backend's native lock file
# (use_lockfile) is generally available, and validations may refer to other variables
# (1.9+). Provider 5.70 has every instance refresh preference used in compute.tf.
#
# No backend block here on purpose: the runner stages this directory under
# .deploy/ENV/terraform/ and adds a generated backend.tf there ("local" with the state
# at .deploy/ENV/terraform.tfstate, or "s3" with a lock file), so one stack serves
# every environment and the repository stays clean.

terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70.0, < 7.0.0"
    }
  }
}
