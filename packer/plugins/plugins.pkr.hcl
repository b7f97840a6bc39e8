# Plugins for current Packer releases (1.7 and later), which no longer ship
# the amazon, docker and ansible components built in:
#
#   packer init packer/plugins/
#
# This file sits in its own directory because Packer 1.6.6 (Debian's, used in
# CI) rejects the required_plugins block; `packer build packer/` loads only the
# files directly in packer/, so it never sees this one, while plugins
# installed by `packer init` are found by any later `packer build`.
packer {
  required_version = ">= 1.7.0"

  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "~> 1.3"
    }
    docker = {
      source  = "github.com/hashicorp/docker"
      version = "~> 1.0"
    }
    ansible = {
      source  = "github.com/hashicorp/ansible"
      version = "~> 1.1"
    }
  }
}
