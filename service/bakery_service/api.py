"""Machine-readable facts about the running service."""

from flask import Blueprint

from .facts import current_facts, describe, runtime_versions

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/info")
def info():
    """Return build facts, hostname, uptime and runtime versions as JSON."""
    return {**describe(current_facts()), **runtime_versions()}
