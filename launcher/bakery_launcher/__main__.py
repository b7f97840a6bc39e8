"""Serve the user's app: python3 -m bakery_launcher --entrypoint module:attr --interface wsgi|asgi."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .entrypoint import INTERFACES, EntrypointError, check_interface, load_app, parse_entrypoint, resolve_target
from .health_host import AsgiHealthHost, WsgiHealthHost, health_host_from_environ
from .settings import SettingsError, server_settings_from_environ

log = logging.getLogger("bakery.launcher")

# Distinct exit codes: systemd's journal and the bake's smoke test tell them apart.
EXIT_SETTINGS = 2
EXIT_ENTRYPOINT = 3


def configure_logging() -> None:
    """Send all logs to stdout, one line each, where journald collects them."""
    # No timestamps: journald stamps every line. StreamHandler flushes each
    # record, so lines arrive promptly even though stdout is a pipe.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """Read --entrypoint, --interface and --check."""
    parser = argparse.ArgumentParser(prog="python3 -m bakery_launcher", description=__doc__)
    parser.add_argument("--entrypoint", required=True, help="module:attr, or module:factory() for an app factory")
    parser.add_argument("--interface", choices=INTERFACES, default="wsgi")
    parser.add_argument(
        "--check",
        action="store_true",
        help="only import the module and find the attribute (the bake runs this), then exit",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Validate the settings, load the app and serve it until stopped."""
    configure_logging()
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        settings = server_settings_from_environ(os.environ)
        health = health_host_from_environ(os.environ)
    except SettingsError as error:
        log.error("%s", error)
        return EXIT_SETTINGS
    try:
        entrypoint = parse_entrypoint(arguments.entrypoint)
        if arguments.check:
            # A factory is not called here: it may need runtime settings the bake has not.
            target = resolve_target(entrypoint)
            if not entrypoint.is_factory:
                check_interface(entrypoint, target, arguments.interface)
            log.info("entrypoint %s imports", entrypoint.text)
            return 0
        app = load_app(entrypoint, arguments.interface)
    except EntrypointError as error:
        log.error("%s", error)
        return EXIT_ENTRYPOINT

    log.info("starting %s (%s)", entrypoint.text, arguments.interface)
    if health is not None:
        log.info("the load balancer's health checks of %s reach the app with Host %s", health.path, health.public_host)
    if arguments.interface == "asgi":
        from .asgi import serve as serve_asgi

        serve_asgi(AsgiHealthHost(app, health) if health else app, settings)
    else:
        from .access_log import WsgiAccessLog
        from .wsgi import serve as serve_wsgi

        serve_wsgi(WsgiAccessLog(WsgiHealthHost(app, health) if health else app), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
