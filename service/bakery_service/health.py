"""The load balancer's health check."""

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    """Answer that the process serves requests; depends on nothing else on purpose."""
    # Flask answers HEAD for every GET route, which some checkers prefer.
    return {"status": "ok"}
