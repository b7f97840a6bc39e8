"""Give the load balancer's health checks the public Host, so host-validating apps answer them.

An Application Load Balancer sends its health checks with the target's address as Host
("10.0.1.23:8080"). An app that checks Host against the names its users reach (Django's
ALLOWED_HOSTS, Flask's TRUSTED_HOSTS) answers 400, no target ever turns healthy, and the
deploy rolls back. The app should not have to list instance addresses, which change with
every instance.

So a request that is unmistakably the balancer's health check reaches the app with
Host set to APP_PUBLIC_HOST (the host of the URL bakery prints, written into the
instances' settings by the deploy); every other request is passed on untouched. A
health check is: GET or HEAD of exactly APP_HEALTH_PATH, with an IP address as Host, and
no X-Forwarded-For. The last test is what makes it tight: the balancer adds
X-Forwarded-For to every request it forwards from a client, and only the balancer can
reach the service's port (its security group), so a client cannot get a request without
it here; and even one that did would only have the health path answered under the
public name, which it could have asked for by that name anyway.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .settings import SettingsError

# A DNS name (letters, digits, hyphens, dots), optionally with a port: what a Host header may hold.
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$")
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class HealthHost:
    """Which path the balancer checks, and the Host its checks are given."""

    path: str
    public_host: str


def health_host_from_environ(environ: Mapping[str, str]) -> HealthHost | None:
    """Read APP_PUBLIC_HOST and APP_HEALTH_PATH; None (nothing rewritten) unless both are set."""
    host = environ.get("APP_PUBLIC_HOST", "").strip()
    path = environ.get("APP_HEALTH_PATH", "").strip()
    if not host or not path:
        return None
    if not _HOST.match(host) or _is_ip_literal(host):
        raise SettingsError(
            f"APP_PUBLIC_HOST={host!r} is not allowed: expected a DNS name such as shop.example.com (optionally with :port)"
        )
    if not _PATH.match(path):
        raise SettingsError(f"APP_HEALTH_PATH={path!r} is not allowed: expected an absolute path such as /health")
    return HealthHost(path=path, public_host=host)


def _is_ip_literal(host: str) -> bool:
    """Whether a Host header names an IP address (v4, or v6 in brackets), with or without a port."""
    if host.startswith("["):
        address = host[1:].split("]", 1)[0]
    else:
        address = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def is_balancer_health_check(health: HealthHost, method: str, path: str, host: str | None, forwarded_for: bool) -> bool:
    """GET/HEAD of exactly the health path, an IP address as Host, and no X-Forwarded-For."""
    return (
        method in _METHODS and path == health.path and not forwarded_for and host is not None and _is_ip_literal(host)
    )


class WsgiHealthHost:
    """Wraps a WSGI app; the balancer's health checks reach it with the public Host."""

    def __init__(self, app, health: HealthHost) -> None:
        """Serve app."""
        self.app = app
        self.health = health

    def __call__(self, environ, start_response):
        """Rewrite HTTP_HOST (and SERVER_NAME/PORT, its fallbacks) of a health check; pass others on as they are."""
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if is_balancer_health_check(
            self.health,
            environ.get("REQUEST_METHOD", ""),
            path,
            environ.get("HTTP_HOST"),
            # Waitress keeps the header of a trusted proxy in the environ after using it.
            bool(environ.get("HTTP_X_FORWARDED_FOR")),
        ):
            name, _, port = self.health.public_host.partition(":")
            environ = {
                **environ,
                "HTTP_HOST": self.health.public_host,
                "SERVER_NAME": name,
                "SERVER_PORT": port or ("443" if environ.get("wsgi.url_scheme") == "https" else "80"),
            }
            environ.pop("HTTP_X_FORWARDED_HOST", None)
        return self.app(environ, start_response)


class AsgiHealthHost:
    """Wraps an ASGI app; the balancer's health checks reach it with the public Host."""

    def __init__(self, app, health: HealthHost) -> None:
        """Serve app."""
        self.app = app
        self.health = health

    async def __call__(self, scope, receive, send):
        """Rewrite the host header of a health check's scope; pass others on as they are."""
        if scope["type"] == "http":
            headers = scope.get("headers", [])
            host = next((value for name, value in headers if name == b"host"), None)
            forwarded = any(name == b"x-forwarded-for" and value for name, value in headers)
            if is_balancer_health_check(
                self.health,
                scope.get("method", ""),
                scope.get("path", ""),
                host.decode("latin-1") if host is not None else None,
                forwarded,
            ):
                kept = [(name, value) for name, value in headers if name not in (b"host", b"x-forwarded-host")]
                scope = {**scope, "headers": [(b"host", self.health.public_host.encode("latin-1")), *kept]}
        await self.app(scope, receive, send)
