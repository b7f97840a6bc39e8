import json
import logging

import pytest

from bakery_service import create_app
from bakery_service.build_info import BuildInfo, load_build_info
from conftest import BUILD_INFO


@pytest.fixture
def warnings_logged(caplog):
    """Return a function listing the build-info warnings captured so far."""
    caplog.set_level(logging.WARNING, logger="bakery_service.build_info")
    return lambda: [r for r in caplog.records if r.levelno == logging.WARNING]


def test_reads_every_key(build_info_path, warnings_logged):
    assert load_build_info(build_info_path).as_dict() == BUILD_INFO
    assert warnings_logged() == []


def test_missing_file_falls_back_to_dev_with_one_warning(tmp_path, warnings_logged):
    info = load_build_info(tmp_path / "absent.json")
    assert info == BuildInfo()
    assert (info.version, info.fingerprint) == ("dev", "unknown")
    assert len(warnings_logged()) == 1


def test_invalid_json_falls_back_with_one_warning(tmp_path, warnings_logged):
    path = tmp_path / "build-info.json"
    path.write_text("{not json", encoding="utf-8")
    assert load_build_info(path) == BuildInfo()
    assert len(warnings_logged()) == 1


def test_non_object_falls_back_with_one_warning(tmp_path, warnings_logged):
    path = tmp_path / "build-info.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert load_build_info(path) == BuildInfo()
    assert len(warnings_logged()) == 1


def test_missing_or_non_string_keys_fall_back_one_by_one(tmp_path, warnings_logged):
    path = tmp_path / "build-info.json"
    path.write_text(json.dumps({"version": "2.0.0", "fingerprint": 42}), encoding="utf-8")
    info = load_build_info(path)
    assert info.version == "2.0.0"
    assert info.fingerprint == "unknown"
    [warning] = warnings_logged()
    assert "fingerprint" in warning.getMessage()


def test_app_without_build_info_serves_dev_facts(tmp_path):
    client = create_app({"BUILD_INFO_PATH": str(tmp_path / "absent.json")}).test_client()
    info = client.get("/api/info").get_json()
    assert (info["version"], info["fingerprint"]) == ("dev", "unknown")
    assert "unknown" in client.get("/").get_data(as_text=True)
