"""WSGI apps on Waitress, tuned for life behind a load balancer, with a graceful stop."""

from __future__ import annotations

import logging

from waitress.adjustments import Adjustments

from .graceful import DrainableServer, StopSignals, finish_in_flight, serve_until_stopped
from .settings import ServerSettings

log = logging.getLogger(__name__)

# The load balancer closes idle connections after 60 s (ALB default, HAProxy
# "timeout server" in docker/). Waitress must outlast it, or it may close a
# connection just as the balancer sends a request on it, which shows as a 502.
CHANNEL_TIMEOUT_S = 75
MAX_REQUEST_BODY_BYTES = 1024 * 1024
MAX_REQUEST_HEADER_BYTES = 64 * 1024


def waitress_adjustments(settings: ServerSettings) -> Adjustments:
    """Return the Waitress settings for serving behind one load balancer."""
    return Adjustments(
        host=settings.host,
        port=settings.port,
        ipv4=True,
        ipv6=False,
        threads=settings.threads,
        connection_limit=settings.connection_limit,
        # Any peer may set forwarding headers: acceptable ONLY because the
        # security group (or the private Docker network) lets nothing but the
        # load balancer reach this port. With a count of 1, Waitress takes the
        # last X-Forwarded-For hop, the one the balancer appended itself, so a
        # client cannot spoof its address by sending the header.
        trusted_proxy="*",
        trusted_proxy_count=1,
        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port"},
        clear_untrusted_proxy_headers=True,
        channel_timeout=CHANNEL_TIMEOUT_S,
        max_request_body_size=MAX_REQUEST_BODY_BYTES,
        max_request_header_size=MAX_REQUEST_HEADER_BYTES,
        expose_tracebacks=False,
        # An empty ident drops the Server header: no product or version to fingerprint.
        ident="",
        # poll() has no 1024-descriptor ceiling, unlike select().
        asyncore_use_poll=True,
    )


def serve(app, settings: ServerSettings) -> None:
    """Serve app until SIGTERM or SIGINT, then drain in-flight requests and return."""
    socket_map: dict = {}
    # Handlers go in before the listener exists: once "listening on" is logged,
    # a SIGTERM must drain, never kill the process with Python's default action.
    with StopSignals(socket_map) as stop:
        server = DrainableServer(app, waitress_adjustments(settings), socket_map)
        # Tests and the benchmark wait for this line and read the port from it.
        log.info("listening on http://%s:%s", server.effective_host, server.effective_port)
        serve_until_stopped(server, stop)
        server.stop_listening()
        # Logged only once the listener is closed: tests rely on the order.
        log.info(
            "%s received: stopped listening, waiting up to %gs for %d connection(s)",
            stop.received,
            settings.shutdown_timeout_s,
            len(server.active_channels),
        )
        cut = finish_in_flight(server, settings.shutdown_timeout_s)

    if cut:
        log.warning("shutdown timeout reached: closed %d connection(s) with requests in flight", cut)
    else:
        log.info("all requests finished; stopped")
