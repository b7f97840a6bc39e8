import re
import subprocess
import sys
from pathlib import Path

import pytest

from bakery_launcher.entrypoint import EntrypointError, load_app, parse_entrypoint, resolve_target

APPS = Path(__file__).resolve().parent / "apps"
LAUNCHER = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def importable_apps(monkeypatch):
    """Make the test apps importable, as the image's PYTHONPATH makes the user's app."""
    monkeypatch.syspath_prepend(str(APPS))


@pytest.mark.parametrize("text", ["shop", "shop:", ":app", "shop:create(x)", "shop/wsgi:app", "shop:app()()"])
def test_an_entrypoint_that_is_not_module_attr_is_refused_naming_it(text):
    with pytest.raises(EntrypointError, match=re.escape(f"entrypoint {text!r} is not allowed: expected module:attribute")):
        parse_entrypoint(text)


def test_module_attr_and_factories_are_parsed():
    assert parse_entrypoint("shop.wsgi:application").is_factory is False
    factory = parse_entrypoint("shop:create_app()")
    assert (factory.module, factory.attr, factory.is_factory) == ("shop", "create_app", True)


def test_a_factory_is_called_and_an_attribute_is_not():
    assert load_app(parse_entrypoint("tiny_apps:create_app()"), "wsgi").__name__ == "wsgi_app"
    assert load_app(parse_entrypoint("tiny_apps:wsgi_app"), "wsgi").__name__ == "wsgi_app"


def test_an_import_error_names_the_module_and_the_error():
    with pytest.raises(EntrypointError) as caught:
        resolve_target(parse_entrypoint("broken_app:app"))
    message = str(caught.value)
    assert message.startswith("entrypoint broken_app:app: cannot import module broken_app: ModuleNotFoundError:")
    assert "not_installed_anywhere" in message


def test_a_missing_attribute_or_a_value_that_is_not_callable_is_named():
    with pytest.raises(EntrypointError, match="module tiny_apps has no attribute nothing"):
        resolve_target(parse_entrypoint("tiny_apps:nothing"))
    with pytest.raises(EntrypointError, match="not_callable is not callable"):
        resolve_target(parse_entrypoint("tiny_apps:not_callable"))


def test_an_asgi_app_served_as_wsgi_says_which_setting_to_change():
    with pytest.raises(EntrypointError, match="is an ASGI app .* set service.interface: asgi"):
        load_app(parse_entrypoint("tiny_apps:asgi_app"), "wsgi")
    with pytest.raises(EntrypointError, match="is not an ASGI app .* set service.interface: wsgi"):
        load_app(parse_entrypoint("tiny_apps:wsgi_app"), "asgi")


def launch(*arguments):
    """Run python3 -m bakery_launcher as the unit does; return its exit status and output."""
    result = subprocess.run(
        [sys.executable, "-m", "bakery_launcher", *arguments],
        env={"PYTHONPATH": f"{LAUNCHER}:{APPS}", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode, result.stdout + result.stderr


def test_the_check_the_bake_runs_exits_3_naming_the_module_and_the_import_error():
    status, output = launch("--entrypoint", "broken_app:app", "--check")
    assert status == 3
    assert "cannot import module broken_app: ModuleNotFoundError: No module named 'not_installed_anywhere'" in output


def test_the_check_passes_for_an_importable_app_without_calling_its_factory():
    assert launch("--entrypoint", "tiny_apps:create_app()", "--check") == (0, "INFO bakery.launcher: entrypoint tiny_apps:create_app() imports\n")


def test_the_check_refuses_an_asgi_app_served_as_wsgi():
    status, output = launch("--entrypoint", "tiny_apps:asgi_app", "--interface", "wsgi", "--check")
    assert status == 3
    assert "is an ASGI app (an async callable) but service.interface is wsgi: set service.interface: asgi" in output
