"""The one gunicorn configuration of every Seaway service, in every mode (local, kind, EKS).

Run as ``SEAWAY_SERVICE=catalog gunicorn --config python:seaway.gunicorn_conf``: the service's
declaration (:mod:`seaway.service`) names the WSGI app, and the kit's settings (:mod:`seaway.config`)
give bind, workers, threads and timeouts. Configuration is validated here, in the master, before any
worker starts: a bad value ends the process with one line on stderr and exit status 2.

Shutdown: on SIGTERM the master marks the runtime folder as draining, so every worker's ``/readyz`` turns
503 at once, keeps serving for ``DRAIN_SECONDS``, then stops gracefully: listeners close, in-flight requests get
``GRACEFUL_TIMEOUT`` to finish. A second SIGTERM skips the rest of the drain; SIGINT stops quickly.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading

# gunicorn reads every module-level name that matches a setting ("config" is one), so imports are private.
from seaway import config as _config
from seaway import health as _health
from seaway import lifecycle as _lifecycle
from seaway import logs as _logs
from seaway.service import current as _current
from seaway.service import load_object as _load_object


def _fail(message: str) -> None:
    print(f"seaway: {message}", file=sys.stderr)
    sys.exit(2)


try:
    _service = _current()
    _config.check(_config.KitSettings, *([_load_object(_service.settings)] if _service.settings else []))
    _kit = _config.load(_config.KitSettings)
except (_config.ConfigError, LookupError) as error:
    _fail(str(error))

wsgi_app = _service.app
proc_name = f"seaway-{_service.name}"
bind = [f"{_kit.host}:{_kit.port}"]
workers = _kit.workers
threads = _kit.worker_threads
worker_class = "gthread"
keepalive = _kit.keepalive_seconds
timeout = _kit.worker_timeout
graceful_timeout = _kit.graceful_timeout
# Worker heartbeats on tmpfs: a disk-backed /tmp can block workers on fchmod (gunicorn FAQ).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
accesslog = None  # the kit logs each request itself, as JSON, with route and request id
logconfig_dict = _logs.gunicorn_logconfig(_service.name, _kit.log_level)


def on_starting(server) -> None:
    """In the master, before forking: a private runtime folder that the workers inherit."""
    os.environ[_health.RUNTIME_DIR_ENV] = tempfile.mkdtemp(prefix=f"seaway-{_service.name}-")


def when_ready(server) -> None:
    """Replace the master's SIGTERM handling with drain-then-stop."""
    drain_timer: list[threading.Timer] = []

    def stop_now() -> None:
        server.signal(signal.SIGTERM, None)  # gunicorn's own graceful stop

    def on_sigterm(signum, frame) -> None:
        _health.start_draining()
        if drain_timer or _kit.drain_seconds == 0:
            stop_now()
            return
        server.log.info("draining for %ss before stopping", _kit.drain_seconds)
        timer = threading.Timer(_kit.drain_seconds, stop_now)
        timer.daemon = True
        drain_timer.append(timer)
        timer.start()

    signal.signal(signal.SIGTERM, on_sigterm)


def worker_exit(server, worker) -> None:
    """In the worker, after it stopped taking requests: stop consumers, flush what is buffered."""
    _lifecycle.shutdown()


def on_exit(server) -> None:
    shutil.rmtree(os.environ[_health.RUNTIME_DIR_ENV], ignore_errors=True)
