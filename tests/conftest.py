"""Fixtures shared by every test level: real processes on free ports, started and stopped here."""

from __future__ import annotations

import contextlib
import graphlib
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NoReturn

import pytest

from seaway.service import discover, url_env
from seaway_tools import resources
from tests.processes import MotoServer, OtlpReceiver, RedisServer, Service, free_port

# The charts built and rendered once a session, for the chart tests and every other test that reads them.
pytest_plugins = ("tests.charts.rendering",)


def unavailable(reason: str) -> NoReturn:
    """A tool a test needs is missing: a failure under CI (.ci/run installs every one), a skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI installs it: .ci/run)")
    pytest.skip(reason)


def _running_moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


def _running_redis() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except FileNotFoundError:
        unavailable("redis-server not found: install the Debian package redis-server")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """One AWS emulator for the session; tests that stop it use ``private_moto`` instead."""
    yield from _running_moto()


@pytest.fixture
def private_moto() -> Iterator[MotoServer]:
    yield from _running_moto()


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """An OTLP/HTTP trace receiver in this process; services send spans to it when given its ``env()``."""
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the session; tests that stop it use ``private_redis`` instead."""
    yield from _running_redis()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    yield from _running_redis()


@contextlib.contextmanager
def aws_environment(env: Mapping[str, str]) -> Iterator[None]:
    """The test's own boto3 calls (through :mod:`seaway.aws`) go where ``env`` says, meanwhile."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def create_resources(server: MotoServer, *names: str) -> dict[str, str]:
    """Create the named services' AWS resources in ``server``; the environment the services need (with the
    user pool's AUTH_* when one of them verifies tokens)."""
    with aws_environment(server.aws_env()):
        environments = resources.create(discover()[name] for name in names)
    env = server.aws_env()
    for name in names:
        env.update(environments[name])
    return env


def sign_in(env: Mapping[str, str], username: str | None = None) -> dict[str, str]:
    """The ``Authorization`` header of a customer signed in to the emulator's user pool, as the web page signs in.

    ``env``: the emulator's AWS variables and the pool's AUTH_* (what :func:`create_resources` returns, or
    ``Storefront.aws_env``). ``username``: a demo customer; without one, a new customer of the caller's own, so
    that the orders a test lists are its own.
    """
    with aws_environment(env):
        if username is None:
            username, password = f"test-{uuid.uuid4().hex[:12]}", f"Test-{uuid.uuid4().hex}"
            resources.add_customer(env["AUTH_ISSUER"].rsplit("/", 1)[1], username, password)
            token = resources.sign_in(env["AUTH_CLIENT_IDS"].split(",")[0], username, password)
        else:
            token = resources.demo_token(env, username)
    return {"Authorization": f"Bearer {token}"}


