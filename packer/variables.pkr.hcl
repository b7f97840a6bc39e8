# Inputs of the bake. The runner sets them as PKR_VAR_<name> environment
# variables.
#
# Validation rules use regex_replace(value, "^pattern$", "") == "" because
# Packer 1.6.6 has neither regex() nor regexall(); regex_replace exists in
# Packer 1.6.6 and in current releases alike.

variable "app_name" {
  type        = string
  description = "Name of the service: system user, systemd unit, /opt/<app_name>, image and tag prefix."
  default     = "bakery-app"

  validation {
    condition     = regex_replace(var.app_name, "^[a-z][a-z0-9-]{0,31}$", "") == ""
    error_message = "The app_name must be 1-32 characters: a lower-case letter, then lower-case letters, digits or '-'."
  }
}

variable "environment" {
  type        = string
  description = "Deployment environment the image is baked for (an environment name from deploy.yaml)."

  validation {
    condition     = regex_replace(var.environment, "^[a-z0-9][a-z0-9_-]{0,31}$", "") == ""
    error_message = "The environment must be 1-32 characters of lower-case letters, digits, '-' or '_'."
  }
}

variable "version" {
  type        = string
  description = "Version of the service, shown by the service and recorded in tags and labels."

  validation {
    condition     = regex_replace(var.version, "^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$", "") == ""
    error_message = "The version must be 1-64 characters of letters, digits, '.', '+', '_' or '-'."
  }
}

variable "fingerprint" {
  type        = string
  description = "sha256 (64 hex digits) over the service, ansible/ and packer/ sources, the base image and the bake variables."

  validation {
    condition     = regex_replace(var.fingerprint, "^[0-9a-f]{64}$", "") == ""
    error_message = "The fingerprint must be 64 lower-case hexadecimal digits (a sha256)."
  }
}

variable "git_revision" {
  type        = string
  description = "Git revision the image was baked from (or \"unknown\")."
  default     = "unknown"

  validation {
    condition     = regex_replace(var.git_revision, "^[0-9A-Za-z._+-]{1,64}$", "") == ""
    error_message = "The git_revision must be 1-64 characters of letters, digits, '.', '_', '+' or '-'."
  }
}

variable "service_port" {
  type        = number
  description = "TCP port the service listens on inside the image."
  default     = 8080

  validation {
    condition     = var.service_port >= 1 && var.service_port <= 65535 && floor(var.service_port) == var.service_port
    error_message = "The service_port must be an integer from 1 to 65535."
  }
}

