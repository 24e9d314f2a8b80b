"""A rolling update under steady traffic: every service replaced in turn, and not one request fails.

Modelled on a Deployment with ``maxSurge: 1, maxUnavailable: 0`` behind a Service: each service sits
behind a :class:`RoundRobinProxy` (kube-proxy and the endpoints controller in miniature) at the address
its callers know. For each service in turn the new replica starts on a port of its own and joins once
ready; then the old one gets SIGTERM, its ``/readyz`` turns 503 at once so the proxy stops sending it new
connections, it keeps serving for ``DRAIN_SECONDS``, finishes what is in flight and exits. The calls
between services use the kit's client, with pooled keep-alive connections that stay with the old
replica until it closes them, the race a real rollout has too.
"""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from tests.conftest import GENEROUS_RATE_LIMIT, STOREFRONT, sign_in, storefront_env
from tests.processes import RoundRobinProxy, Service, free_port, wait_for

DRAIN_SECONDS = "2"  # far longer than the proxy's 0.1 s readiness probe, as preStop sleeps are on EKS
ROLL_ORDER = ("catalog", "orders", "gateway", "fulfillment")


@dataclass
class Traffic:
    """Steady requests to the gateway, each on a new connection (external clients come through a load
    balancer, which keeps its own connections to the replicas): place an order, read a product, read the
    order back, as one signed-in ``customer``; every answer is recorded."""

    url: str
    customer: dict[str, str]
    rate: float = 25.0
    outcomes: list[tuple[str, int | str]] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def failures(self) -> list[tuple[str, int | str]]:
        return [(what, status) for what, status in self.outcomes if status not in (200, 201)]

    def _call(self, what: str, method: str, path: str, **kwargs) -> requests.Response | None:
        try:
            answer = requests.request(method, self.url + path, timeout=10, **kwargs)
        except requests.RequestException as error:
            self.outcomes.append((what, f"{type(error).__name__}: {error}"))
            return None
        self.outcomes.append((what, answer.status_code if answer.ok else f"{answer.status_code} {answer.text[:200]}"))
        return answer

    def _run(self) -> None:
        step = 0
        while not self._stop.wait(1 / self.rate):
            step += 1
            if step % 3 == 1:
                order = {"items": [{"product_id": "espresso-beans", "quantity": 1}]}
                headers = {"Idempotency-Key": f"rolling-{uuid.uuid4().hex}", **self.customer}
                answer = self._call("place order", "POST", "/api/orders", json=order, headers=headers)
                if answer is not None and answer.status_code == 201:
                    self.order_ids.append(answer.json()["id"])
            elif step % 3 == 2:
                self._call("get product", "GET", "/api/products/espresso-beans")
            elif self.order_ids:
                self._call("get order", "GET", f"/api/orders/{self.order_ids[-1]}", headers=self.customer)


def in_rotation(proxy: RoundRobinProxy, port: int, wanted: bool = True) -> Callable[[], bool]:
    return lambda: (port in proxy.ready_replicas()) == wanted


def has_served(traffic: Traffic, count: int) -> Callable[[], bool]:
    return lambda: len(traffic.outcomes) >= count


def test_a_rolling_update_of_every_service_under_steady_traffic_fails_no_request(moto, redis_server):
    envs, aws_env = storefront_env(
        moto, redis_url=redis_server.url, common={"DRAIN_SECONDS": DRAIN_SECONDS}, gateway=GENEROUS_RATE_LIMIT
    )
    customer = sign_in(aws_env)
    proxies = {name: RoundRobinProxy(int(envs[name]["PORT"])).start() for name in STOREFRONT}
    replicas: dict[str, Service] = {}
    retired: list[Service] = []
    traffic = None

    def replica(name: str) -> Service:
        """A new pod of the service: its own address, announced to the proxy once it is up."""
        service = Service(name, envs[name] | {"PORT": str(free_port())}).start(wait=False)
        proxies[name].add(service.port)
        return service

    try:
        for name in STOREFRONT:
            replicas[name] = replica(name)
        for name in STOREFRONT:
            replicas[name].wait_ready()
            wait_for(proxies[name].ready_replicas, message=f"{name} in its proxy's rotation")
        traffic = Traffic(proxies["gateway"].url, customer).start()
        wait_for(has_served(traffic, 30), timeout=30, message="traffic flowing")

        for name in ROLL_ORDER:
            old, new = replicas[name], replica(name)
            new.wait_ready()
            wait_for(in_rotation(proxies[name], new.port), message=f"the new {name} in rotation")
            old.signal(signal.SIGTERM)
            wait_for(in_rotation(proxies[name], old.port, wanted=False), message=f"the old {name} out")
            assert old.process.wait(timeout=60) == 0, old.output()[-3000:]
            proxies[name].remove(old.port)
            retired.append(old)
            replicas[name] = new
            wait_for(has_served(traffic, len(traffic.outcomes) + 20), timeout=30, message="traffic after the roll")
        traffic.stop()

        assert traffic.failures == [], traffic.failures[:10]
        assert len(traffic.outcomes) >= 200
        assert all(proxies[name].connections.get(replicas[name].port) for name in ("gateway", "catalog", "orders"))

        # Nothing was lost on the way either: every order placed during the roll gets fulfilled.
        def unfulfilled() -> list[str]:
            return [
                order_id
                for order_id in traffic.order_ids
                if requests.get(f"{proxies['gateway'].url}/api/orders/{order_id}", headers=customer, timeout=5).json()[
                    "status"
                ]
                != "fulfilled"
            ]

        wait_for(lambda: not unfulfilled(), timeout=60, interval=1, message="every order fulfilled")
    finally:
        if traffic is not None:
            traffic.stop()
        for service in [*replicas.values(), *retired]:
            service.stop()
        for proxy in proxies.values():
            proxy.stop()
