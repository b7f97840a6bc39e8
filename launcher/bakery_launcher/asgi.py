"""ASGI apps on Uvicorn (Debian's python3-uvicorn), set up like the WSGI server."""

from __future__ import annotations

import logging

from .access_log import AsgiAccessLog
from .settings import ServerSettings

log = logging.getLogger(__name__)

# Outlasts the load balancer's 60 s idle timeout, as Waitress's channel timeout does.
KEEP_ALIVE_S = 75


class LastHopProxyHeaders:
    """Takes the client and scheme from the hop the load balancer appended, as Waitress does.

    Uvicorn's own proxy-headers middleware, told to trust every peer, takes the FIRST
    X-Forwarded-For entry, which the client writes itself. Trusting any peer is
    acceptable ONLY because the security group (or the private Docker network) lets
    nothing but the load balancer reach this port; taking the last hop means a client
    cannot choose its address by sending the header.
    """

    def __init__(self, app) -> None:
        """Serve app."""
        self.app = app

    async def __call__(self, scope, receive, send):
        """Rewrite scope["client"] and scope["scheme"] from the balancer's headers."""
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope["headers"])
            forwarded_for = headers.get(b"x-forwarded-for")
            if forwarded_for:
                last_hop = forwarded_for.decode("latin-1").split(",")[-1].strip()
                if last_hop:
                    scope = {**scope, "client": (last_hop, 0)}
            proto = headers.get(b"x-forwarded-proto")
            if proto:
                scheme = proto.decode("latin-1").split(",")[-1].strip().lower()
                if scheme in ("http", "https"):
                    if scope["type"] == "websocket":
                        scheme = "wss" if scheme == "https" else "ws"
                    scope = {**scope, "scheme": scheme}
        await self.app(scope, receive, send)


def serve(app, settings: ServerSettings) -> None:
    """Serve app until SIGTERM or SIGINT; Uvicorn then stops accepting and lets in-flight requests finish."""
    import uvicorn  # only ASGI images carry Uvicorn

    config = uvicorn.Config(
        LastHopProxyHeaders(AsgiAccessLog(app)),
        host=settings.host,
        port=settings.port,
        proxy_headers=False,
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
