"""Run the service under Waitress: python3 -m bakery_service."""

import logging
import os
import sys

from . import create_app
from .facts import EXTENSION_KEY
from .server import serve
from .settings import SettingsError, server_settings_from_environ

log = logging.getLogger("bakery_service")


def configure_logging() -> None:
    """Send all logs to stdout, one line each, where journald collects them."""
    # No timestamps: journald stamps every line. StreamHandler flushes each
    # record, so lines arrive promptly even though stdout is a pipe.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def main() -> int:
    """Validate the settings, build the app and serve it until stopped."""
    configure_logging()
    try:
        settings = server_settings_from_environ(os.environ)
    except SettingsError as error:
        log.error("%s", error)
        return 2
    app = create_app()
    build = app.extensions[EXTENSION_KEY].build
    log.info(
        "starting %s %s (fingerprint %s, environment %s)",
        build.app,
        build.version,
        build.fingerprint,
        build.environment,
    )
    serve(app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
