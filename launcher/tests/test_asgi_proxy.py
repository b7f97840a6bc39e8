import asyncio

from bakery_launcher.asgi import LastHopProxyHeaders


def client_seen(headers, peer=("10.0.0.2", 5000)):
    """Run one request scope through the middleware; return the client and scheme the app saw."""
    seen = {}

    async def app(scope, receive, send):
        seen.update(client=scope["client"], scheme=scope["scheme"])

    scope = {"type": "http", "client": peer, "scheme": "http", "headers": headers}
    asyncio.run(LastHopProxyHeaders(app)(scope, None, None))
    return seen["client"], seen["scheme"]


def test_the_client_is_the_hop_the_balancer_appended_not_what_the_client_wrote():
    assert client_seen([(b"x-forwarded-for", b"203.0.113.9, 198.51.100.7")]) == (("198.51.100.7", 0), "http")


def test_https_at_the_balancer_is_the_scheme():
    assert client_seen([(b"x-forwarded-proto", b"https")])[1] == "https"


def test_without_headers_the_peer_stays():
    assert client_seen([]) == (("10.0.0.2", 5000), "http")
