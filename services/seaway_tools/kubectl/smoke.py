"""Smoke checks of a running storefront through its gateway's REST API, as plain functions of a base URL.

``kubectl seaway smoke`` runs them through a port-forward to a gateway pod; the kind e2e suite and
anyone else can call them with any base URL and a customer who can sign in::

    from seaway_tools.kubectl.smoke import Customer, run_smoke
    results = run_smoke("http://127.0.0.1:8080", Customer("ada", "Ada-Lovelace-1815"))
    assert all(result.ok for result in results)

Orders are a signed-in customer's: the checks sign in as the web page does (``GET /api/sign-in`` names the user
pool's endpoint and app client; Cognito's InitiateAuth with USER_PASSWORD_AUTH, unsigned, returns the access
token), against the emulator on kind and Amazon Cognito on EKS, and send the token as a bearer token.

Each ``check_*`` function raises :class:`SmokeFailure` (or a ``requests`` error) when its expectation
is not met, and returns what the next check needs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import boto3
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REQUEST_TIMEOUT = 10.0
FULFILMENT_TIMEOUT = 30.0


class SmokeFailure(AssertionError):
    """A smoke check whose expectation the storefront did not meet."""


@dataclass(frozen=True)
class Customer:
    """Who signs in: a customer of the storefront's user pool (a demo customer on kind)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""
    skipped: bool = False

    def __str__(self) -> str:
        mark = "-" if self.skipped else ("✓" if self.ok else "✗")
        timing = "" if self.skipped else f"{self.seconds:6.2f}s"
        return f"{mark} {self.name:<42} {timing:>7}  {self.detail}".rstrip()


def check_ready(base_url: str, *, session: requests.Session | None = None) -> None:
    """``GET /readyz`` answers 200."""
    response = (session or requests).get(_url(base_url, "/readyz"), timeout=REQUEST_TIMEOUT)
    _expect_status(response, 200)


def first_product_id(base_url: str, *, session: requests.Session | None = None) -> str:
    """``GET /api/products`` lists at least one product; returns the first one's id."""
    response = (session or requests).get(_url(base_url, "/api/products"), timeout=REQUEST_TIMEOUT)
    _expect_status(response, 200)
    items = _json(response).get("items")
    if not isinstance(items, list) or not items:
        raise SmokeFailure(f"expected a non-empty 'items' list, got {str(items)[:80]}")
    product_id = items[0].get("id") if isinstance(items[0], dict) else None
    if not product_id:
        raise SmokeFailure("the first product has no 'id'")
    return str(product_id)


def check_orders_need_a_token(base_url: str, product_id: str, *, session: requests.Session | None = None) -> int:
    """``POST /api/orders`` without a token is refused: 401 from the service, or 403 from the mesh's policy."""
    response = (session or requests).post(
        _url(base_url, "/api/orders"), json=_order(product_id), timeout=REQUEST_TIMEOUT
    )
    if response.status_code not in (401, 403):
        _expect_status(response, 401)
    return response.status_code


def sign_in(base_url: str, customer: Customer, *, session: requests.Session | None = None) -> str:
    """The customer's access token, as the web page gets it: ``GET /api/sign-in`` names the pool's endpoint,
    region and app client; Cognito's InitiateAuth (USER_PASSWORD_AUTH, unsigned: no AWS credentials) answers."""
    response = (session or requests).get(_url(base_url, "/api/sign-in"), timeout=REQUEST_TIMEOUT)
    _expect_status(response, 200)
    where = _json(response)
    if not all(isinstance(where.get(key), str) and where[key] for key in ("endpoint", "region", "client_id")):
        raise SmokeFailure(f"/api/sign-in lacks endpoint, region or client_id: {where}")
    cognito = boto3.session.Session().client(
        "cognito-idp",
        endpoint_url=where["endpoint"],
        region_name=where["region"],
        config=Config(signature_version=UNSIGNED, connect_timeout=5, read_timeout=REQUEST_TIMEOUT),
    )
    answer = cognito.initiate_auth(
        ClientId=where["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": customer.username, "PASSWORD": customer.password},
    )
    token = answer.get("AuthenticationResult", {}).get("AccessToken")
    if not token:
        raise SmokeFailure(f"no access token for {customer.username} (challenge {answer.get('ChallengeName')})")
    return str(token)


def place_order(base_url: str, product_id: str, token: str, *, session: requests.Session | None = None) -> str:
    """``POST /api/orders`` as the customer (with an ``Idempotency-Key``) answers 201 with the new order's ``id``."""
    response = (session or requests).post(
        _url(base_url, "/api/orders"),
        json=_order(product_id),
        headers={"Idempotency-Key": str(uuid.uuid4()), **_bearer(token)},
        timeout=REQUEST_TIMEOUT,
    )
    _expect_status(response, 201)
    order_id = _json(response).get("id")
    if not order_id:
        raise SmokeFailure("the created order has no 'id'")
    return str(order_id)


