"""Customers sign in: the storefront's orders against the emulator's real user pool and keys, under gunicorn.

Tokens come from the moto server's Cognito (InitiateAuth, USER_PASSWORD_AUTH); the forged ones are made here the
ways an attacker would try: expired, signed by another key, issued to another client, ``alg: none``, HMAC-signed
with the pool's public key, a payload edited after signing, an ID token instead of an access token. The gateway
and orders each refuse every one (orders verifies the token the gateway passes on, again).
"""

from __future__ import annotations

import base64
import hmac
import json
import shutil
import subprocess
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from moto.utilities.utils import load_resource

from seaway.service import discover
from seaway_tools import resources
from tests.conftest import aws_client, aws_environment, unavailable
from tests.processes import wait_for

PROBLEM = "application/problem+json"
ORDER = {"items": [{"product_id": "espresso-beans", "quantity": 1}]}


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def signed_by_the_pool(claims: dict) -> str:
    """A token signed with the emulator's own pool key (moto ships it), so only the claims can be wrong."""
    key = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"))
    return jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": key.key_id})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assert_unauthorized(answer: requests.Response, error: str | None = "invalid_token") -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer realm=")
    if error:
        assert f'error="{error}"' in challenge
    assert answer.json()["status"] == 401 and "Traceback" not in answer.text


def test_placing_or_listing_orders_without_a_token_is_a_401_with_a_bearer_challenge(storefront):
    assert_unauthorized(storefront.gateway.post("/api/orders", json=ORDER), error=None)
    assert_unauthorized(storefront.gateway.get("/api/me/orders"), error=None)
    assert_unauthorized(storefront.gateway.get("/api/orders/o-anything"), error=None)
    assert_unauthorized(storefront.orders.post("/orders", json=ORDER), error=None)
    assert_unauthorized(
        storefront.gateway.post("/api/orders", json=ORDER, headers={"Authorization": "Basic YWRhOnB3"}), error=None
    )
    assert storefront.gateway.get("/api/products").status_code == 200  # browsing stays anonymous


def test_a_demo_customers_order_is_placed_and_fulfilled_as_that_customer(storefront):
    ada = storefront.sign_in("ada")
    placed = storefront.gateway.post("/api/orders", json=ORDER, headers=ada)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["customer_id"] == claims_of(token_of(ada))["sub"]

    def fulfilled():
        found = storefront.gateway.get(f"/api/orders/{order['id']}", headers=ada).json()
        return found if found["status"] == "fulfilled" else None

    wait_for(fulfilled, timeout=20, message="the order to be fulfilled")
    assert order["id"] in [o["id"] for o in storefront.gateway.get("/api/me/orders", headers=ada).json()["items"]]


def test_a_customer_cannot_read_another_customers_orders(storefront):
    first, second = storefront.sign_in(), storefront.sign_in()
    placed = storefront.gateway.post("/api/orders", json=ORDER, headers=first)
    assert placed.status_code == 201
    order_id = placed.json()["id"]

    for service, path in ((storefront.gateway, f"/api/orders/{order_id}"), (storefront.orders, f"/orders/{order_id}")):
        hidden = service.get(path, headers=second)
        assert hidden.status_code == 404 and hidden.headers["Content-Type"] == PROBLEM
        assert hidden.json()["detail"] == f"no order {order_id!r}"  # as for an order that does not exist
        assert service.get(path, headers=first).status_code == 200
    assert storefront.gateway.get("/api/me/orders", headers=second).json()["items"] == []
    # A body naming another customer is refused, not obeyed: the customer is the token's subject.
    named = storefront.gateway.post("/api/orders", json={**ORDER, "customer_id": "someone"}, headers=second)
    assert named.status_code == 422


def test_an_idempotency_key_belongs_to_the_customer_who_sent_it(storefront):
    first, second = storefront.sign_in(), storefront.sign_in()
    key = {"Idempotency-Key": "shared-key-1"}
    mine = storefront.gateway.post("/api/orders", json=ORDER, headers={**key, **first})
    theirs = storefront.gateway.post("/api/orders", json=ORDER, headers={**key, **second})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["customer_id"] == claims_of(token_of(second))["sub"]


