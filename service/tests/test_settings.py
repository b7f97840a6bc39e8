import pytest

from bakery_service.build_info import DEFAULT_BUILD_INFO_PATH
from bakery_service.facts import format_uptime
from bakery_service.settings import app_config_from_environ


def test_app_config_defaults_to_the_baked_build_info_and_no_slow_route():
    assert app_config_from_environ({}) == {"BUILD_INFO_PATH": DEFAULT_BUILD_INFO_PATH, "TESTING_SLOW_ROUTE": False}


def test_app_config_reads_build_info_path_and_slow_route_flag():
    config = app_config_from_environ({"APP_BUILD_INFO": "/tmp/b.json", "APP_TESTING_SLOW_ROUTE": "1"})
    assert config == {"BUILD_INFO_PATH": "/tmp/b.json", "TESTING_SLOW_ROUTE": True}


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59, "59s"), (61, "1m 1s"), (3600, "1h 0m 0s"), (90061, "1d 1h 1m 1s")]
)
def test_uptime_reads_as_a_short_duration(seconds, text):
    assert format_uptime(seconds) == text
