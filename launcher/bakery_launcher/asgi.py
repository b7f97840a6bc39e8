"""ASGI apps on Uvicorn (Debian's python3-uvicorn), set up like the WSGI server."""

from __future__ import annotations

import logging

from .access_log import AsgiAccessLog
from .settings import ServerSettings

log = logging.getLogger(__name__)

# Outlasts the load balancer's 60 s idle timeout, as Waitress's channel timeout does.
KEEP_ALIVE_S = 75


def serve(app, settings: ServerSettings) -> None:
    """Serve app until SIGTERM or SIGINT; Uvicorn then stops accepting and lets in-flight requests finish."""
    import uvicorn  # only ASGI images carry Uvicorn

    config = uvicorn.Config(
        AsgiAccessLog(app),
        host=settings.host,
        port=settings.port,
        # Any peer may set forwarding headers: acceptable ONLY because the security
        # group (or the private Docker network) lets nothing but the load balancer
        # reach this port. Uvicorn takes the last X-Forwarded-For hop, the one the
        # balancer appended, so a client cannot spoof its address.
        proxy_headers=True,
        forwarded_allow_ips="*",
        server_header=False,
        access_log=False,
        # Our logging setup (stdout, one line per record) stays in charge.
        log_config=None,
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=settings.connection_limit,
        lifespan="auto",
    )
    log.info("listening on http://%s:%s", settings.host, settings.port)
    uvicorn.Server(config).run()
    log.info("all requests finished; stopped")
