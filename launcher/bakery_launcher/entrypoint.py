"""Find the user's app from its entrypoint: module:attr, or module:factory() for a factory."""

from __future__ import annotations

import importlib
import inspect
import re
import traceback
from dataclasses import dataclass

ENTRYPOINT = re.compile(r"^(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<attr>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?P<call>\(\))?$")
INTERFACES = ("wsgi", "asgi")


class EntrypointError(Exception):
    """The entrypoint cannot give an app: bad form, import error, missing attribute, wrong interface."""


@dataclass(frozen=True)
class Entrypoint:
    """A parsed entrypoint."""

    text: str
    module: str
    attr: str
    is_factory: bool


def parse_entrypoint(text: str) -> Entrypoint:
    """Split module:attr or module:factory(); anything else is an error naming the value."""
    match = ENTRYPOINT.match(text)
    if not match:
        raise EntrypointError(
            f"entrypoint {text!r} is not allowed: expected module:attribute or module:factory(), such as shop.wsgi:application"
        )
    return Entrypoint(text, match["module"], match["attr"], match["call"] is not None)


def resolve_target(entrypoint: Entrypoint) -> object:
    """Import the module and return the attribute (the app, or the factory for module:factory())."""
    try:
        target: object = importlib.import_module(entrypoint.module)
    except Exception as error:  # noqa: BLE001 - any failure of the app's import is reported the same way
        raise EntrypointError(
            f"entrypoint {entrypoint.text}: cannot import module {entrypoint.module}: "
            f"{type(error).__name__}: {error}\n{_app_frames(error)}"
        ) from error
    for part in entrypoint.attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise EntrypointError(
                f"entrypoint {entrypoint.text}: module {entrypoint.module} has no attribute {entrypoint.attr}"
            ) from None
    if not callable(target):
        raise EntrypointError(f"entrypoint {entrypoint.text}: {entrypoint.attr} is not callable")
    return target


def load_app(entrypoint: Entrypoint, interface: str) -> object:
    """Return the app, calling the factory when the entrypoint names one, checked against interface."""
    target = resolve_target(entrypoint)
    if entrypoint.is_factory:
        try:
            target = target()  # type: ignore[operator]
        except Exception as error:  # noqa: BLE001
            raise EntrypointError(
                f"entrypoint {entrypoint.text}: the factory failed: {type(error).__name__}: {error}\n{_app_frames(error)}"
            ) from error
    check_interface(entrypoint, target, interface)
    return target


def is_asgi(app: object) -> bool:
    """Tell an ASGI app (an async callable) from a WSGI one."""
    call = getattr(app, "__call__", None)
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call)


def check_interface(entrypoint: Entrypoint, app: object, interface: str) -> None:
    """Refuse an ASGI app served as WSGI and the reverse, naming the setting to change."""
    if interface == "wsgi" and is_asgi(app):
        raise EntrypointError(
            f"entrypoint {entrypoint.text} is an ASGI app (an async callable) but service.interface is wsgi: "
            "set service.interface: asgi"
        )
    if interface == "asgi" and not is_asgi(app):
        raise EntrypointError(
            f"entrypoint {entrypoint.text} is not an ASGI app (not an async callable) but service.interface is asgi: "
            "set service.interface: wsgi"
        )


def _app_frames(error: BaseException, limit: int = 5) -> str:
    """The last frames of the traceback, where the app's own import failed."""
    frames = traceback.format_exception(type(error), error, error.__traceback__)
    return "".join(frames[-limit:]).rstrip()
