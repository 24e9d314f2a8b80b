"""gunicorn settings for the bare-Flask side of the overhead comparison: the same values
:mod:`seaway.gunicorn_conf` derives from the kit's settings, and none of its hooks."""

import os as _os

from seaway import config as _config

_kit = _config.load(_config.KitSettings)

bind = [f"{_kit.host}:{_kit.port}"]
workers = _kit.workers
threads = _kit.worker_threads
worker_class = "gthread"
keepalive = _kit.keepalive_seconds
timeout = _kit.worker_timeout
graceful_timeout = _kit.graceful_timeout
worker_tmp_dir = "/dev/shm" if _os.path.isdir("/dev/shm") and _os.access("/dev/shm", _os.W_OK) else None
accesslog = None