variable "baked_at" {
  type        = string
  description = "Bake time (RFC 3339, UTC) recorded in the image; empty means the time Packer starts."
  default     = ""

  validation {
    condition     = var.baked_at == "" || regex_replace(var.baked_at, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", "") == ""
    error_message = "The baked_at must be empty or an RFC 3339 UTC time such as 2024-05-01T12:00:00Z."
  }
}

# --- amazon-ebs ---------------------------------------------------------------

variable "aws_region" {
  type        = string
  description = "AWS region the AMI is baked in."
  default     = "eu-west-1"

  validation {
    condition     = regex_replace(var.aws_region, "^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", "") == ""
    error_message = "The aws_region must look like eu-west-1."
  }
}

variable "aws_endpoint_ec2" {
  type        = string
  description = "EC2 API endpoint of the bake; empty for AWS's own. The runner sets it from AWS_ENDPOINT_URL_EC2 or AWS_ENDPOINT_URL, so one run never talks to two endpoints."
  default     = ""

  validation {
    condition     = var.aws_endpoint_ec2 == "" || regex_replace(var.aws_endpoint_ec2, "^https?://[^[:space:]]+$", "") == ""
    error_message = "The aws_endpoint_ec2 must be empty or an http(s) URL."
  }
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the temporary builder instance."
  default     = "t3.micro"

  validation {
    condition     = regex_replace(var.instance_type, "^[a-z][a-z0-9-]*\\.[a-z0-9]+$", "") == ""
    error_message = "The instance_type must look like t3.micro."
  }
}

variable "base_ami_owner" {
  type        = string
  description = "Owner (account id) of the base AMI; 136693071363 publishes the official Debian AMIs."
  default     = "136693071363"

  validation {
    condition     = regex_replace(var.base_ami_owner, "^([0-9]{12}|amazon|self|aws-marketplace)$", "") == ""
    error_message = "The base_ami_owner must be a 12-digit AWS account id, amazon, self or aws-marketplace."
  }
}

variable "base_ami_name" {
  type        = string
  description = "Name filter of the base AMI (the newest match is used)."
  default     = "debian-12-amd64-*"

  validation {
    condition     = length(var.base_ami_name) > 0
    error_message = "The base_ami_name must not be empty."
  }
}

variable "ssh_username" {
  type        = string
  description = "User Packer connects as on the builder instance (admin on the Debian AMIs)."
  default     = "admin"

  validation {
    condition     = regex_replace(var.ssh_username, "^[a-z_][a-z0-9_-]{0,31}$", "") == ""
    error_message = "The ssh_username must be a valid Unix user name."
  }
}

variable "ssh_source_cidrs" {
  type        = list(string)
  description = "CIDRs admitted to SSH on the builder's temporary security group: the runner's own public IP as a.b.c.d/32. The default admits nobody, so a bake without it fails while waiting for SSH instead of opening SSH to the world."
  default     = ["127.0.0.1/32"]

  validation {
    condition = length(var.ssh_source_cidrs) > 0 && length([
      for cidr in var.ssh_source_cidrs : cidr
      if regex_replace(cidr, "^([0-9]{1,3}\\.){3}[0-9]{1,3}/(8|9|[12][0-9]|3[0-2])$", "") != ""
    ]) == 0
    error_message = "The ssh_source_cidrs must be IPv4 CIDRs with a prefix of /8 to /32 (never 0.0.0.0/0)."
  }
}

variable "root_volume_size" {
  type        = number
  description = "Size of the image's root volume in GiB."
  default     = 8

  validation {
    condition     = var.root_volume_size >= 8 && var.root_volume_size <= 1024
    error_message = "The root_volume_size must be from 8 to 1024 GiB."
  }
}

# --- docker -------------------------------------------------------------------

variable "base_docker_image" {
  type        = string
  description = "Base image of the local (Docker) image: Debian 12, e.g. debian:bookworm or a locally imported rootfs."
  default     = "debian:bookworm"

  validation {
    condition     = length(var.base_docker_image) > 0
    error_message = "The base_docker_image must not be empty."
  }
}

# --- layers -------------------------------------------------------------------

variable "bake_layer" {
  type        = string
  description = "all: every role on the base image (the AMI, the VM); base: what changes with bakery or the OS, not with the app (roles base and hardening, the app's Debian packages, the service account, bakery's runtime and launcher); app: the rest of the app role on top of a base-layer image given as base_docker_image."
  default     = "all"

  validation {
    condition     = contains(["all", "base", "app"], var.bake_layer)
    error_message = "The bake_layer must be all, base or app."
  }
}

# --- the app ------------------------------------------------------------------
# Set by the runner from deploy.yaml's service keys; the defaults bake the bundled
# demo (service/) exactly as `packer build` without them always has.

variable "app_source_dir" {
  type        = string
  description = "Directory holding the app's staged sources on the machine running the bake; empty means the bundled demo (../service)."
  default     = ""
}

variable "app_entrypoint" {
  type        = string
  description = "The app: module:attr, or module:factory() for an app factory."
  default     = "bakery_service:create_app()"

  validation {
    condition     = regex_replace(var.app_entrypoint, "^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*(\\(\\))?$", "") == ""
    error_message = "The app_entrypoint must be module:attr or module:factory()."
  }
}

variable "app_interface" {
  type        = string
  description = "How the app is served: wsgi (Waitress) or asgi (Uvicorn)."
  default     = "wsgi"

  validation {
    condition     = var.app_interface == "wsgi" || var.app_interface == "asgi"
    error_message = "The app_interface must be wsgi or asgi."
  }
}

variable "app_requirements" {
  type        = string
  description = "pip requirements file relative to the app's sources; empty means none."
  default     = ""
}

variable "app_wheelhouse_dir" {
  type        = string
  description = "Directory of the wheels the runner resolved the requirements into; needed when app_requirements is set."
  default     = ""
}

variable "app_packages" {
  type        = list(string)
  description = "Debian packages the app needs at run time."
  default     = []
}

variable "app_build_commands" {
  type        = list(string)
  description = "service.build: commands run with /bin/sh -c in the app's directory as the service user at bake time."
  default     = []
}

variable "app_source_revision" {
  type        = string
  description = "Commit of a git source, recorded in the build info; empty for a directory."
  default     = ""

  validation {
    condition     = regex_replace(var.app_source_revision, "^([0-9a-f]{40}|[0-9a-f]{64})?$", "") == ""
    error_message = "The app_source_revision must be empty or a full git commit id."
  }
}

# --- qemu ---------------------------------------------------------------------
# The qemu.app source is the AMI's stand-in on a machine with no cloud: a VM with
# a real kernel, booted from the disk scripts/vm-base-image.sh makes.

variable "qemu_base_disk" {
  type        = string
  description = "Base disk of the VM bake (qcow2), as made by scripts/vm-base-image.sh: Debian 12 with a kernel, GRUB, sshd and the admin user."
  default     = "vm-base/base.qcow2"

  validation {
    condition     = regex_replace(var.qemu_base_disk, "^.+[.]qcow2$", "") == ""
    error_message = "The qemu_base_disk must be the path of a .qcow2 file."
  }
}

variable "qemu_ssh_private_key_file" {
  type        = string
  description = "Private key Packer connects to the VM with as ssh_username (the build key scripts/vm-base-image.sh authorizes); empty means the keys of a running ssh-agent."
  default     = ""
}

variable "qemu_accelerator" {
  type        = string
  description = "qemu accelerator: kvm where the kernel boots under it, tcg (software emulation) otherwise (pipeline/bake/accelerator.ts decides)."
  default     = "kvm"

  validation {
    condition     = contains(["kvm", "tcg"], var.qemu_accelerator)
    error_message = "The qemu_accelerator must be kvm or tcg."
  }
}

variable "qemu_output_directory" {
  type        = string
  description = "Directory the VM bake writes its qcow2 to (must not exist yet)."
  default     = "output-qemu"
}

variable "qemu_ssh_timeout" {
  type        = string
  description = "How long Packer waits for the VM's SSH server: a boot under software emulation takes a minute or more."
  default     = "10m"
}

variable "qemu_cpus" {
  type        = number
  description = "Virtual CPUs of the build VM."
  default     = 2

  validation {
    condition     = var.qemu_cpus >= 1 && var.qemu_cpus <= 16 && floor(var.qemu_cpus) == var.qemu_cpus
    error_message = "The qemu_cpus must be an integer from 1 to 16."
  }
}
