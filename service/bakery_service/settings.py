"""The demo's own settings from APP_* environment variables (the launcher reads the server's)."""

from __future__ import annotations

from collections.abc import Mapping

from .build_info import DEFAULT_BUILD_INFO_PATH


def app_config_from_environ(environ: Mapping[str, str]) -> dict[str, object]:
    """Read the Flask app's settings: APP_BUILD_INFO and APP_TESTING_SLOW_ROUTE."""
    return {
        "BUILD_INFO_PATH": environ.get("APP_BUILD_INFO") or DEFAULT_BUILD_INFO_PATH,
        "TESTING_SLOW_ROUTE": environ.get("APP_TESTING_SLOW_ROUTE") == "1",
    }
