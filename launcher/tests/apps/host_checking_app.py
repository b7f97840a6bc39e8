"""A WSGI app that validates Host as Django's ALLOWED_HOSTS does: 400 for any other host."""

ALLOWED_HOSTS = {"shop.example.com"}


def app(environ, start_response):
    """Answer 200 with the Host the app saw when it is allowed, else 400 like Django's DisallowedHost."""
    host = environ.get("HTTP_HOST", "").split(":", 1)[0]
    if host not in ALLOWED_HOSTS:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [f"DisallowedHost: {environ.get('HTTP_HOST')}".encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"host={environ['HTTP_HOST']} path={environ['PATH_INFO']}".encode()]
