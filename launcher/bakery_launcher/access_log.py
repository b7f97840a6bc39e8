"""One access-log line per request, for any WSGI or ASGI app, to stdout (the journal)."""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

log = logging.getLogger("bakery.access")

# Characters a path may keep unescaped in the log; everything else (spaces,
# control characters, newlines decoded from %0A) is percent-encoded so a
# client cannot forge extra log lines.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def format_line(method: str, path: bytes, status: int, duration_ms: float, client: str | None) -> str:
    """The line: method, escaped path, status, duration and the forwarded client address."""
    return "method=%s path=%s status=%d duration_ms=%.2f client=%s" % (
        quote(method, safe=""),
        quote(path, safe=_PATH_SAFE),
        status,
        duration_ms,
        client or "-",
    )


class WsgiAccessLog:
    """Wraps a WSGI app; logs each request once its response has been sent."""

    def __init__(self, app) -> None:
        """Serve app."""
        self.app = app

    def __call__(self, environ, start_response):
        """Call the app, remembering the status it starts the response with."""
        started = time.perf_counter()
        status = [500]

        def recording_start_response(status_line, headers, exc_info=None):
            status[0] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        # Waitress decodes PATH_INFO as latin-1 (PEP 3333): back to the bytes the client sent.
        path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1", "replace")

        def write_line() -> None:
            # REMOTE_ADDR is the client as forwarded by the load balancer: Waitress
            # has already replaced the peer with the trusted X-Forwarded-For hop.
            duration_ms = (time.perf_counter() - started) * 1000
            log.info(format_line(environ.get("REQUEST_METHOD", "-"), path, status[0], duration_ms, environ.get("REMOTE_ADDR")))

        try:
            body = self.app(environ, recording_start_response)
        except Exception:
            write_line()
            raise
        return _LoggedBody(body, write_line)


class _LoggedBody:
    """The app's response body; writes the access line when the server closes it."""

    def __init__(self, body, on_close) -> None:
        """Wrap body."""
        self.body = body
        self.on_close = on_close

    def __iter__(self):
        """Yield the app's chunks."""
        return iter(self.body)

    def close(self) -> None:
        """Close the app's body, then log (PEP 3333: the server always calls close)."""
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.on_close()


class AsgiAccessLog:
    """Wraps an ASGI app; logs each HTTP request when the app has finished it."""

    def __init__(self, app) -> None:
        """Serve app."""
        self.app = app

    async def __call__(self, scope, receive, send):
        """Pass lifespan and websocket scopes through; time HTTP ones."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def recording_send(message):
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            # scope["client"] was rewritten by Uvicorn's proxy-headers middleware from
            # the trusted X-Forwarded-For hop.
            client = scope.get("client")
            path = scope.get("raw_path") or scope.get("path", "").encode("utf-8")
            path = path.split(b"?", 1)[0]
            log.info(
                format_line(
                    scope.get("method", "-"),
                    path,
                    status[0],
                    (time.perf_counter() - started) * 1000,
                    client[0] if client else None,
                )
            )
