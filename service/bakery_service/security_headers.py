"""Browser hardening headers added to every response."""

from flask import Flask, Response, request

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'",
    "Referrer-Policy": "no-referrer",
}
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def add_security_headers(response: Response) -> Response:
    """Set the hardening headers, and HSTS only on requests that arrived over HTTPS."""
    response.headers.update(SECURITY_HEADERS)
    # Waitress sets the scheme from X-Forwarded-Proto, trusted only from the load
    # balancer. HSTS sent over plain HTTP is ignored by browsers and would lie.
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return response


def register_security_headers(app: Flask) -> None:
    """Install the header hook on app."""
    app.after_request(add_security_headers)
