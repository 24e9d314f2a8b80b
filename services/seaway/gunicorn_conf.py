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

import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
from importlib import import_module

# Multiprocess metrics: prometheus_client picks its value class when first imported, so the folder must be
# in the environment before anything imports it (``import seaway`` does not; seaway.metrics does). Pods get
# it from the chart; anywhere else the master makes a private one that its workers inherit. A given folder
# is emptied here, in the master, before this process opens a metric file of its own: an emptyDir survives
# container restarts and pids repeat, so old files would be counted again (on_starting would be too late,
# the metrics imported below have opened the master's files by then).
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if "prometheus_client" in sys.modules:
    if _OWN_METRICS_DIR:
        print("seaway: prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set", file=sys.stderr)
        sys.exit(2)
elif _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="seaway-metrics-")
else:
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    for _entry in os.scandir(os.environ["PROMETHEUS_MULTIPROC_DIR"]):
        if _entry.is_dir(follow_symlinks=False):
            shutil.rmtree(_entry.path, ignore_errors=True)
        else:
            os.unlink(_entry.path)

# gunicorn reads every module-level name that matches a setting ("config" is one), so imports are private.
from seaway import aws as _aws  # noqa: E402
from seaway import cloudwatch as _cloudwatch  # noqa: E402
from seaway import config as _config  # noqa: E402
from seaway import health as _health  # noqa: E402
from seaway import lifecycle as _lifecycle  # noqa: E402
from seaway import logs as _logs  # noqa: E402
from seaway import metrics as _metrics  # noqa: E402
from seaway import tracing as _tracing  # noqa: E402
from seaway.service import current as _current  # noqa: E402
from seaway.service import load_object as _load_object  # noqa: E402


def _fail(message: str) -> None:
    print(f"seaway: {message}", file=sys.stderr)
    sys.exit(2)


try:
    _service = _current()
    _config.check(
        _config.KitSettings,
        _cloudwatch.CloudWatchSettings,
        *([_load_object(_service.settings)] if _service.settings else []),
    )
    _kit = _config.load(_config.KitSettings)
except (_config.ConfigError, LookupError) as error:
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    _fail(str(error))

wsgi_app = _service.app
proc_name = f"seaway-{_service.name}"
bind = [f"{_kit.host}:{_kit.port}"]
workers = _kit.workers
threads = _kit.worker_threads
# gthread, with request heads read under a deadline by the event loop and accept taken only with a free thread
# (seaway.worker). One listening socket, shared by the workers: with a SO_REUSEPORT socket per worker, the
# connections waiting in a stopping worker's accept queue were reset with it (lost requests at every
# SIGTERM, recycling or reload); on a shared socket they stay for the other workers.
worker_class = "seaway.worker.SeawayWorker"
reuse_port = False
keepalive = _kit.keepalive_seconds
timeout = _kit.worker_timeout
graceful_timeout = _kit.graceful_timeout
max_requests = _kit.max_requests
max_requests_jitter = _kit.max_requests_jitter
# Worker heartbeats on tmpfs: a disk-backed /tmp can block workers on fchmod (gunicorn FAQ).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
accesslog = None  # the kit logs each request itself, as JSON, with route and request id
logger_class = _logs.GunicornLogger
logconfig_dict = _logs.gunicorn_logconfig(_service.name, _kit.log_level)


def on_starting(server) -> None:
    """In the master, before forking: a private runtime folder that the workers inherit, and this master's
    control socket in it (gunicorn's default, ~/.gunicorn/gunicorn.ctl, is one path for every master); what
    every worker would otherwise load for itself (:func:`_preload`)."""
    os.environ[_health.RUNTIME_DIR_ENV] = tempfile.mkdtemp(prefix=f"seaway-{_service.name}-")
    server.cfg.set("control_socket", os.path.join(os.environ[_health.RUNTIME_DIR_ENV], "gunicorn.ctl"))
    if not server.cfg.reload:  # with --reload (the dev image) a worker must import the code anew
        _preload()


# The kit's runtime modules a service's app imports (Flask, jsonschema, requests, botocore, PyYAML with them).
_RUNTIME_MODULES = ("seaway.app", "seaway.openapi", "seaway.client", "seaway.events", "seaway.errors")


def _preload() -> None:
    """Import the heavy modules and load the AWS models the service uses, once, in the master: the workers
    forked from it share those pages instead of each building its own copy. The app itself is still made in
    each worker (``wsgi_app``), tracing started after the fork (:func:`post_fork`), and every AWS client and
    connection made by the worker that uses it (:func:`seaway.aws.preload` drops the ones it loads with)."""
    for name in _RUNTIME_MODULES:
        import_module(name)
    if _service.redis:
        import_module("redis")
    if _tracing.exporter_configured():
        import_module("seaway.otlp")
    _aws.preload(_aws.services_of(_service.resources))


def pre_fork(server, worker) -> None:
    """Just before a worker forks: the master's objects move out of the collector's reach, so the worker's
    garbage collections do not write to (and so copy) the pages it shares with the master (Python's gc.freeze
    documentation recommends this for pre-fork servers)."""
    gc.freeze()


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
    _cloudwatch.start_publisher(_service.name)  # one per pod, reading the files every worker writes


def post_fork(server, worker) -> None:
    """In each new worker, before it loads the app: tracing (exporter threads do not survive a fork)."""
    _tracing.start(_service.name)


def child_exit(server, worker) -> None:
    """In the master, after a worker exited (or was killed): its live gauges stop counting."""
    _metrics.worker_died(worker.pid)


def worker_exit(server, worker) -> None:
    """In the worker, after it stopped taking requests: stop consumers, flush what is buffered."""
    _lifecycle.shutdown()


def on_exit(server) -> None:
    _cloudwatch.stop_publisher()  # the workers are gone: send the last interval
    shutil.rmtree(os.environ[_health.RUNTIME_DIR_ENV], ignore_errors=True)
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
