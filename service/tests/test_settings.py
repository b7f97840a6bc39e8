import pytest

from bakery_service.build_info import DEFAULT_BUILD_INFO_PATH
from bakery_service.facts import format_uptime
from bakery_service.settings import (
    ServerSettings,
    SettingsError,
    app_config_from_environ,
    server_settings_from_environ,
)


def test_defaults_listen_on_every_ipv4_address_port_8080():
    assert server_settings_from_environ({}) == ServerSettings(
        host="0.0.0.0", port=8080, threads=8, connection_limit=100, shutdown_timeout_s=20.0
    )


def test_every_variable_is_read():
    settings = server_settings_from_environ(
        {
            "APP_HOST": "127.0.0.1",
            "APP_PORT": "9000",
            "APP_THREADS": "4",
            "APP_CONNECTION_LIMIT": "50",
            "APP_SHUTDOWN_TIMEOUT": "2.5",
        }
    )
    assert settings == ServerSettings("127.0.0.1", 9000, 4, 50, 2.5)


def test_empty_values_mean_default():
    assert server_settings_from_environ({"APP_PORT": "", "APP_HOST": " "}) == ServerSettings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_HOST", "::"),
        ("APP_HOST", "localhost"),
        ("APP_PORT", "http"),
        ("APP_PORT", "65536"),
        ("APP_THREADS", "0"),
        ("APP_CONNECTION_LIMIT", "-1"),
        ("APP_SHUTDOWN_TIMEOUT", "soon"),
        ("APP_SHUTDOWN_TIMEOUT", "-1"),
    ],
)
def test_bad_values_are_named_in_the_error(name, value):
    with pytest.raises(SettingsError, match=f"^{name}={value!r} is not allowed: expected"):
        server_settings_from_environ({name: value})


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
