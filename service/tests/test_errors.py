import pytest

from bakery_service import create_app


def test_unknown_path_is_404_json(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json() == {"error": {"status": 404, "message": "Not Found"}}


def test_wrong_method_is_405_json_with_allow(client):
    response = client.put("/")
    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert response.get_json() == {"error": {"status": 405, "message": "Method Not Allowed"}}
    assert "GET" in response.headers["Allow"]


@pytest.fixture
def failing_client(build_info_path):
    """Return a client for an app with a route that raises, handled as in production."""
    app = create_app({"BUILD_INFO_PATH": str(build_info_path), "PROPAGATE_EXCEPTIONS": False})

    def explode():
        raise RuntimeError("database password is hunter2")

    app.add_url_rule("/explode", view_func=explode)
    return app.test_client()


def test_unhandled_exception_is_500_json_without_details(failing_client):
    response = failing_client.get("/explode")
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert response.get_json() == {"error": {"status": 500, "message": "Internal Server Error"}}
    assert b"hunter2" not in response.data
    assert b"Traceback" not in response.data


def test_500_response_still_has_security_headers(failing_client):
    response = failing_client.get("/explode")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_slow_test_route_is_absent_by_default(build_info_path):
    client = create_app({"BUILD_INFO_PATH": str(build_info_path)}).test_client()
    assert client.get("/_test/slow?seconds=0").status_code == 404


def test_slow_test_route_exists_only_when_enabled(build_info_path):
    app = create_app({"BUILD_INFO_PATH": str(build_info_path), "TESTING_SLOW_ROUTE": True})
    response = app.test_client().get("/_test/slow?seconds=0")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "slept_s": 0.0}
