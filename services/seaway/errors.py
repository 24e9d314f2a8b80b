"""Errors as ``application/problem+json`` (RFC 9457), in one place.

Handlers raise :class:`Problem` (or let Werkzeug raise its HTTP exceptions); :func:`install` turns every
4xx and 5xx, including 404, 405, 413 and unexpected exceptions, into a problem document. A client never
sees a stack trace: a 500 says only that something failed and which request id to quote.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from seaway import request_id

log = logging.getLogger("seaway.errors")

PROBLEM_JSON = "application/problem+json"

# AWS answers that mean "try again later", not "your request is wrong".
_AWS_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalFailure",
    }
)


class Problem(Exception):
    """An error to answer with: status, a short title, a detail for this occurrence, extra members."""

    def __init__(
        self, status: int, title: str, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}  # e.g. Retry-After on a 429 or 503
        self.extra = extra


def problem_response(
    status: int, title: str, detail: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    current_id = request_id.current()
    if current_id is not None:
        body["request_id"] = current_id
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


def install(app: Flask) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.errorhandler(Problem)
    def _problem(error: Problem) -> Response:
        return problem_response(error.status, error.title, error.detail, error.headers, **error.extra)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        headers = {}
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return problem_response(error.code or 500, error.name, error.description, headers)

    @app.errorhandler(BotoCoreError)
    def _aws_unreachable(error: BotoCoreError) -> Response:
        log.warning("AWS call failed", extra={"reason": str(error)})
        return problem_response(
            503, "Service Unavailable", "a storage service did not answer; try again", {"Retry-After": "1"}
        )

    @app.errorhandler(ClientError)
    def _aws_refused(error: ClientError) -> Response:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _AWS_RETRYABLE:
            log.warning("AWS call throttled or failed", extra={"aws_error": code})
            return problem_response(
                503, "Service Unavailable", "a storage service is busy; try again", {"Retry-After": "1"}
            )
        return _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.error("unhandled error", exc_info=error)
        return problem_response(500, "Internal Server Error", "The request failed; quote its request id.")
