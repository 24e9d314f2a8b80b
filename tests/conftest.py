"""Fixtures shared by every test level: real processes on free ports, started and stopped here."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from seaway import resources
from seaway.service import discover
from tests.processes import MotoServer, RedisServer, Service


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """One AWS emulator for the session; tests that stop it use ``private_moto`` instead."""
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def private_moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except FileNotFoundError:
        pytest.skip("redis-server not found: install the Debian package redis-server (.ci/run does)")
    yield server
    server.stop()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except FileNotFoundError:
        pytest.skip("redis-server not found: install the Debian package redis-server (.ci/run does)")
    yield server
    server.stop()


def create_resources(server: MotoServer, *names: str, prefix: str = "") -> dict[str, str]:
    """Create the named services' AWS resources in ``server``; the environment the services need."""
    saved = dict(os.environ)
    os.environ.update(server.aws_env())
    try:
        environments = resources.create(discover()[name] for name in names)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    env = server.aws_env()
    for name in names:
        env.update(environments[name])
    return env


@pytest.fixture
def start_service():
    """Start services under gunicorn: ``start_service("catalog", env)``; all are stopped afterwards."""
    started: list[Service] = []

    def start(name: str, env: dict[str, str], wait: bool = True) -> Service:
        service = Service(name, env)
        started.append(service)
        return service.start(wait=wait)

    yield start
    for service in started:
        service.stop()
