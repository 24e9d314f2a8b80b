"""Work to do when a worker process stops: stop consumers, flush buffers.

``on_shutdown(fn)`` registers a callable; gunicorn's ``worker_exit`` hook (in
:mod:`seaway.gunicorn_conf`) runs them, last registered first, after the worker has stopped taking
requests and before it exits. Without gunicorn (tests, scripts) call :func:`shutdown` yourself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("seaway.lifecycle")

# Per process, filled by create_app in each worker after the fork.
_hooks: list[Callable[[], None]] = []


def on_shutdown(hook: Callable[[], None]) -> None:
    _hooks.append(hook)


def shutdown() -> None:
    """Run every registered hook once; one failing does not stop the others."""
    while _hooks:
        hook = _hooks.pop()
        try:
            hook()
        except Exception:  # a failing hook is logged; the remaining hooks must still run
            log.exception("shutdown hook failed", extra={"hook": getattr(hook, "__qualname__", repr(hook))})
