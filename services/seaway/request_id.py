"""Each request's id: the caller's ``X-Request-ID`` when it is short and plain, else a new one.

:mod:`seaway.middleware` gives every request its id as the request begins (:func:`assign`), before Flask
sees it, and answers with it in ``X-Request-ID``; log lines, problem documents and calls to other services
find it with :func:`current`.
"""

from __future__ import annotations

import random
import re
from typing import Any

from flask import has_request_context, request

HEADER = "X-Request-ID"
ENVIRON_KEY = "seaway.request_id"
# A caller's request id is kept only if it is short and plain, so it cannot inject into logs or headers.
_PLAIN = re.compile(r"[A-Za-z0-9._:-]{1,128}").fullmatch


def assign(environ: dict[str, Any]) -> str:
    """The id of the request ``environ`` describes, kept in it for :func:`current`."""
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    # 128 random bits as 32 hex digits, like a uuid4's hex; an id to find a request by, not a secret, so the
    # random module's generator (reseeded in every forked worker) rather than a system call per request.
    environ[ENVIRON_KEY] = value = incoming if _PLAIN(incoming) else f"{random.getrandbits(128):032x}"
    return value


def current() -> str | None:
    """The id of the request being handled in this context; None outside a request."""
    return request.environ.get(ENVIRON_KEY) if has_request_context() else None
