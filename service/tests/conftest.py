import json

import pytest

from bakery_service import create_app
from live import ServiceProcess

BUILD_INFO = {
    "app": "bakery-demo",
    "version": "1.4.2",
    "fingerprint": "3f9c2a7be41d05c8a6e9d2f17b3c4a5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
    "git_revision": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
    "baked_at": "2025-06-01T12:00:00Z",
    "environment": "staging",
}


@pytest.fixture
def build_info_path(tmp_path):
    """Write a complete build-info file and return its path."""
    path = tmp_path / "build-info.json"
    path.write_text(json.dumps(BUILD_INFO), encoding="utf-8")
    return path


@pytest.fixture
def app(build_info_path):
    """Create an app that reads the test build-info file."""
    return create_app({"TESTING": True, "BUILD_INFO_PATH": str(build_info_path)})


@pytest.fixture
def client(app):
    """Return a test client for app."""
    return app.test_client()


@pytest.fixture
def start_service(build_info_path):
    """Start real Waitress services on free loopback ports; kill leftovers after the test."""
    started: list[ServiceProcess] = []

    def start(*, wait_until_listening: bool = True, **env: str) -> ServiceProcess:
        service = ServiceProcess({"APP_BUILD_INFO": str(build_info_path), "APP_TESTING_SLOW_ROUTE": "1", **env})
        started.append(service)
        return service.wait_until_listening() if wait_until_listening else service

    yield start
    for service in started:
        service.kill()