@pytest.fixture(scope="module")
def forged(storefront, moto) -> dict[str, str]:
    """Every way a token must be refused, made from real ones of the pool."""
    real = token_of(storefront.sign_in())
    claims = claims_of(real)
    header, payload, signature = real.split(".")
    now = int(time.time())
    cognito = aws_client(moto, "cognito-idp")
    pool_id = storefront.aws_env["AUTH_ISSUER"].rsplit("/", 1)[1]
    another_client = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="another-app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    password = dict(resources.demo_customers())["ada"]
    with aws_environment(storefront.aws_env):
        another_clients_token = resources.sign_in(another_client, "ada", password)
    id_token = cognito.initiate_auth(
        ClientId=storefront.aws_env["AUTH_CLIENT_IDS"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ada", "PASSWORD": password},
    )["AuthenticationResult"]["IdToken"]
    another_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pool_key = jwt.PyJWK(requests.get(storefront.aws_env["AUTH_JWKS_URL"], timeout=5).json()["keys"][0]).key
    public_pem = pool_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    hmac_header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "dummy"}).encode())
    hmac_signature = b64(hmac.new(public_pem, f"{hmac_header}.{payload}".encode(), "sha256").digest())
    edited = {**claims, "sub": claims_of(token_of(storefront.sign_in("ada")))["sub"]}
    return {
        "expired": signed_by_the_pool({**claims, "iat": now - 7200, "exp": now - 3600}),
        "another-key": jwt.encode(claims, another_key, algorithm="RS256", headers={"kid": "dummy"}),
        "unknown-key-id": jwt.encode(claims, another_key, algorithm="RS256", headers={"kid": "rotated-away"}),
        "another-client": another_clients_token,
        "another-client-id-claim": signed_by_the_pool({**claims, "client_id": "someone-elses-app"}),
        "another-issuer": signed_by_the_pool({**claims, "iss": f"{storefront.aws_env['AUTH_ISSUER']}x"}),
        "id-token": id_token,
        "alg-none": f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}.",
        "hmac-with-the-public-key": f"{hmac_header}.{payload}.{hmac_signature}",
        "tampered-payload": f"{header}.{b64(json.dumps(edited).encode())}.{signature}",
        "not-a-jwt": "not.a.jwt",
    }


# Each forgery, and why it is refused (the 401's detail, also the challenge's error_description).
FORGERIES = {
    "expired": "the token has expired",
    "another-key": "the token's signature does not verify",
    "unknown-key-id": "the token was signed by an unknown key",
    "another-client": "the token was issued to another client",
    "another-client-id-claim": "the token was issued to another client",
    "another-issuer": "the token was issued by another issuer",
    "id-token": "an access token is required",
    "alg-none": "the token must be signed with RS256",
    "hmac-with-the-public-key": "the token must be signed with RS256",
    "tampered-payload": "the token's signature does not verify",
    "not-a-jwt": "the token is not a JWT",
}


@pytest.mark.parametrize("kind", FORGERIES)
def test_a_token_that_is_not_a_valid_access_token_of_the_pool_is_refused_by_gateway_and_orders(
    storefront, forged, kind
):
    bearer = {"Authorization": f"Bearer {forged[kind]}"}
    for answer in (
        storefront.gateway.post("/api/orders", json=ORDER, headers=bearer),
        storefront.gateway.get("/api/me/orders", headers=bearer),
        storefront.orders.post("/orders", json=ORDER, headers=bearer),
    ):
        assert_unauthorized(answer)
        assert answer.json()["detail"] == FORGERIES[kind]
        assert f'error_description="{FORGERIES[kind]}"' in answer.headers["WWW-Authenticate"]


def test_the_pool_signed_forgeries_differ_from_a_valid_token_only_in_what_is_checked(storefront):
    # The control for the forgeries above: the same signing with valid claims is accepted.
    claims = claims_of(token_of(storefront.sign_in()))
    bearer = {"Authorization": f"Bearer {signed_by_the_pool(claims)}"}
    assert storefront.gateway.get("/api/me/orders", headers=bearer).status_code == 200


def test_the_curl_command_seaway_up_prints_gets_a_token_the_gateway_accepts(storefront):
    if shutil.which("curl") is None:
        unavailable("curl not found: install the Debian package curl")
    lines = resources.sign_in_lines(discover().values(), {"gateway": storefront.aws_env, "catalog": {}})
    assert lines[0] == "Customers sign in on the page as ada / Ada-Lovelace-1815, grace / Grace-Hopper-1906."
    assert (
        resources.sign_in_lines([discover()["catalog"]], {"catalog": {}}) == []
    )  # no service verifies tokens: nothing to say
    command = lines[-1].strip()
    assert command.startswith(f"curl -s {storefront.aws_env['AWS_ENDPOINT_URL']}/ ")
    answer = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30, check=True)
    token = json.loads(answer.stdout)["AuthenticationResult"]["AccessToken"]
    mine = storefront.gateway.get("/api/me/orders", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200, mine.text
