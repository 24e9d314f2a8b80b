"""The web page at ``/``: browse products, place an order, watch it fulfilled (files in static/, under /assets)."""

from __future__ import annotations

from flask import Blueprint


def blueprint() -> Blueprint:
    page = Blueprint("page", __name__, static_folder="static", static_url_path="/assets")

    @page.get("/")
    def index():
        """The storefront page; it talks to ``/api`` only."""
        response = page.send_static_file("index.html")
        response.headers["Cache-Control"] = "no-cache"
        return response

    return page
