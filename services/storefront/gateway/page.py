"""The web page at ``/``: browse products, sign in, place an order, watch it fulfilled (files in static/, under
/assets).

Customers sign in from the page straight against the user pool (Cognito's InitiateAuth with USER_PASSWORD_AUTH;
locally the AWS emulator, which allows cross-origin calls): the password never passes through the gateway, and
the access token stays in the page's memory, never in storage. :func:`sign_in_settings` tells the page where to
sign in; the page's Content-Security-Policy lets its scripts talk to that endpoint and to this origin only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint

from seaway.auth import AuthSettings


def sign_in_settings(auth: AuthSettings, endpoint: str | None = None) -> dict[str, str]:
    """Cognito's endpoint, region and app client for the page: ``endpoint`` when given (SIGN_IN_ENDPOINT), else the
    emulator's when the keys come from one (AUTH_JWKS_URL on another host than the issuer), else the pool's
    region's public endpoint."""
    issuer = urlsplit(auth.auth_issuer or "")
    region = issuer.hostname.split(".")[1] if issuer.hostname and issuer.hostname.count(".") >= 3 else ""
    if not endpoint:
        keys = urlsplit(auth.auth_jwks_url or "")
        if keys.netloc and keys.netloc != issuer.netloc:
            endpoint = f"{keys.scheme}://{keys.netloc}/"
        else:
            endpoint = f"https://cognito-idp.{region}.amazonaws.com/"
    client_id = next((c.strip() for c in auth.auth_client_ids.split(",") if c.strip()), "")
    return {"endpoint": endpoint, "region": region, "client_id": client_id}


def blueprint(sign_in_endpoint: str) -> Blueprint:
    page = Blueprint("page", __name__, static_folder="static", static_url_path="/assets")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(sign_in_endpoint))
    policy = (
        f"default-src 'self'; connect-src 'self' {origin}; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )

    @page.get("/")
    def index():
        """The storefront page; it talks to ``/api`` and, to sign in, to the user pool."""
        response = page.send_static_file("index.html")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = policy
        return response

    return page
