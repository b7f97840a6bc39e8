import platform
import socket
from importlib.metadata import version

from conftest import BUILD_INFO


def test_info_returns_build_facts_host_uptime_and_versions(client):
    response = client.get("/api/info")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    info = response.get_json()
    assert {key: info[key] for key in BUILD_INFO} == BUILD_INFO
    assert info["hostname"] == socket.gethostname()
    assert isinstance(info["uptime_s"], int) and info["uptime_s"] >= 0
    assert info["python"] == platform.python_version()
    assert info["flask"] == version("flask")


def test_info_returns_exactly_the_contract_keys(client):
    info = client.get("/api/info").get_json()
    assert set(info) == {*BUILD_INFO, "hostname", "uptime_s", "python", "flask"}


def test_info_rejects_delete_with_405_json(client):
    response = client.delete("/api/info")
    assert response.status_code == 405
    assert response.get_json() == {"error": {"status": 405, "message": "Method Not Allowed"}}
