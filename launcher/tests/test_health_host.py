"""The load balancer's health checks reach the app with the public Host; nothing else is rewritten."""

import asyncio
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bakery_launcher.health_host import (
    AsgiHealthHost,
    HealthHost,
    WsgiHealthHost,
    health_host_from_environ,
    is_balancer_health_check,
)
from bakery_launcher.settings import SettingsError

HEALTH = HealthHost(path="/health", public_host="shop.example.com")
LAUNCHER = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps"


@pytest.mark.parametrize("host", ["10.0.1.23:8080", "10.0.1.23", "[fd00::5]:8080", "[fd00::5]"])
def test_a_get_of_the_health_path_with_an_ip_as_host_and_no_forwarded_for_is_the_balancers(host):
    assert is_balancer_health_check(HEALTH, "GET", "/health", host, forwarded_for=False)
    assert is_balancer_health_check(HEALTH, "HEAD", "/health", host, forwarded_for=False)


@pytest.mark.parametrize(
    ("method", "path", "host", "forwarded_for", "why"),
    [
        ("GET", "/health", "10.0.1.23:8080", True, "a client's request through the balancer carries X-Forwarded-For"),
        ("GET", "/admin", "10.0.1.23:8080", False, "only the health path"),
        ("GET", "/health/", "10.0.1.23:8080", False, "exactly the health path"),
        ("GET", "/healthz", "10.0.1.23:8080", False, "not a prefix match"),
        ("POST", "/health", "10.0.1.23:8080", False, "only GET and HEAD"),
        ("GET", "/health", "evil.example", False, "a name as Host is the app's to judge"),
        ("GET", "/health", "10.0.1.23.evil.example", False, "a name that starts like an address"),
        ("GET", "/health", None, False, "no Host at all"),
    ],
)
def test_anything_else_is_not_a_health_check(method, path, host, forwarded_for, why):
    assert not is_balancer_health_check(HEALTH, method, path, host, forwarded_for), why


def seen_by_wsgi_app(environ):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return [b""]

    WsgiHealthHost(app, HEALTH)(environ, lambda *a: None)
    return seen


def test_wsgi_health_checks_get_the_public_host_and_server_name():
    seen = seen_by_wsgi_app(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/health", "HTTP_HOST": "10.0.1.23:8080", "SERVER_NAME": "10.0.1.23", "SERVER_PORT": "8080", "wsgi.url_scheme": "http"}
    )
    assert (seen["HTTP_HOST"], seen["SERVER_NAME"], seen["SERVER_PORT"]) == ("shop.example.com", "shop.example.com", "80")


def test_wsgi_other_requests_keep_their_host():
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/health", "HTTP_HOST": "10.0.1.23:8080", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert seen_by_wsgi_app(dict(environ))["HTTP_HOST"] == "10.0.1.23:8080"
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/admin", "HTTP_HOST": "10.0.1.23:8080"}
    assert seen_by_wsgi_app(dict(environ))["HTTP_HOST"] == "10.0.1.23:8080"


def seen_by_asgi_app(scope):
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    asyncio.run(AsgiHealthHost(app, HEALTH)(scope, None, None))
    return seen


def test_asgi_health_checks_get_the_public_host_header_once():
    scope = {"type": "http", "method": "GET", "path": "/health", "headers": [(b"host", b"10.0.1.23:8080"), (b"user-agent", b"ELB-HealthChecker/2.0"), (b"x-forwarded-host", b"x")]}
    assert seen_by_asgi_app(scope)["headers"] == [(b"host", b"shop.example.com"), (b"user-agent", b"ELB-HealthChecker/2.0")]


def test_asgi_forwarded_requests_and_lifespan_pass_untouched():
    headers = [(b"host", b"10.0.1.23:8080"), (b"x-forwarded-for", b"203.0.113.9")]
    scope = {"type": "http", "method": "GET", "path": "/health", "headers": headers}
    assert seen_by_asgi_app(scope)["headers"] == headers
    assert seen_by_asgi_app({"type": "lifespan"}) == {"type": "lifespan"}


def test_settings_need_both_variables_and_refuse_an_address_as_public_host():
    assert health_host_from_environ({}) is None
    assert health_host_from_environ({"APP_PUBLIC_HOST": "shop.example.com"}) is None
    assert health_host_from_environ({"APP_PUBLIC_HOST": "shop.example.com", "APP_HEALTH_PATH": "/health"}) == HEALTH
    with pytest.raises(SettingsError, match=r"APP_PUBLIC_HOST='10.0.0.1' is not allowed"):
        health_host_from_environ({"APP_PUBLIC_HOST": "10.0.0.1", "APP_HEALTH_PATH": "/health"})
    with pytest.raises(SettingsError, match=r"APP_PUBLIC_HOST='a b' is not allowed"):
        health_host_from_environ({"APP_PUBLIC_HOST": "a b", "APP_HEALTH_PATH": "/health"})
    with pytest.raises(SettingsError, match=r"APP_HEALTH_PATH='health' is not allowed"):
        health_host_from_environ({"APP_PUBLIC_HOST": "shop.example.com", "APP_HEALTH_PATH": "health"})


@pytest.fixture
def launched():
    """python3 -m bakery_launcher serving the host-checking app on Waitress, as the unit starts it."""
    env = {
        "PYTHONPATH": f"{LAUNCHER}:{APPS}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "APP_HOST": "127.0.0.1",
        "APP_PORT": "0",
        "APP_PUBLIC_HOST": "shop.example.com",
        "APP_HEALTH_PATH": "/health",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bakery_launcher", "--entrypoint", "host_checking_app:app"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    port = None
    for line in process.stdout:
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if match:
            port = int(match.group(1))
            break
    assert port, "the launcher never listened"
    yield port
    process.terminate()
    process.wait(timeout=30)
    process.stdout.close()


def raw_get(port, path, headers):
    """One HTTP/1.0 request with exactly these headers; the status line and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        lines = [f"GET {path} HTTP/1.0", *(f"{name}: {value}" for name, value in headers.items()), "", ""]
        connection.sendall("\r\n".join(lines).encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.decode().partition("\r\n\r\n")
    return head.split("\r\n")[0], body


def test_on_waitress_the_balancers_health_check_passes_and_other_requests_by_address_do_not(launched):
    # What an ALB health check sends: the target's address as Host, no X-Forwarded-For.
    status, body = raw_get(launched, "/health", {"Host": "10.0.1.23:8080", "User-Agent": "ELB-HealthChecker/2.0"})
    assert (status, body) == ("HTTP/1.0 200 OK", "host=shop.example.com path=/health")
    # A client's request through the balancer by address: the app judges the Host it sent.
    status, body = raw_get(launched, "/health", {"Host": "10.0.1.23:8080", "X-Forwarded-For": "203.0.113.9"})
    assert (status, body) == ("HTTP/1.0 400 Bad Request", "DisallowedHost: 10.0.1.23:8080")
    # Any other path keeps its Host, even without X-Forwarded-For.
    status, _ = raw_get(launched, "/admin", {"Host": "10.0.1.23:8080"})
    assert status == "HTTP/1.0 400 Bad Request"
    status, body = raw_get(launched, "/admin", {"Host": "shop.example.com", "X-Forwarded-For": "203.0.113.9"})
    assert (status, body) == ("HTTP/1.0 200 OK", "host=shop.example.com path=/admin")
