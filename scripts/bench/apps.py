"""The two apps of the kit-overhead comparison: one trivial endpoint, bare Flask and Flask with the kit."""

from __future__ import annotations

from flask import Flask


def _hello():
    return {"hello": "world"}


def bare_app() -> Flask:
    app = Flask("bench")
    app.add_url_rule("/hello", "hello", _hello)
    return app


def kit_app() -> Flask:
    import seaway

    app = seaway.create_app("bench")
    app.add_url_rule("/hello", "hello", _hello)
    return app
