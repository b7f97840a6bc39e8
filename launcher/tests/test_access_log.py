import logging
import re

import pytest

from bakery_launcher.access_log import WsgiAccessLog

LINE = re.compile(r"^method=(\S+) path=(\S+) status=(\d{3}) duration_ms=(\d+\.\d\d) client=(\S+)$")


def app(environ, start_response):
    """Answer /missing with 404 and anything else with 200."""
    status = "404 Not Found" if environ["PATH_INFO"] == "/missing" else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.fixture
def access_lines(caplog):
    """Return a function listing the access-log messages captured so far."""
    caplog.set_level(logging.INFO, logger="bakery.access")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "bakery.access"]


def request(path, method="GET", remote_addr="198.51.100.1"):
    """Run one request through the logged app, as a WSGI server would (closing the body)."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "REMOTE_ADDR": remote_addr}
    body = WsgiAccessLog(app)(environ, lambda status, headers, exc_info=None: None)
    chunks = b"".join(body)
    body.close()
    return chunks


def test_one_line_per_request_with_method_path_status_duration(access_lines):
    request("/health")
    request("/missing", method="POST")
    first, second = (LINE.match(line) for line in access_lines())
    assert first is not None and first.group(1, 2, 3) == ("GET", "/health", "200")
    assert second is not None and second.group(1, 2, 3) == ("POST", "/missing", "404")
    assert float(first.group(4)) >= 0


def test_client_is_the_address_the_server_forwarded(access_lines):
    request("/api/info", remote_addr="203.0.113.9")
    match = LINE.match(access_lines()[0])
    assert match is not None and match.group(5) == "203.0.113.9"


def test_paths_cannot_inject_log_lines(access_lines):
    # Waitress hands the decoded path over, newline included.
    request("/x\nforged=1 status=200")
    [line] = access_lines()
    assert "\n" not in line
    assert "path=/x%0Aforged=1%20status=200 status=200 " in line


def test_the_body_is_passed_through_unchanged():
    assert request("/") == b"ok"
