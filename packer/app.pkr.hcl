# The bake: one template, one build, two sources.
#
#   amazon-ebs.app  an AMI for the aws target, from the official Debian 12 AMI
#                   (bake_layer all or base) or from a base-layer AMI (app)
#   docker.app      a Docker image for the local target, from a Debian 12 image
#   qemu.app        a qcow2 from a VM with its own kernel: the AMI's stand-in
#                   where no cloud is reachable (test:vm bakes and boots it)
#
# Both run the same Ansible playbook (../ansible/playbook.yml), so what is
# tested locally is what ships to AWS. Pick one with
#   packer build -only=docker.app packer/      (or -only=amazon-ebs.app)
# The build block has no name: the builds are then called <type>.<name>, which
# is what -only matches in Packer 1.6.6 and in current releases.
#
# There is no `required_plugins` block: Packer 1.6.6 (Debian's, used in CI)
# rejects it ("Blocks of type required_plugins are not expected here") and
# ships the amazon, docker and ansible components built in. Current Packer
# releases get the plugins with `packer init packer/plugins/` (a directory this
# template does not load; see plugins/plugins.pkr.hcl).
packer {
  required_version = ">= 1.6.6"
}

locals {
  baked_at = var.baked_at != "" ? var.baked_at : timestamp()

  # The Docker build container's name: Ansible reaches it by name (below).
  docker_build_container = "packer-${var.app_name}-${var.environment}-${substr(uuidv4(), 0, 8)}"

  # AMI names are unique per region and account: app, env, the fingerprint's
  # first 12 hex digits and the bake time.
  ami_name = "${var.app_name}-${var.environment}-${substr(var.fingerprint, 0, 12)}-${formatdate("YYYYMMDDhhmmss", local.baked_at)}"

  # What the runner looks images up by (the bake cache) and what retention
  # deletes by: AMI and snapshot tags, Docker labels.
  image_tags = {
    "bakery:app"          = var.app_name
    "bakery:env"          = var.environment
    "bakery:fingerprint"  = var.fingerprint
    "bakery:version"      = var.version
    "bakery:git_revision" = var.git_revision
    "bakery:baked_at"     = local.baked_at
    # Which layer this AMI is, and for an app layer the base-layer AMI it was
    # baked on: retention keeps the base of every AMI it keeps.
    "bakery:layer"      = var.bake_layer
    "bakery:built_from" = var.bake_layer == "app" ? var.base_ami_id : ""
  }
  docker_labels = {
    "bakery.app"          = var.app_name
    "bakery.env"          = var.environment
    "bakery.fingerprint"  = var.fingerprint
    "bakery.version"      = var.version
    "bakery.git_revision" = var.git_revision
    "bakery.baked_at"     = local.baked_at
    # Which layer this image is, and the image it was built on (an app layer's
    # base layer): retention never removes the base of an image it keeps.
    "bakery.layer"      = var.bake_layer
    "bakery.built_from" = var.base_docker_image
  }

  # The hardened base layer boots with sshd masked (roles/hardening, ssh.yml):
  # the app layer's builder unmasks and starts it so Packer can connect, and the
  # play masks it again at its end (bakery_builder_unmasked_ssh). A script, run
  # by cloud-init's final stage, after the host keys exist; --no-block, so it
  # never waits on the boot it is part of.
  unmask_ssh_user_data = <<-EOT
    #!/bin/sh
    systemctl unmask ssh.service ssh.socket
    systemctl --no-block start ssh.service
  EOT

  # Passed to the playbook as one JSON document (--extra-vars).
  # app_source_dir only when the runner staged a source: otherwise the role's
  # default (the bundled demo) applies.
  ansible_extra_vars = jsonencode(merge({
    app_name            = var.app_name
    app_environment     = var.environment
    app_version         = var.version
    app_fingerprint     = var.fingerprint
    app_git_revision    = var.git_revision
    app_port            = var.service_port
    app_baked_at        = local.baked_at
    app_entrypoint      = var.app_entrypoint
    app_interface       = var.app_interface
    app_requirements    = var.app_requirements
    app_wheelhouse_dir  = var.app_wheelhouse_dir
    app_extra_packages  = var.app_packages
    app_source_revision = var.app_source_revision
    app_build_commands  = var.app_build_commands
    bakery_layer        = var.bake_layer
  }, { for key, value in { app_source_dir = var.app_source_dir } : key => value if value != "" }))
}