def sign_in_at(gateway_url: str, username: str = "ada") -> dict[str, str]:
    """A demo customer's ``Authorization`` header for a storefront that is already running (``seaway up``), found
    as the web page finds its pool: the gateway's ``/api/sign-in``."""
    import requests

    where = requests.get(f"{gateway_url}/api/sign-in", timeout=5).json()
    env = {"AWS_ENDPOINT_URL": where["endpoint"].rstrip("/"), "AWS_REGION": where["region"]}
    env |= {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    with aws_environment(env):
        token = resources.sign_in(where["client_id"], username, dict(resources.demo_customers())[username])
    return {"Authorization": f"Bearer {token}"}


def subject(customer: Mapping[str, str]) -> str:
    """The customer id of a :func:`sign_in` header: its token's subject (read without checking; services check)."""
    import jwt

    return jwt.decode(customer["Authorization"].removeprefix("Bearer "), options={"verify_signature": False})["sub"]


@pytest.fixture
def start_service():
    """Start services under gunicorn: ``start_service("catalog", env)``; all are stopped afterwards."""
    started: list[Service] = []

    def start(name: str, env: dict[str, str], wait: bool = True) -> Service:
        service = Service(name, env)
        started.append(service)
        return service.start(wait=wait)

    yield start
    for service in reversed(started):  # callers first, so no idle connection holds a callee's stop
        service.stop()


# --- the storefront: all four services wired to each other -------------------------------------------------

# Every declared service of the application, each after the services it calls (so callers find them up).
STOREFRONT = tuple(
    graphlib.TopologicalSorter(
        {name: set(service.calls) for name, service in discover().items() if service.part_of == "storefront"}
    ).static_order()
)
# Consumers for tests: short long-polls (quick shutdown), failed messages visible again at once.
FAST_CONSUMER = {"CONSUMER_WAIT_SECONDS": "1", "CONSUMER_RETRY_SECONDS": "0", "CONSUMER_STOP_SECONDS": "5"}
# The shared gateway serves many tests from one address: a limit they never reach.
GENEROUS_RATE_LIMIT = {"RATE_LIMIT_PER_SECOND": "10000", "RATE_LIMIT_BURST": "10000"}


@dataclass
class Storefront:
    """The storefront's services, by name, and the AWS environment they share."""

    services: dict[str, Service]
    aws_env: dict[str, str]

    @property
    def gateway(self) -> Service:
        return self.services["gateway"]

    @property
    def catalog(self) -> Service:
        return self.services["catalog"]

    @property
    def orders(self) -> Service:
        return self.services["orders"]

    @property
    def fulfillment(self) -> Service:
        return self.services["fulfillment"]

    @property
    def auth_env(self) -> dict[str, str]:
        """The user pool's AUTH_* variables, for a gateway or orders of a test's own."""
        return {name: value for name, value in self.aws_env.items() if name.startswith("AUTH_")}

    def sign_in(self, username: str | None = None) -> dict[str, str]:
        """A customer's ``Authorization`` header (:func:`sign_in`): a demo customer, or a new one."""
        return sign_in(self.aws_env, username)

    def stop(self) -> None:
        for service in reversed(self.services.values()):
            service.stop()


def storefront_env(
    server: MotoServer,
    names=STOREFRONT,
    redis_url: str | None = None,
    common: dict[str, str] | None = None,
    **extra: dict[str, str],
):
    """Each named service's environment: its resources, the others' URLs on free ports, FAST_CONSUMER.

    ``common`` adds variables to every service; ``extra`` per service:
    ``storefront_env(moto, gateway={"RATE_LIMIT_BURST": "3"})``.
    """
    aws_env = create_resources(server, *STOREFRONT)
    ports = {name: free_port() for name in STOREFRONT}
    urls = {url_env(name): f"http://127.0.0.1:{port}" for name, port in ports.items()}
    envs = {}
    for name in names:
        envs[name] = {
            **aws_env,
            **urls,
            **dict(discover()[name].local_env),
            **FAST_CONSUMER,
            **({"REDIS_URL": redis_url} if redis_url else {}),
            **(common or {}),
            "PORT": str(ports[name]),
            "OTEL_SERVICE_NAME": name,
            **extra.get(name, {}),
        }
    return envs, aws_env


def start_storefront(
    server: MotoServer, redis_url: str | None = None, common: dict[str, str] | None = None, launch=None, **extra
) -> Storefront:
    """Start all four services at once (``launch(name, env)`` starts one; default: a Service) and wait."""
    envs, aws_env = storefront_env(server, redis_url=redis_url, common=common, **extra)
    launch = launch or (lambda name, env: Service(name, env).start(wait=False))
    services = {name: launch(name, env) for name, env in envs.items()}
    for service in services.values():
        service.wait_ready()
    return Storefront(services, aws_env)


@pytest.fixture(scope="session")
def storefront(moto, redis_server, otlp_receiver) -> Iterator[Storefront]:
    """One storefront for every test that does not stop its services; its traces go to ``otlp_receiver``."""
    shop = start_storefront(moto, redis_url=redis_server.url, common=otlp_receiver.env(), gateway=GENEROUS_RATE_LIMIT)
    yield shop
    shop.stop()


def aws_client(server: MotoServer, name: str):
    """A boto3 client of the test itself, talking to ``server``."""
    import boto3

    env = server.aws_env()
    return boto3.session.Session().client(
        name,
        endpoint_url=server.url,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
