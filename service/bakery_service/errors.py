"""JSON bodies for every error, so no client ever sees an HTML page or a traceback."""

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException, InternalServerError


def error_body(status: int, message: str) -> dict[str, object]:
    """Return the error document shared by every error response."""
    return {"error": {"status": status, "message": message}}


def http_error_as_json(error: HTTPException):
    """Turn an HTTP error into JSON, keeping its status and headers such as Allow."""
    response = error.get_response()
    response.set_data(current_app.json.dumps(error_body(response.status_code, error.name)))
    response.mimetype = "application/json"
    return response


def internal_error_as_json(error: InternalServerError):
    """Answer an unhandled exception with a generic JSON 500; Flask has already logged it."""
    # The original exception may describe internals: never echo it to the client.
    return error_body(500, "Internal Server Error"), 500


def register_error_handlers(app: Flask) -> None:
    """Route all HTTP errors and unhandled exceptions to the JSON handlers."""
    app.register_error_handler(HTTPException, http_error_as_json)
    app.register_error_handler(InternalServerError, internal_error_as_json)
