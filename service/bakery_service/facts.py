"""The facts a person or a deploy check needs to tell which image is serving."""

from __future__ import annotations

import platform
import socket
import time
from dataclasses import dataclass, field
from importlib.metadata import version

from flask import Flask, current_app

from .build_info import BuildInfo

EXTENSION_KEY = "bakery_service"


@dataclass(frozen=True)
class ServiceFacts:
    """What this process knows about itself, fixed at start-up except uptime."""

    build: BuildInfo
    hostname: str = field(default_factory=socket.gethostname)
    started_monotonic: float = field(default_factory=time.monotonic)

    def uptime_s(self) -> int:
        """Return whole seconds since the app was created."""
        return int(time.monotonic() - self.started_monotonic)


def attach_facts(app: Flask, build: BuildInfo) -> None:
    """Store the process facts on the app for the views to read."""
    app.extensions[EXTENSION_KEY] = ServiceFacts(build=build)


def current_facts() -> ServiceFacts:
    """Return the facts of the app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]


def describe(facts: ServiceFacts) -> dict[str, object]:
    """Return the build facts plus hostname and uptime, as served by / and /api/info."""
    return {**facts.build.as_dict(), "hostname": facts.hostname, "uptime_s": facts.uptime_s()}


def runtime_versions() -> dict[str, str]:
    """Return the Python and Flask versions actually running."""
    # importlib.metadata, not flask.__version__, which Flask deprecates.
    return {"python": platform.python_version(), "flask": version("flask")}


def format_uptime(seconds: int) -> str:
    """Format seconds as a short human duration such as 2d 3h 4m 5s."""
    parts: list[str] = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(f"{count}{unit}")
    parts.append(f"{seconds}s")
    return " ".join(parts)
