import pytest

from bakery_launcher.settings import ServerSettings, SettingsError, server_settings_from_environ


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