source "amazon-ebs" "app" {
  region              = var.aws_region
  instance_type       = var.instance_type
  custom_endpoint_ec2 = var.aws_endpoint_ec2

  # By id when the runner names the AMI (the base AMI preflight resolved, which
  # the fingerprint covers; an app layer's base layer, owned by this account),
  # else the newest match of the name filter (a bake by hand).
  source_ami_filter {
    filters = var.base_ami_id != "" ? {
      image-id            = var.base_ami_id
      architecture        = "x86_64"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
      } : {
      name                = var.base_ami_name
      architecture        = "x86_64"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = [var.bake_layer == "app" ? "self" : var.base_ami_owner]
    most_recent = true
  }
  user_data = var.bake_layer == "app" ? local.unmask_ssh_user_data : ""

  # Temporary key pair (ed25519) and temporary security group, both deleted
  # by Packer after the bake. Packer 1.6.6 has no
  # temporary_security_group_source_public_ip: the runner passes its own
  # public IP as ssh_source_cidrs.
  ssh_username                          = var.ssh_username
  temporary_key_pair_type               = "ed25519"
  temporary_security_group_source_cidrs = var.ssh_source_cidrs

  # Encrypted gp3 root volume: the image made from it has an encrypted snapshot already,
  # with the customer key when kms_key_id names one (and an app layer's volume, made
  # from its base layer's snapshot, with that snapshot's key). No encrypt_boot: it would
  # only copy the image once more (minutes per bake) and deregister an untagged
  # intermediate AMI, which the deploy policy forbids (only AMIs tagged bakery:app may
  # be deregistered).
  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    iops                  = 3000
    throughput            = 125
    encrypted             = true
    kms_key_id            = var.kms_key_id
    delete_on_termination = true
  }

  ami_name        = local.ami_name
  ami_description = "${var.app_name} ${var.version} (${var.environment}), fingerprint ${var.fingerprint}"
  tags            = local.image_tags
  snapshot_tags   = local.image_tags
  run_tags        = merge(local.image_tags, { Name = "packer-builder-${var.app_name}-${var.environment}" })
  run_volume_tags = local.image_tags
}

source "docker" "app" {
  image = var.base_docker_image
  # The base image may exist only locally (imported with `docker import`), so
  # never pull; `docker run` still pulls an image that is missing.
  pull   = false
  commit = true

  # The committed image keeps the build container's entrypoint and stop
  # signal; `docker commit --change` refuses STOPSIGNAL and its ENTRYPOINT []
  # clears nothing. So both are set on the build container: no entrypoint
  # (Packer's default run command sets /bin/sh, which would then run CMD as a
  # shell script) and SIGRTMIN+3, on which systemd as PID 1 halts cleanly
  # (SIGTERM only makes it re-execute itself).
  # The labels let ./destroy.ts find a builder container that a killed Packer left behind.
  run_command = [
    "-d", "-i", "-t", "--stop-signal=SIGRTMIN+3", "--entrypoint=", "--name", local.docker_build_container,
    "--label", "bakery.app=${var.app_name}", "--label", "bakery.env=${var.environment}", "--label", "bakery.role=builder",
    "--", "{{.Image}}", "/bin/sh",
  ]

  # The committed image boots systemd as PID 1.
  changes = concat(
    [for key, value in local.docker_labels : "LABEL ${key}=\"${value}\""],
    [
      # The builder container is labelled role=builder; the image it becomes is not.
      "LABEL bakery.role=\"image\"",
      "ENV container=docker",
      "EXPOSE ${var.service_port}",
      "CMD [\"/lib/systemd/systemd\"]",
    ]
  )
}

