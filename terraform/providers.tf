provider "aws" {
  region = var.region

  # Tags every taggable resource gets, merged under each resource's own tags. Auto
  # Scaling groups and launch template tag_specifications do not receive default_tags,
  # so compute.tf passes local.tags to them explicitly.
  default_tags {
    tags = local.tags
  }
}
