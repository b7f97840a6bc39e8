def test_health_answers_ok_as_json(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "ok"}


def test_health_answers_head_without_a_body(client):
    response = client.head("/health")
    assert response.status_code == 200
    assert response.data == b""


def test_health_does_not_redirect_a_trailing_slash(client):
    response = client.get("/health/")
    assert response.status_code == 404


def test_health_rejects_post_with_405_json(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
