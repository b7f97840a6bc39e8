import json
import socket

from bakery_service import create_app
from conftest import BUILD_INFO


def test_index_is_html_with_every_fact(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for key in ("app", "version", "environment", "fingerprint", "git_revision", "baked_at"):
        assert BUILD_INFO[key] in page
    assert socket.gethostname() in page
    assert "Uptime" in page


def test_index_shows_the_full_fingerprint_literally(client):
    # Deploy checks grep the page for the fingerprint after a rollout.
    page = client.get("/").get_data(as_text=True)
    assert f"<code>{BUILD_INFO['fingerprint']}</code>" in page


def test_index_escapes_build_info(tmp_path):
    path = tmp_path / "build-info.json"
    path.write_text(json.dumps({**BUILD_INFO, "app": "<script>alert(1)</script>"}), encoding="utf-8")
    page = create_app({"BUILD_INFO_PATH": str(path)}).test_client().get("/").get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
