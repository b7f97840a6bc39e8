"""The human-readable page that shows which image is serving."""

from flask import Blueprint, render_template

from .facts import current_facts, describe, format_uptime

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """Render the build facts of this instance as an HTML page."""
    facts = current_facts()
    return render_template("index.html", facts=describe(facts), uptime=format_uptime(facts.uptime_s()))
