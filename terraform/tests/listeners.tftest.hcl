# Listeners with and without a certificate, and the transitions between the two on one
# stack (the runs share state, in order). Port 80 is one listener that always forwards;
# HTTPS adds the 443 listener and a redirect rule in front of port 80's default action,
# so neither transition updates a listener in place (which makes provider 5.x warn
# "Invalid Attribute Combination"; scripts/test-terraform.sh fails on any warning).

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

run "http_only_forwards_port_80" {
  command = apply

  assert {
    condition     = aws_lb_listener.http.port == 80 && aws_lb_listener.http.protocol == "HTTP"
    error_message = "one HTTP listener on port 80"
  }

  assert {
    condition = (
      length(aws_lb_listener.http.default_action) == 1 &&
      aws_lb_listener.http.default_action[0].type == "forward" &&
      aws_lb_listener.http.default_action[0].target_group_arn == aws_lb_target_group.this.arn &&
      length(aws_lb_listener.http.default_action[0].redirect) == 0
    )
    error_message = "port 80 forwards to the target group, with no redirect attributes"
  }

  assert {
    condition     = length(aws_lb_listener.https) == 0 && length(aws_lb_listener_rule.http_to_https) == 0
    error_message = "without a certificate there is no 443 listener and no redirect"
  }

  assert {
    condition     = output.url == "http://demo-staging-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "the url is plain HTTP on the load balancer's name"
  }
}

run "adding_a_certificate_adds_443_and_a_redirect_and_keeps_port_80" {
  command = apply

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0f0f0f-1111-2222-3333-444444444444"
  }

  assert {
    condition     = aws_lb_listener.http.arn == run.http_only_forwards_port_80.http_listener_arn
    error_message = "the port-80 listener must stay the same listener (not replaced)"
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "forward" && aws_lb_listener.http.default_action[0].target_group_arn == aws_lb_target_group.this.arn
    error_message = "port 80's default action does not change: a rule redirects instead"
  }

  assert {
    condition = (
      aws_lb_listener.https[0].port == 443 &&
      aws_lb_listener.https[0].protocol == "HTTPS" &&
      aws_lb_listener.https[0].certificate_arn == "arn:aws:acm:eu-west-1:123456789012:certificate/0f0f0f0f-1111-2222-3333-444444444444" &&
      aws_lb_listener.https[0].ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06" &&
      aws_lb_listener.https[0].default_action[0].type == "forward" &&
      aws_lb_listener.https[0].default_action[0].target_group_arn == aws_lb_target_group.this.arn
    )
    error_message = "443 terminates TLS 1.2+ with the certificate and forwards to the target group"
  }

  assert {
    condition = (
      aws_lb_listener_rule.http_to_https[0].listener_arn == aws_lb_listener.http.arn &&
      aws_lb_listener_rule.http_to_https[0].priority == 1 &&
      aws_lb_listener_rule.http_to_https[0].action[0].type == "redirect" &&
      aws_lb_listener_rule.http_to_https[0].action[0].target_group_arn == null &&
      aws_lb_listener_rule.http_to_https[0].action[0].redirect[0].protocol == "HTTPS" &&
      aws_lb_listener_rule.http_to_https[0].action[0].redirect[0].port == "443" &&
      aws_lb_listener_rule.http_to_https[0].action[0].redirect[0].status_code == "HTTP_301" &&
      [for condition in aws_lb_listener_rule.http_to_https[0].condition : condition.path_pattern[0].values] == [toset(["/*"])]
    )
    error_message = "the first rule on port 80 redirects every path to HTTPS on 443 (301), with no target group"
  }

  assert {
    condition     = output.url == "https://demo-staging-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "with a certificate the url is https"
  }
}

run "removing_the_certificate_removes_443_and_the_redirect_and_keeps_port_80" {
  command = apply

  assert {
    condition     = aws_lb_listener.http.arn == run.http_only_forwards_port_80.http_listener_arn
    error_message = "the port-80 listener must stay the same listener (not replaced)"
  }

  assert {
    condition     = length(aws_lb_listener.https) == 0 && length(aws_lb_listener_rule.http_to_https) == 0
    error_message = "without the certificate the 443 listener and the redirect are gone"
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "forward" && length(aws_lb_listener.http.default_action[0].redirect) == 0
    error_message = "port 80 forwards again"
  }

  assert {
    condition     = startswith(output.url, "http://")
    error_message = "the url is plain HTTP again"
  }
}

run "a_custom_ssl_policy_must_be_tls_1_2_or_newer" {
  command = plan

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0f0f0f-1111-2222-3333-444444444444"
    ssl_policy      = "ELBSecurityPolicy-2016-08"
  }

  expect_failures = [var.ssl_policy]
}