def wait_until_fulfilled(
    base_url: str,
    order_id: str,
    token: str,
    *,
    timeout: float = FULFILMENT_TIMEOUT,
    poll_seconds: float = 0.5,
    session: requests.Session | None = None,
) -> None:
    """``GET /api/orders/<id>`` as the customer until its ``status`` is ``fulfilled``, for at most ``timeout``
    seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = (session or requests).get(
            _url(base_url, f"/api/orders/{order_id}"), headers=_bearer(token), timeout=REQUEST_TIMEOUT
        )
        _expect_status(response, 200)
        status = _json(response).get("status")
        if status == "fulfilled":
            return
        if time.monotonic() >= deadline:
            raise SmokeFailure(f"status still {status!r} after {timeout:g}s")
        time.sleep(poll_seconds)


def check_my_orders_list(base_url: str, order_id: str, token: str, *, session: requests.Session | None = None) -> None:
    """``GET /api/me/orders`` as the customer lists the order."""
    response = (session or requests).get(
        _url(base_url, "/api/me/orders"), headers=_bearer(token), timeout=REQUEST_TIMEOUT
    )
    _expect_status(response, 200)
    items = _json(response).get("items")
    if not isinstance(items, list) or order_id not in {item.get("id") for item in items if isinstance(item, dict)}:
        raise SmokeFailure(f"order {order_id} is not among the customer's orders")


def run_smoke(
    base_url: str,
    customer: Customer,
    *,
    timeout: float = FULFILMENT_TIMEOUT,
    report: Callable[[CheckResult], None] = lambda result: None,
) -> list[CheckResult]:
    """Every check in order, each passed to ``report`` as it ends; after a failure the rest are skipped."""
    session = requests.Session()
    found: dict[str, str] = {}

    def ready() -> str:
        check_ready(base_url, session=session)
        return "200"

    def products() -> str:
        found["product"] = first_product_id(base_url, session=session)
        return f"first product {found['product']}"

    def refused() -> str:
        return str(check_orders_need_a_token(base_url, found["product"], session=session))

    def signed_in() -> str:
        found["token"] = sign_in(base_url, customer, session=session)
        return "access token"

    def order() -> str:
        found["order"] = place_order(base_url, found["product"], found["token"], session=session)
        return f"order {found['order']}"

    def fulfilled() -> str:
        wait_until_fulfilled(base_url, found["order"], found["token"], timeout=timeout, session=session)
        return "fulfilled"

    def listed() -> str:
        check_my_orders_list(base_url, found["order"], found["token"], session=session)
        return "listed"

    checks: list[tuple[str, Callable[[], str]]] = [
        ("GET /readyz is 200", ready),
        ("GET /api/products lists products", products),
        ("POST /api/orders without a token is refused", refused),
        (f"{customer.username} signs in (Cognito InitiateAuth)", signed_in),
        ("POST /api/orders creates an order (201)", order),
        (f"the order is fulfilled within {timeout:g}s", fulfilled),
        ("GET /api/me/orders lists the order", listed),
    ]
    results: list[CheckResult] = []
    failed = False
    with session:
        for name, check in checks:
            if failed:
                result = CheckResult(name, ok=False, seconds=0.0, detail="skipped", skipped=True)
            else:
                started = time.monotonic()
                try:
                    detail = check()
                    result = CheckResult(name, ok=True, seconds=time.monotonic() - started, detail=detail)
                except (SmokeFailure, requests.RequestException, ValueError, BotoCoreError, ClientError) as error:
                    failed = True
                    result = CheckResult(name, ok=False, seconds=time.monotonic() - started, detail=_why(error))
            results.append(result)
            report(result)
    return results


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def _order(product_id: str) -> dict:
    return {"items": [{"product_id": product_id, "quantity": 1}]}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _expect_status(response: requests.Response, expected: int) -> None:
    if response.status_code != expected:
        body = " ".join(response.text.split())[:120]
        raise SmokeFailure(f"{response.request.method} {response.url} answered {response.status_code}: {body}")


def _json(response: requests.Response) -> dict:
    body = response.json()
    if not isinstance(body, dict):
        raise SmokeFailure(f"expected a JSON object, got {type(body).__name__}")
    return body


def _why(error: Exception) -> str:
    if isinstance(error, requests.ConnectionError):
        return f"cannot connect: {type(error).__name__}"
    if isinstance(error, requests.Timeout):
        return "no answer in time"
    if isinstance(error, ClientError):  # Cognito's answer, e.g. NotAuthorizedException: Incorrect username or password.
        return f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"
    return " ".join(str(error).split())
