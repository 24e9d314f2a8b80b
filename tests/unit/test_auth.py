"""The kit's token verifier against a real JWKS endpoint (an HTTP server in the test, counting its requests):
keys fetched once and cached, fetched again for an unknown key id, but never more often than the cooldown
allows; and which OpenAPI operations need a token."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from seaway.auth import KeysUnavailable, TokenRejected, Verifier, secured_operations
from seaway.config import ConfigError, check
from seaway.service import discover, load_object
from seaway_tools.resources import verifies_tokens
from tests.processes import free_port
from tests.unit.test_openapi_routes import ENV as ROUTES_ENV

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test"
CLIENT = "app-client"


class KeyServer:
    """A pool's ``/.well-known/jwks.json``: the public halves of ``keys`` (kid -> private key), requests counted."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = json.dumps({"keys": [server.public_jwk(kid) for kid in list(server.keys)]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self, kid: str) -> dict:
        return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key())), "kid": kid, "use": "sig"}

    def token(self, kid: str, **claims) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "sub": "ada-id", "username": "ada", "client_id": CLIENT, "token_use": "access"}
        payload |= {"iat": now, "exp": now + 600, **claims}
        key = self.keys.get(kid) or next(iter(self.keys.values()))
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def keys() -> Iterator[KeyServer]:
    server = KeyServer()
    server.add_key("k1")
    yield server
    server.stop()


def verifier(keys: KeyServer, cooldown: float) -> Verifier:
    return Verifier(ISSUER, [CLIENT], keys.url, refresh_cooldown=cooldown)


def test_the_keys_are_fetched_once_and_then_served_from_the_cache(keys):
    check = verifier(keys, cooldown=30)
    for _ in range(20):
        assert check.verify(keys.token("k1")).subject == "ada-id"
    assert keys.requests == 1


def test_a_token_signed_by_a_newly_rotated_key_fetches_the_keys_again(keys):
    check = verifier(keys, cooldown=0)
    check.verify(keys.token("k1"))
    keys.add_key("k2")  # the pool rotates in a new key
    assert check.verify(keys.token("k2")).username == "ada"
    assert keys.requests == 2
    check.verify(keys.token("k2"))
    assert keys.requests == 2  # known now


def test_made_up_key_ids_cannot_make_the_service_fetch_keys_more_often_than_the_cooldown_allows(keys):
    check = verifier(keys, cooldown=3600)
    check.verify(keys.token("k1"))
    for attempt in range(50):
        with pytest.raises(TokenRejected, match="unknown key"):
            check.verify(keys.token(f"made-up-{attempt}"))
    assert keys.requests == 1


def test_unreachable_keys_are_keys_unavailable_not_a_rejected_token():
    check = Verifier(ISSUER, [CLIENT], f"http://127.0.0.1:{free_port()}/jwks.json", timeout=1)
    with pytest.raises(KeysUnavailable):
        check.verify(_token_without_server())


def _token_without_server() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "s", "client_id": CLIENT, "token_use": "access", "iat": now, "exp": now + 60}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"client_id": "another"}, "another client"),
        ({"token_use": "id"}, "access token"),
        ({"iss": ISSUER + "-other"}, "another issuer"),
    ],
)
def test_claims_are_checked_after_the_signature(keys, claims, reason):
    with pytest.raises(TokenRejected, match=reason):
        verifier(keys, cooldown=30).verify(keys.token("k1", **claims))


def test_a_clock_a_little_behind_is_tolerated(keys):
    assert verifier(keys, cooldown=30).verify(keys.token("k1", exp=int(time.time()) - 5)).subject == "ada-id"


BEARER = {"components": {"securitySchemes": {"customer": {"type": "http", "scheme": "bearer"}}}}


def test_operations_with_security_need_a_token_and_the_empty_requirement_makes_it_optional():
    document = {
        **BEARER,
        "security": [{"customer": []}],
        "paths": {
            "/orders": {"get": {}, "post": {"security": [{"customer": []}]}},
            "/products": {"get": {"security": []}},
            "/maybe": {"get": {"security": [{}, {"customer": []}]}},
            "/orders/{id}": {"parameters": [], "get": {}},
        },
    }
    assert secured_operations(document) == [("/orders", "GET"), ("/orders", "POST"), ("/orders/{id}", "GET")]


def test_a_security_scheme_the_kit_cannot_check_is_refused_at_start():
    document = {
        "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
        "paths": {"/orders": {"get": {"security": [{"key": []}]}}},
    }
    with pytest.raises(ValueError, match="not an http bearer scheme"):
        secured_operations(document)


@pytest.mark.parametrize("name", sorted(n for n, service in discover().items() if verifies_tokens(service)))
def test_a_service_that_verifies_tokens_refuses_to_start_without_the_pool_in_one_line(name):
    """Its settings (checked by the gunicorn master before any worker) extend CustomerAuthSettings."""
    service = discover()[name]
    with pytest.raises(ConfigError, match="AUTH_ISSUER is required; AUTH_CLIENT_IDS is required"):
        check(load_object(service.settings), environ={})


def test_a_service_that_cannot_fetch_the_pools_keys_answers_503_problem_json_not_401(monkeypatch):
    for key, value in ROUTES_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTH_JWKS_URL", f"http://127.0.0.1:{free_port()}/.well-known/jwks.json")  # nothing there
    monkeypatch.setenv("AUTH_ISSUER", ISSUER)
    monkeypatch.setenv("AUTH_CLIENT_IDS", CLIENT)
    app = load_object(discover()["orders"].app)()
    answer = app.test_client().get("/orders", headers={"Authorization": f"Bearer {_token_without_server()}"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.mimetype == "application/problem+json" and "try again" in answer.json["detail"]
