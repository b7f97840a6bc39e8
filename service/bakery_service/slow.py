"""A deliberately slow route for shutdown tests; registered only when a test asks."""

import logging
import time

from flask import Blueprint, request

bp = Blueprint("slow", __name__, url_prefix="/_test")
log = logging.getLogger(__name__)

MAX_SLEEP_S = 30.0


@bp.get("/slow")
def slow():
    """Sleep for ?seconds= (capped) and answer, to act as an in-flight request."""
    seconds = min(max(request.args.get("seconds", 1.0, type=float), 0.0), MAX_SLEEP_S)
    # Tests wait for this line to know the request is in flight before they signal.
    log.info("slow request started, sleeping %.1fs", seconds)
    time.sleep(seconds)
    return {"status": "ok", "slept_s": seconds}
