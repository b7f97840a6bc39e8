import pytest

ROUTES = ["/", "/health", "/api/info", "/missing"]


@pytest.mark.parametrize("path", ROUTES)
def test_every_response_has_hardening_headers(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ROUTES)
def test_plain_http_gets_no_hsts(client, path):
    assert "Strict-Transport-Security" not in client.get(path).headers


@pytest.mark.parametrize("path", ROUTES)
def test_https_gets_hsts(client, path):
    # Waitress turns a trusted X-Forwarded-Proto: https into this scheme.
    response = client.get(path, base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
