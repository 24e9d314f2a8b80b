"""Who is calling: a customer's Amazon Cognito access token, verified by the kit.

An operation of a service's OpenAPI document that has ``security`` (an ``http`` ``bearer`` scheme) needs a
token: :mod:`seaway.openapi` calls :func:`authenticate` before its handler runs, and the handler reads the
verified identity with :func:`customer` (``seaway.customer()``). A request without a valid token gets a 401
problem+json with a ``WWW-Authenticate: Bearer`` challenge (RFC 6750), never a stack trace.

What a token must be to pass (:class:`Verifier`):

- signed with RS256 (the algorithm is pinned: ``none`` and HMAC tokens are refused before any key is looked
  up, so a public key can never be used as an HMAC secret) by a key of the pool's JWKS;
- issued by ``AUTH_ISSUER`` (the canonical ``https://cognito-idp.<region>.amazonaws.com/<pool id>``, which the
  emulator puts in its tokens too), not expired (a small leeway for clock skew);
- an *access* token (``token_use: access``) of an app client in ``AUTH_CLIENT_IDS`` (its ``client_id``). ID
  tokens are refused: they tell the client app who signed in, and their ``aud`` is the client; access tokens
  are what Cognito issues for calling APIs (scopes, revocation by sign-out), and the API is what checks them.

The keys come from ``AUTH_JWKS_URL`` (default ``<issuer>/.well-known/jwks.json``; locally the emulator's), through
PyJWT's :class:`jwt.PyJWKClient`: fetched on first use, cached (``lifespan``), fetched again when a token names an
unknown key id (a rotated key), but at most once per ``refresh_cooldown`` seconds, so made-up key ids cannot make a
service hammer the key endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from flask import Flask, current_app, g, request

from seaway import config
from seaway.config import setting
from seaway.errors import Problem

log = logging.getLogger("seaway.auth")

ALGORITHM = "RS256"  # what Cognito signs with; the only one accepted
_EXTENSION = "seaway.auth"
_MAX_TOKEN_LENGTH = 8192  # Cognito's access tokens are about 1 KB; longer is not worth decoding


@dataclass(frozen=True)
class AuthSettings:
    """Where a service's tokens come from (rendered by the charts from ``global.auth``; set by ``seaway up``)."""

    auth_issuer: str | None = setting(None)
    auth_jwks_url: str | None = setting(None)
    auth_client_ids: str = setting("")
    # Clock skew tolerated on exp, iat and nbf.
    auth_leeway_seconds: float = setting(30.0, minimum=0, maximum=300)
    # An unknown key id fetches the JWKS again at most this often; a known key set is kept this long.
    auth_jwks_refresh_cooldown_seconds: float = setting(30.0, minimum=0, maximum=3600)
    auth_jwks_lifespan_seconds: float = setting(3600.0, minimum=1, maximum=86400)


@dataclass(frozen=True, kw_only=True)
class CustomerAuthSettings(AuthSettings):
    """What a service whose API has secured operations extends its own settings class with: the pool is then
    required, so the gunicorn master refuses to start without it, in one line, before any worker boots."""

    auth_issuer: str = setting()
    auth_client_ids: str = setting()


@dataclass(frozen=True)
class Customer:
    """The verified caller: ``subject`` (the token's ``sub``, the customer's stable id), ``username``, the app
    client the token was issued to, and every claim."""

    subject: str
    username: str
    client_id: str
    claims: Mapping[str, Any] = field(repr=False)
    token: str = field(repr=False)

    def bearer(self) -> dict[str, str]:
        """The ``Authorization`` header that passes this token on to a service that verifies it again."""
        return {"Authorization": f"Bearer {self.token}"}


class TokenRejected(Exception):
    """The token is not acceptable; the message says why (it is sent as ``error_description``)."""


class KeysUnavailable(Exception):
    """The pool's keys could not be fetched, so no token can be checked now."""


