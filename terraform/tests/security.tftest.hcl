# The security baseline of DESIGN.md, asserted on what Terraform would create: applies
# against the mocked AWS provider in ./aws (ids are made up, values are the stack's).

mock_provider "aws" {
  source = "./tests/aws"
}

variables {
  name        = "demo-staging"
  app         = "demo"
  environment = "staging"
  region      = "eu-west-1"
  image       = { id = "ami-0123456789abcdef0", root_device_name = "/dev/sda1" }
  instances   = { min = 2, desired = 2, max = 4 }
  service     = { port = 8080, health_path = "/health" }
}

run "the_stack_is_ipv4_only" {
  command = apply

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0f0f0f-1111-2222-3333-444444444444"
  }

  assert {
    condition     = aws_lb.this.ip_address_type == "ipv4" && aws_lb_target_group.this.ip_address_type == "ipv4"
    error_message = "the load balancer and its target group must be IPv4 only (no dualstack)"
  }

  assert {
    condition = alltrue([
      for rule in concat(values(aws_vpc_security_group_ingress_rule.alb_listener), [aws_vpc_security_group_ingress_rule.instances_from_alb, aws_vpc_security_group_egress_rule.alb_to_instances]) :
      rule.cidr_ipv6 == null && rule.ip_protocol != "-1"
    ])
    error_message = "no security group rule may name an IPv6 range or every protocol"
  }

  assert {
    condition     = aws_launch_template.this.network_interfaces[0].ipv6_address_count == 0 && aws_launch_template.this.metadata_options[0].http_protocol_ipv6 == "disabled"
    error_message = "instances get no IPv6 address and reach the metadata service over IPv4 only"
  }
}

run "the_load_balancer_admits_only_its_listener_ports_from_the_internet" {
  command = apply

  assert {
    condition     = [for rule in values(aws_vpc_security_group_ingress_rule.alb_listener) : [rule.security_group_id, rule.cidr_ipv4, rule.ip_protocol, rule.from_port, rule.to_port]] == [[aws_security_group.alb.id, "0.0.0.0/0", "tcp", 80, 80]]
    error_message = "without a certificate only tcp/80 from 0.0.0.0/0 reaches the load balancer"
  }
}

run "with_a_certificate_the_load_balancer_also_admits_443" {
  command = apply

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0f0f0f-1111-2222-3333-444444444444"
  }

  assert {
    condition     = toset([for rule in values(aws_vpc_security_group_ingress_rule.alb_listener) : "${rule.cidr_ipv4} tcp ${rule.from_port}-${rule.to_port}"]) == toset(["0.0.0.0/0 tcp 80-80", "0.0.0.0/0 tcp 443-443"])
    error_message = "with a certificate exactly tcp/80 and tcp/443 are open from the internet"
  }
}

run "instances_accept_only_the_service_port_from_the_load_balancer_group" {
  command = apply

  variables {
    service = { port = 9000, health_path = "/health" }
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.instances_from_alb.security_group_id == aws_security_group.instances.id &&
      aws_vpc_security_group_ingress_rule.instances_from_alb.referenced_security_group_id == aws_security_group.alb.id &&
      aws_vpc_security_group_ingress_rule.instances_from_alb.cidr_ipv4 == null &&
      aws_vpc_security_group_ingress_rule.instances_from_alb.ip_protocol == "tcp" &&
      aws_vpc_security_group_ingress_rule.instances_from_alb.from_port == 9000 &&
      aws_vpc_security_group_ingress_rule.instances_from_alb.to_port == 9000
    )
    error_message = "the instances' only ingress is tcp on the service port from the load balancer's security group"
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.alb_to_instances.security_group_id == aws_security_group.alb.id &&
      aws_vpc_security_group_egress_rule.alb_to_instances.referenced_security_group_id == aws_security_group.instances.id &&
      aws_vpc_security_group_egress_rule.alb_to_instances.cidr_ipv4 == null &&
      aws_vpc_security_group_egress_rule.alb_to_instances.from_port == 9000 &&
      aws_vpc_security_group_egress_rule.alb_to_instances.to_port == 9000
    )
    error_message = "the load balancer may send only to the instances' group on the service port"
  }

  assert {
    condition     = aws_launch_template.this.network_interfaces[0].security_groups == toset([aws_security_group.instances.id]) && aws_launch_template.this.vpc_security_group_ids == null
    error_message = "instances run in the instances' security group only, set on their network interface"
  }

  assert {
    condition     = aws_lb.this.security_groups == toset([aws_security_group.alb.id])
    error_message = "the load balancer runs in its own security group only"
  }
}

run "no_ssh_ingress_anywhere" {
  command = apply

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0f0f0f-1111-2222-3333-444444444444"
  }

  assert {
    condition = alltrue([
      for rule in concat(values(aws_vpc_security_group_ingress_rule.alb_listener), [aws_vpc_security_group_ingress_rule.instances_from_alb]) :
      rule.ip_protocol == "tcp" && !(rule.from_port <= 22 && 22 <= rule.to_port)
    ])
    error_message = "no ingress rule may cover port 22"
  }

  assert {
    condition     = aws_launch_template.this.key_name == null
    error_message = "instances get no key pair"
  }
}

run "instances_require_imdsv2_with_one_hop" {
  command = apply

  assert {
    condition = (
      aws_launch_template.this.metadata_options[0].http_endpoint == "enabled" &&
      aws_launch_template.this.metadata_options[0].http_tokens == "required" &&
      aws_launch_template.this.metadata_options[0].http_put_response_hop_limit == 1
    )
    error_message = "IMDSv2 session tokens must be required, with a PUT response hop limit of 1"
  }
}

run "the_root_volume_is_encrypted_on_the_image_root_device" {
  command = apply

  assert {
    condition     = length(aws_launch_template.this.block_device_mappings) == 1 && aws_launch_template.this.block_device_mappings[0].device_name == "/dev/sda1"
    error_message = "one block device mapping, on the image's root device"
  }

  assert {
    condition = (
      aws_launch_template.this.block_device_mappings[0].ebs[0].encrypted == "true" &&
      aws_launch_template.this.block_device_mappings[0].ebs[0].volume_type == "gp3" &&
      aws_launch_template.this.block_device_mappings[0].ebs[0].delete_on_termination == "true"
    )
    error_message = "the root volume is an encrypted gp3 volume deleted with its instance"
  }
}

run "instances_get_no_public_ip" {
  command = apply

  assert {
    condition     = length(aws_launch_template.this.network_interfaces) == 1 && aws_launch_template.this.network_interfaces[0].associate_public_ip_address == "false"
    error_message = "the instances' only interface must not get a public IP, whatever the subnet maps"
  }
}

run "the_load_balancer_drops_invalid_headers_and_is_protected_from_deletion" {
  command = apply

  assert {
    condition     = aws_lb.this.internal == false && aws_lb.this.load_balancer_type == "application" && aws_lb.this.drop_invalid_header_fields == true
    error_message = "an internet-facing ALB that drops invalid header fields"
  }

  assert {
    condition     = aws_lb.this.enable_deletion_protection == true
    error_message = "deletion protection is on by default (./destroy.ts turns it off first, after its confirmation)"
  }

  assert {
    condition     = aws_lb.this.idle_timeout == 60
    error_message = "the idle timeout stays below the service's 75 s keep-alive"
  }
}
