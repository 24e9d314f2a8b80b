"""The local ops view of ``seaway up``: resources, logs, traces and live metrics of every service on one page.

One module, one job:

- :mod:`.supervisor`: the services' and the emulator's processes: start, stop, restart, state, output capture
- :mod:`.logs`: the captured lines, parsed from the kit's JSON logs, in a ring buffer
- :mod:`.traces`: the spans the services export, grouped by trace, in a bounded store
- :mod:`.otlp`: the OTLP/HTTP (protobuf) trace receiver on loopback that fills the trace store
- :mod:`.metrics`: scrapes each service's ``/metrics`` and keeps a few minutes of rates and latencies
- :mod:`.server`: the page and its JSON API on loopback, behind a random token
- ``static/``: the page itself (plain HTML, CSS and JavaScript; nothing is loaded from the internet)
"""
