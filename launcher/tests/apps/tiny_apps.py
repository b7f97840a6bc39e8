"""Minimal WSGI and ASGI callables for the entrypoint tests."""


def wsgi_app(environ, start_response):
    """Answer everything with 200."""
    start_response("200 OK", [])
    return [b"ok"]


async def asgi_app(scope, receive, send):
    """An ASGI callable."""


def create_app():
    """An app factory."""
    return wsgi_app


not_callable = 42
