import logging
import re

import pytest

LINE = re.compile(r"^method=(\S+) path=(\S+) status=(\d{3}) duration_ms=(\d+\.\d\d) client=(\S+)$")


@pytest.fixture
def access_lines(caplog):
    """Return a function listing the access-log messages captured so far."""
    caplog.set_level(logging.INFO, logger="bakery_service.access")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "bakery_service.access"]


def test_one_line_per_request_with_method_path_status_duration(client, access_lines):
    client.get("/health")
    client.post("/health")
    lines = access_lines()
    assert len(lines) == 2
    first, second = (LINE.match(line) for line in lines)
    assert first is not None and first.group(1, 2, 3) == ("GET", "/health", "200")
    assert second is not None and second.group(1, 2, 3) == ("POST", "/health", "405")
    assert float(first.group(4)) >= 0


def test_client_is_the_address_waitress_forwarded(client, access_lines):
    # Waitress rewrites REMOTE_ADDR from the trusted X-Forwarded-For hop.
    client.get("/api/info", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    match = LINE.match(access_lines()[0])
    assert match is not None and match.group(5) == "203.0.113.9"


def test_paths_cannot_inject_log_lines(client, access_lines):
    client.get("/x%0Aforged=1%20status=200")
    [line] = access_lines()
    assert "\n" not in line
    assert "path=/x%0Aforged=1%20status=200 status=404 " in line


def test_unknown_paths_are_logged_too(client, access_lines):
    client.get("/missing")
    match = LINE.match(access_lines()[0])
    assert match is not None and match.group(3) == "404"
