"""The drain machinery in-process, where the order of events can be forced."""

import socket
import threading

import pytest

from bakery_launcher.graceful import DrainableServer, finish_in_flight
from bakery_launcher.settings import ServerSettings
from bakery_launcher.wsgi import waitress_adjustments


def hello(environ, start_response):
    """Answer every request with a short text body."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


@pytest.fixture
def server():
    """Create a listening server whose event loop has not run yet."""
    server = DrainableServer(hello, waitress_adjustments(ServerSettings(host="127.0.0.1", port=0, threads=2)), {})
    yield server
    server.task_dispatcher.shutdown(timeout=1)
    server.trigger.close()


def test_connections_queued_before_the_stop_are_served_not_reset(server):
    # The loop never ran, so only the kernel has this connection: it is in the
    # listen backlog, with its request already sent.
    client = socket.create_connection(("127.0.0.1", server.effective_port), timeout=5)
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

    server.stop_listening()
    finishing = threading.Thread(target=finish_in_flight, args=(server, 5))
    finishing.start()
    response = client.makefile("rb").read()
    finishing.join(timeout=10)
    client.close()

    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in response
    assert response.endswith(b"hello")


def test_no_connection_is_accepted_after_the_stop(server):
    server.stop_listening()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.effective_port), timeout=5).close()
    assert finish_in_flight(server, 1) == 0