class Verifier:
    """Checks Cognito access tokens of one pool (see the module's docstring for what is checked)."""

    def __init__(
        self,
        issuer: str,
        client_ids: Iterable[str],
        jwks_url: str | None = None,
        *,
        leeway: float = 30.0,
        refresh_cooldown: float = 30.0,
        lifespan: float = 3600.0,
        timeout: float = 3.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_ids = frozenset(client_ids)
        self.jwks_url = jwks_url or f"{self.issuer}/.well-known/jwks.json"
        self.leeway = leeway
        self.keys = jwt.PyJWKClient(
            self.jwks_url, cache_jwk_set=True, lifespan=lifespan, cooldown_duration=refresh_cooldown, timeout=timeout
        )

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Verifier:
        client_ids = [c.strip() for c in settings.auth_client_ids.split(",") if c.strip()]
        if not settings.auth_issuer or not client_ids:
            raise config.ConfigError(
                "invalid configuration: AUTH_ISSUER and AUTH_CLIENT_IDS are required: the service's OpenAPI "
                "document gives operations security"
            )
        return cls(
            settings.auth_issuer,
            client_ids,
            settings.auth_jwks_url,
            leeway=settings.auth_leeway_seconds,
            refresh_cooldown=settings.auth_jwks_refresh_cooldown_seconds,
            lifespan=settings.auth_jwks_lifespan_seconds,
        )

    def verify(self, token: str) -> Customer:
        """The customer ``token`` was issued to; :class:`TokenRejected` or :class:`KeysUnavailable` otherwise."""
        if len(token) > _MAX_TOKEN_LENGTH:
            raise TokenRejected("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRejected("the token is not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise TokenRejected(f"the token must be signed with {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("the token names no key")
        key = self._signing_key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.InvalidTokenError as error:
            raise TokenRejected(_reason(error)) from None
        if claims["token_use"] != "access":
            raise TokenRejected("an access token is required")
        if claims.get("client_id") not in self.client_ids:
            raise TokenRejected("the token was issued to another client")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise TokenRejected("the token names no subject")
        return Customer(
            subject=claims["sub"],
            username=str(claims.get("username", claims["sub"])),
            client_id=claims["client_id"],
            claims=claims,
            token=token,
        )

    def _signing_key(self, kid: str) -> jwt.PyJWK:
        try:
            return self.keys.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as error:
            log.warning("the pool's keys could not be fetched", extra={"jwks_url": self.jwks_url, "reason": str(error)})
            raise KeysUnavailable(str(error)) from None
        except jwt.PyJWKSetError as error:
            log.warning("the pool's key set is unusable", extra={"jwks_url": self.jwks_url, "reason": str(error)})
            raise KeysUnavailable(str(error)) from None
        except jwt.PyJWKClientError:
            raise TokenRejected("the token was signed by an unknown key") from None


def _reason(error: jwt.InvalidTokenError) -> str:
    if isinstance(error, jwt.InvalidSignatureError):
        return "the token's signature does not verify"
    if isinstance(error, jwt.InvalidIssuerError):
        return "the token was issued by another issuer"
    if isinstance(error, jwt.InvalidAudienceError):
        return "an access token is required"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"the token has no {error.claim!r} claim"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "the token is not valid yet"
    return "the token is malformed"


# --- the OpenAPI document's security, and the request's identity -------------------------------------------


def secured_operations(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (path, METHOD) of every operation that needs a token: its ``security`` (or the document's) lists a
    requirement and none is the empty one (``{}``, which would make the token optional). Only ``http``
    ``bearer`` schemes are understood; any other raises ValueError."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    default = document.get("security", [])
    secured = []
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue
            requirements = operation.get("security", default)
            if not requirements or any(not requirement for requirement in requirements):
                continue
            for name in (name for requirement in requirements for name in requirement):
                scheme = schemes.get(name, {})
                if scheme.get("type") != "http" or str(scheme.get("scheme", "")).lower() != "bearer":
                    raise ValueError(f"{method.upper()} {path}: security scheme {name!r} is not an http bearer scheme")
            secured.append((path, method.upper()))
    return secured


def install(app: Flask) -> None:
    """Verify tokens in ``app`` with the pool named by the environment (:class:`AuthSettings`)."""
    app.extensions[_EXTENSION] = Verifier.from_settings(config.load(AuthSettings))


def authenticate() -> Customer:
    """Verify the current request's bearer token; the customer, or a 401 (503 when the keys cannot be had)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _sign_in_first()
    verifier: Verifier = current_app.extensions[_EXTENSION]
    try:
        g.seaway_customer = verifier.verify(token.strip())
    except TokenRejected as rejected:
        raise Problem(
            401,
            "Unauthorized",
            str(rejected),
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="{current_app.name}", error="invalid_token", error_description="{rejected}"'
                )
            },
        ) from None
    except KeysUnavailable:
        raise Problem(
            503, "Service Unavailable", "tokens cannot be checked right now; try again", headers={"Retry-After": "1"}
        ) from None
    return g.seaway_customer


def customer() -> Customer:
    """The verified customer of the current request (its operation declares ``security``); a 401 if none."""
    found = g.get("seaway_customer")
    if found is None:
        raise _sign_in_first()
    return found


def _sign_in_first() -> Problem:
    """No token at all: the challenge without an error code (RFC 6750, section 3.1)."""
    return Problem(
        401,
        "Unauthorized",
        "sign in: this operation needs a bearer token",
        headers={"WWW-Authenticate": f'Bearer realm="{current_app.name}"'},
    )
