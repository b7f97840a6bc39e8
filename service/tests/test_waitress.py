"""The real server: Waitress settings and the graceful stop, over loopback."""

import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BUILD_INFO


def fetch(service, path, headers=None):
    """GET path on a fresh connection and return status, headers and body."""
    connection = service.connection()
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_health_answers_over_real_waitress(start_service):
    service = start_service()
    status, headers, body = fetch(service, "/health")
    assert (status, body) == (200, b'{"status":"ok"}\n')
    assert "Server" not in headers, "the Server header would reveal the server and its version"


def test_index_shows_the_fingerprint_over_real_waitress(start_service):
    status, _, body = fetch(start_service(), "/")
    assert status == 200
    assert BUILD_INFO["fingerprint"].encode() in body


def test_forwarded_headers_set_client_ip_and_https(start_service):
    service = start_service()
    # Only the last hop, the one the load balancer appended, is trusted.
    _, headers, _ = fetch(
        service,
        "/health",
        {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
    )
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    service.wait_for_line(r"method=GET path=/health status=200 duration_ms=\S+ client=203\.0\.113\.9$")


def test_plain_http_through_the_balancer_gets_no_hsts(start_service):
    _, headers, _ = fetch(start_service(), "/health", {"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in headers


def test_oversized_body_is_refused_before_reaching_the_app(start_service):
    service = start_service()
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as client:
        client.sendall(b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n")
        status_line = client.makefile("rb").readline()
    assert status_line.startswith(b"HTTP/1.1 413 ")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_without_traffic_exits_zero_at_once(start_service, signum):
    service = start_service()
    started = time.monotonic()
    service.signal(signum)
    assert service.wait(timeout_s=10) == 0
    assert time.monotonic() - started < 3
    assert "all requests finished; stopped" in service.output()


def test_sigterm_lets_an_in_flight_request_finish_and_refuses_new_connections(start_service):
    service = start_service(APP_SHUTDOWN_TIMEOUT="15")
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_flight = pool.submit(fetch, service, "/_test/slow?seconds=2")
        service.wait_for_line("slow request started")
        service.signal(signal.SIGTERM)
        service.wait_for_line("SIGTERM received: stopped listening")

        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", service.port), timeout=5).close()
        assert not in_flight.done(), "the slow request should still be running"

        status, headers, body = in_flight.result(timeout=15)
    assert status == 200
    assert body == b'{"status":"ok","slept_s":2.0}\n'
    # The balancer must not reuse a connection to an instance that is leaving.
    assert headers["Connection"] == "close"
    assert service.wait(timeout_s=10) == 0
    assert "all requests finished; stopped" in service.output()


def test_idle_keep_alive_connections_do_not_delay_the_stop(start_service):
    service = start_service(APP_SHUTDOWN_TIMEOUT="30")
    idle = service.connection()
    idle.request("GET", "/health")
    idle.getresponse().read()  # the connection stays open, idle, as a balancer's would

    started = time.monotonic()
    service.signal(signal.SIGTERM)
    assert service.wait(timeout_s=10) == 0
    assert time.monotonic() - started < 5
    assert idle.sock.recv(1) == b"", "the server should have closed the idle connection"
    idle.close()


def test_shutdown_timeout_bounds_a_request_that_runs_too_long(start_service):
    service = start_service(APP_SHUTDOWN_TIMEOUT="1")
    with ThreadPoolExecutor(max_workers=1) as pool:
        too_slow = pool.submit(fetch, service, "/_test/slow?seconds=20")
        service.wait_for_line("slow request started")
        started = time.monotonic()
        service.signal(signal.SIGTERM)
        assert service.wait(timeout_s=10) == 0
        assert time.monotonic() - started < 5
        with pytest.raises(ConnectionError):
            too_slow.result(timeout=10)
    assert "shutdown timeout reached: closed 1 connection(s) with requests in flight" in service.output()


def test_bad_setting_exits_2_naming_the_variable(start_service):
    service = start_service(wait_until_listening=False, APP_PORT="eighty")
    assert service.wait(timeout_s=10) == 2
    assert "APP_PORT='eighty' is not allowed" in service.output()
