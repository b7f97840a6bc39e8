"""One access-log line per request, written through the logging setup of the entry point."""

import logging
import time
from urllib.parse import quote

from flask import Flask, Response, g, request

log = logging.getLogger("bakery_service.access")

# Characters a path may keep unescaped in the log; everything else (spaces,
# control characters, newlines decoded from %0A) is percent-encoded so a
# client cannot forge extra log lines.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def start_timer() -> None:
    """Remember when the request reached the app."""
    g.access_log_started = time.perf_counter()


def log_request(response: Response) -> Response:
    """Log method, path, status, duration and the forwarded client address."""
    started = g.get("access_log_started", time.perf_counter())
    duration_ms = (time.perf_counter() - started) * 1000
    # remote_addr is the client as forwarded by the load balancer: Waitress has
    # already replaced the peer address with the trusted X-Forwarded-For hop.
    log.info(
        "method=%s path=%s status=%d duration_ms=%.2f client=%s",
        request.method,
        quote(request.path, safe=_PATH_SAFE),
        response.status_code,
        duration_ms,
        request.remote_addr or "-",
    )
    return response


def register_access_log(app: Flask) -> None:
    """Install the timing and logging hooks on app."""
    app.before_request(start_timer)
    app.after_request(log_request)
