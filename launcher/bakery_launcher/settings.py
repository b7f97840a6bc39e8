"""How the server listens and stops, from APP_* environment variables, validated first."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(ValueError):
    """An environment variable holds a value the launcher cannot use."""


@dataclass(frozen=True)
class ServerSettings:
    """How the server listens and stops."""

    host: str = "0.0.0.0"
    port: int = 8080
    threads: int = 8
    connection_limit: int = 100
    shutdown_timeout_s: float = 20.0


def server_settings_from_environ(environ: Mapping[str, str]) -> ServerSettings:
    """Read APP_HOST, APP_PORT, APP_THREADS, APP_CONNECTION_LIMIT and APP_SHUTDOWN_TIMEOUT."""
    defaults = ServerSettings()
    return ServerSettings(
        host=_ipv4_address(environ, "APP_HOST", defaults.host),
        # 0 asks the kernel for a free port; tests read the chosen port from the
        # "listening on" log line.
        port=_integer(environ, "APP_PORT", defaults.port, minimum=0, maximum=65535),
        threads=_integer(environ, "APP_THREADS", defaults.threads, minimum=1, maximum=256),
        connection_limit=_integer(environ, "APP_CONNECTION_LIMIT", defaults.connection_limit, minimum=1, maximum=65535),
        shutdown_timeout_s=_seconds(environ, "APP_SHUTDOWN_TIMEOUT", defaults.shutdown_timeout_s),
    )


def _raw(environ: Mapping[str, str], name: str) -> str | None:
    """Return the variable's value, treating empty as unset."""
    value = environ.get(name, "").strip()
    return value or None


def _ipv4_address(environ: Mapping[str, str], name: str, default: str) -> str:
    """Return an IPv4 address; the service never listens on IPv6."""
    value = _raw(environ, name)
    if value is None:
        return default
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not allowed: expected an IPv4 address such as 0.0.0.0") from None


def _integer(environ: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    """Return an integer within [minimum, maximum]."""
    value = _raw(environ, name)
    if value is None:
        return default
    try:
        number = int(value, 10)
    except ValueError:
        number = None
    if number is None or not minimum <= number <= maximum:
        raise SettingsError(f"{name}={value!r} is not allowed: expected an integer from {minimum} to {maximum}")
    return number


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """Return a duration in seconds from 0 to 3600."""
    value = _raw(environ, name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is None or not 0 <= seconds <= 3600:
        raise SettingsError(f"{name}={value!r} is not allowed: expected seconds from 0 to 3600")
    return seconds
