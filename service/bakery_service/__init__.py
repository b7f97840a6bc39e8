"""The bakery demo: a plain Flask app factory, served by bakery's launcher like any other app."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask

from . import api, health, pages, slow
from .build_info import load_build_info
from .errors import register_error_handlers
from .facts import attach_facts
from .security_headers import register_security_headers
from .settings import app_config_from_environ


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Create the app from config, or from APP_* environment variables when config is None."""
    app = Flask(__name__)
    # Bodies are small JSON at most; Waitress enforces the same bound earlier.
    app.config.from_mapping(MAX_CONTENT_LENGTH=1024 * 1024)
    # Keep build-info keys in the order the bake wrote them.
    app.json.sort_keys = False
    # Tests pass config explicitly so the machine's environment cannot leak in.
    app.config.from_mapping(app_config_from_environ(os.environ if config is None else {}))
    if config is not None:
        app.config.from_mapping(config)

    attach_facts(app, load_build_info(app.config["BUILD_INFO_PATH"]))

    app.register_blueprint(pages.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    if app.config["TESTING_SLOW_ROUTE"]:
        app.register_blueprint(slow.bp)

    register_error_handlers(app)
    register_security_headers(app)
    return app