# The AMI's stand-in on a machine with no cloud: a VM with its own kernel under
# qemu, booted from the Debian 12 disk scripts/vm-base-image.sh makes (kernel,
# GRUB, systemd, sshd, the admin user with sudo, as on Debian's AMI). The same
# playbook then takes the VM's branches (kernel command line, AppArmor, sysctl,
# SSH masked, the smoke test), because the facts say "own kernel", not because
# of this source's name. The result is a standalone qcow2.
source "qemu" "app" {
  iso_url          = var.qemu_base_disk
  iso_checksum     = "none"
  disk_image       = true
  use_backing_file = false
  format           = "qcow2"
  # The base disk's size: its one partition does not grow.
  disk_size       = "4096M"
  disk_interface  = "virtio"
  net_device      = "virtio-net"
  accelerator     = var.qemu_accelerator
  cpus            = var.qemu_cpus
  memory          = 1024
  headless        = true
  skip_compaction = true

  output_directory = var.qemu_output_directory
  vm_name          = "${var.app_name}-${var.environment}-${substr(var.fingerprint, 0, 12)}.qcow2"

  # Loopback only: user-mode networking forwards 127.0.0.1:<port> (bakery's
  # own range) to the VM's SSH server. No VNC: there is nothing to type, GRUB
  # boots the disk with no menu.
  host_port_min = 18380
  host_port_max = 18389
  disable_vnc   = true
  boot_wait     = "1s"
  # Packer 1.6.6 forwards the port on every interface and still starts a VNC
  # server: these replace its -netdev and -vnc arguments. The serial console
  # (kernel, systemd) goes to a file for when a boot goes wrong.
  qemuargs = [
    ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
    ["-vnc", "none"],
    ["-serial", "file:${var.qemu_output_directory}.serial.log"],
  ]

  communicator         = "ssh"
  ssh_username         = var.ssh_username
  ssh_private_key_file = var.qemu_ssh_private_key_file
  # Packer reads the key file while validating: without one (a template check
  # with no base disk made yet) the agent's keys are the fallback.
  ssh_agent_auth   = var.qemu_ssh_private_key_file == ""
  ssh_timeout      = var.qemu_ssh_timeout
  shutdown_command = "sudo systemctl poweroff"
  shutdown_timeout = "5m"
}

build {
  sources = [
    "source.amazon-ebs.app",
    "source.docker.app",
    "source.qemu.app",
  ]

  # IMDSv2 (session tokens required) on the builder instance. Packer 1.6.6's
  # amazon-ebs has no metadata_options block, so the instance is switched
  # through the EC2 API before anything runs on it.
  provisioner "shell-local" {
    only             = ["amazon-ebs.app"]
    environment_vars = ["BAKERY_INSTANCE_ID=${build.ID}", "AWS_REGION=${var.aws_region}"]
    inline           = ["node '${path.root}/scripts/require-imdsv2.mjs'"]
  }

  provisioner "ansible" {
    playbook_file = "${path.root}/../ansible/playbook.yml"
    # The VM has a real SSH server on a forwarded loopback port: Ansible connects
    # to it directly and keeps one connection open (ControlPersist), instead of a
    # new session through Packer's proxy per command, each a key exchange inside
    # the emulated guest. The AMI keeps the proxy (not testable here); Docker has
    # no SSH server at all (see --connection below).
    use_proxy = source.type != "qemu"
    # The user Ansible is told it connects as (Packer's proxy connects as the
    # builder's user anyway): root in the container, admin on the Debian AMI.
    # The playbook becomes root only when this is not root.
    user = source.type == "docker" ? "root" : var.ssh_username

    # Workaround: Packer 1.6.6's SSH proxy between Ansible and the builder
    # offers only an ssh-rsa host key and expects an ssh-rsa client key, which
    # OpenSSH >= 8.8 refuses by default ("no matching host key type found");
    # the proxy also speaks only the legacy SCP protocol, while OpenSSH >= 9.0
    # scp uses SFTP unless given -O. Harmless with newer Packer releases.
    ansible_env_vars = [
      "ANSIBLE_CONFIG=${path.root}/../ansible/ansible.cfg",
      "ANSIBLE_SSH_ARGS=-o PubkeyAcceptedKeyTypes=+ssh-rsa -o HostkeyAlgorithms=+ssh-rsa -o ControlMaster=auto -o ControlPersist=60s",
      "ANSIBLE_SCP_IF_SSH=True",
      "ANSIBLE_NOCOLOR=True",
      "ANSIBLE_FORCE_COLOR=False",
    ]
    # In the Docker build container Ansible runs each task with `docker exec`
    # (community.docker's connection, pipelined) instead of through Packer's
    # SSH proxy, which opens an SSH session and a `docker exec` per command
    # and made every task cost about a second. --connection is only the
    # default, so the tasks delegated to localhost still run locally, and
    # ansible_docker_host (not ansible_host, which Packer's inventory sets to
    # its proxy) names the container. The proxy is started but not used.
    extra_arguments = concat(
      ["--scp-extra-args", "'-O'", "--extra-vars", local.ansible_extra_vars],
      source.type == "docker" ? ["--connection", "community.docker.docker", "--extra-vars", "ansible_docker_host=${local.docker_build_container}"] : [],
      # The builder's user data unmasked sshd (unmask_ssh_user_data): the play masks it again.
      source.type == "amazon-ebs" && var.bake_layer == "app" ? ["--extra-vars", jsonencode({ bakery_builder_unmasked_ssh = true })] : [],
    )
  }
}
