"""gunicorn settings for the peer (:mod:`bench.peer_app`): bare Flask's settings, plus the hooks
prometheus-flask-exporter and OpenTelemetry document for gunicorn. ``PROMETHEUS_MULTIPROC_DIR`` must be an
empty folder in the environment before this module is imported (the bench makes one)."""

import os as _os

from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics as _Metrics

from bench.bare_gunicorn import (  # noqa: F401 (gunicorn reads these names)
    accesslog,
    bind,
    graceful_timeout,
    keepalive,
    threads,
    timeout,
    worker_class,
    worker_tmp_dir,
    workers,
)


def when_ready(server) -> None:
    _Metrics.start_http_server_when_ready(int(_os.environ["PEER_METRICS_PORT"]), "127.0.0.1")


def post_fork(server, worker) -> None:
    from bench.peer_app import start_tracing

    start_tracing()


def child_exit(server, worker) -> None:
    _Metrics.mark_process_dead_on_child_exit(worker.pid)


def worker_exit(server, worker) -> None:
    from opentelemetry import trace

    trace.get_tracer_provider().shutdown()
