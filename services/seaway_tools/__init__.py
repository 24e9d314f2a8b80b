"""seaway_tools: what a person or CI runs, never a service: the ``seaway`` command (``seaway up``, the
generators, resource creation in an emulator) and the ``kubectl seaway`` plugin.

The service images install only the runtime kit (``seaway``), which never imports this package (an
import-linter contract in ``make lint``). Its own dependencies (the Kubernetes client, the AWS emulator) are
the ``tools`` extra.
"""
