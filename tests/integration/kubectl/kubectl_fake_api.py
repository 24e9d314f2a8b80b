"""A fake Kubernetes API server for running ``kubectl-seaway`` as a process: the paths it calls, no more.

It serves JSON in the shapes a real API server returns (lists with ``items``, ``Status`` objects for
errors, chunked streams for pod logs), filters lists by label selector, applies PATCHes, and records
every request so a test can say what the plugin asked for.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

NAMESPACE = "storefront"
TOKEN = "seaway-test-token"
CREATED = "2026-11-20T09:00:00Z"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


@dataclass
class FakeApiServer:
    """State of the fake cluster: objects by resource, pod logs by pod name, and what was asked."""

    objects: dict[str, list[dict]] = field(
        default_factory=lambda: {
            "deployments": [],
            "pods": [],
            "replicasets": [],
            "horizontalpodautoscalers": [],
            "poddisruptionbudgets": [],
        }
    )
    logs: dict[str, list[str]] = field(default_factory=dict)
    forbidden: set[tuple[str, str]] = field(default_factory=set)  # (method, resource) pairs that answer 403
    # After a PATCH of a Deployment, successive GETs of it answer these statuses (the last one sticks).
    rollout: dict[str, list[dict]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._patched: dict[str, int] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, resource: str, *objects: dict) -> None:
        self.objects[resource].extend(objects)

    def seen(self, method: str = "GET", path_contains: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == method and path_contains in r.path]

    # --- routing ------------------------------------------------------------------------------------

    def answer(self, request: Request) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(request)
        for pattern, route in _ROUTES:
            match = re.fullmatch(pattern, request.path)
            if match:
                parts = match.groupdict()
                if (request.method, parts.get("resource")) in self.forbidden:
                    return 403, _forbidden(request.method, parts["resource"], parts.get("ns"))
                return getattr(self, route)(request, **parts)
        return 404, _status(404, "NotFound", f"the server could not find the requested resource ({request.path})")

    def list_objects(self, request: Request, resource: str, ns: str | None = None) -> tuple[int, dict]:
        selector = request.query.get("labelSelector", "")
        items = [
            o
            for o in self.objects[resource]
            if (ns is None or o["metadata"]["namespace"] == ns) and _selected(selector, o["metadata"].get("labels"))
        ]
        return 200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "4711"}, "items": items}

    def deployment(self, request: Request, resource: str, ns: str, name: str) -> tuple[int, dict]:
        found = self._find("deployments", ns, name)
        if found is None:
            return 404, _status(404, "NotFound", f'deployments.apps "{name}" not found')
        if request.method == "PATCH":
            annotations = request.body["spec"]["template"]["metadata"]["annotations"]
            found["spec"]["template"]["metadata"].setdefault("annotations", {}).update(annotations)
            found["metadata"]["generation"] += 1
            self._patched[name] = 0
            return 200, found
        script = self.rollout.get(name)
        if script and name in self._patched:
            step = min(self._patched[name], len(script) - 1)
            self._patched[name] += 1
            answer = copy.deepcopy(found)
            answer["status"] = script[step]
            return 200, answer
        return 200, found

    def scale(self, request: Request, resource: str, ns: str, name: str) -> tuple[int, dict]:
        found = self._find("deployments", ns, name)
        if found is None:
            return 404, _status(404, "NotFound", f'deployments.apps "{name}" not found')
        found["spec"]["replicas"] = request.body["spec"]["replicas"]
        return 200, {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": found["spec"]["replicas"]},
            "status": {"replicas": found["status"].get("replicas", 0), "selector": "app.kubernetes.io/name=" + name},
        }

    def pod_log(self, request: Request, resource: str, ns: str, name: str) -> tuple[int, Any]:
        if self._find("pods", ns, name) is None:
            return 404, _status(404, "NotFound", f'pods "{name}" not found')
        if name not in self.logs:
            return 400, _status(400, "BadRequest", f'container "app" in pod "{name}" is waiting to start')
        return 200, _Stream(self.logs[name])

    def _find(self, resource: str, ns: str, name: str) -> dict | None:
        for obj in self.objects[resource]:
            if obj["metadata"]["namespace"] == ns and obj["metadata"]["name"] == name:
                return obj
        return None


_NS = r"(?:namespaces/(?P<ns>[^/]+)/)?"
_ROUTES = [
    (rf"/api/v1/{_NS}(?P<resource>pods)", "list_objects"),
    (r"/api/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>pods)/(?P<name>[^/]+)/log", "pod_log"),
    (rf"/apis/apps/v1/{_NS}(?P<resource>deployments|replicasets)", "list_objects"),
    (r"/apis/apps/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>deployments)/(?P<name>[^/]+)", "deployment"),
    (r"/apis/apps/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>deployments)/(?P<name>[^/]+)/scale", "scale"),
    (rf"/apis/autoscaling/v2/{_NS}(?P<resource>horizontalpodautoscalers)", "list_objects"),
    (rf"/apis/policy/v1/{_NS}(?P<resource>poddisruptionbudgets)", "list_objects"),
]


@dataclass(frozen=True)
class _Stream:
    lines: list[str]


def _handler(api: FakeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=url.path,
                query={k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=json.loads(raw) if raw else None,
            )
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                self._json(401, _status(401, "Unauthorized", "Unauthorized"))
                return
            code, answer = api.answer(request)
            if isinstance(answer, _Stream):
                self._stream(answer.lines)
            else:
                self._json(code, answer)

        def _json(self, code: int, document: Any) -> None:
            body = json.dumps(document).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, lines: list[str]) -> None:
            # Chunked, one chunk per line, as the API server streams a followed log.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in lines:
                data = (line + "\n").encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def _selected(selector: str, labels: dict | None) -> bool:
    labels = labels or {}
    for term in filter(None, selector.split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


def _status(code: int, reason: str, message: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _forbidden(method: str, resource: str, ns: str | None) -> dict:
    verb = {"GET": "list", "PATCH": "patch"}[method]
    where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
    return _status(
        403,
        "Forbidden",
        f'{resource} is forbidden: User "dev@example.com" cannot {verb} resource "{resource}"{where}',
    )


def write_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig like ``kind export kubeconfig`` writes, with token auth and a context namespace."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "kind-seaway",
        "clusters": [
            {"name": "kind-seaway", "cluster": {"server": server}},
            {"name": "eks-prod", "cluster": {"server": "http://127.0.0.1:9"}},
        ],
        "users": [{"name": "dev", "user": {"token": TOKEN}}],
        "contexts": [
            {"name": "kind-seaway", "context": {"cluster": "kind-seaway", "user": "dev", "namespace": NAMESPACE}},
            {"name": "eks-prod", "context": {"cluster": "eks-prod", "user": "dev"}},
        ],
    }
    path.write_text(yaml.safe_dump(config))
    return path


# --- objects as the API server sends them (camelCase JSON) --------------------------------------------


def labels(service: str) -> dict:
    return {
        "seaway.dev/service": service,
        "app.kubernetes.io/name": service,
        "app.kubernetes.io/instance": service,
        "app.kubernetes.io/part-of": "storefront",
    }


def deployment(service: str, *, replicas: int = 2, ready: int | None = None, ns: str = NAMESPACE) -> dict:
    ready = replicas if ready is None else ready
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": service,
            "namespace": ns,
            "uid": f"uid-{service}",
            "generation": 3,
            "labels": labels(service),
            "creationTimestamp": CREATED,
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": service, "app.kubernetes.io/instance": service}},
            "template": {
                "metadata": {"labels": labels(service)},
                "spec": {"containers": [{"name": "app", "image": f"ghcr.io/seaway/{service}:1.4.2"}]},
            },
        },
        "status": rolled_out(replicas, ready=ready),
    }


def rolled_out(
    replicas: int, *, ready: int | None = None, updated: int | None = None, total: int | None = None
) -> dict:
    ready = replicas if ready is None else ready
    status = {
        "observedGeneration": 4,
        "replicas": replicas if total is None else total,
        "updatedReplicas": replicas if updated is None else updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "lastUpdateTime": CREATED,
                "lastTransitionTime": CREATED,
            }
        ],
    }
    return {k: v for k, v in status.items() if v != 0}  # the API server omits zero counts


def pod(service: str, suffix: str, *, crash_looping: bool = False, ns: str = NAMESPACE) -> dict:
    app_state = (
        {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}
        if crash_looping
        else {"running": {"startedAt": CREATED}}
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{service}-5f7c9d8b6-{suffix}",
            "namespace": ns,
            "labels": {**labels(service), "pod-template-hash": "5f7c9d8b6"},
            "creationTimestamp": CREATED,
        },
        "spec": {
            "containers": [
                {"name": "app", "image": f"ghcr.io/seaway/{service}:1.4.2"},
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0"},
            ]
        },
        "status": {
            "phase": "Running",
            "startTime": CREATED,
            "conditions": [{"type": "Ready", "status": "False" if crash_looping else "True"}],
            "containerStatuses": [
                {
                    "name": "app",
                    "image": f"ghcr.io/seaway/{service}:1.4.2",
                    "imageID": "",
                    "ready": not crash_looping,
                    "restartCount": 9 if crash_looping else 0,
                    "state": app_state,
                    "lastState": {},
                },
                {
                    "name": "istio-proxy",
                    "image": "docker.io/istio/proxyv2:1.24.0",
                    "imageID": "",
                    "ready": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": CREATED}},
                    "lastState": {},
                },
            ],
        },
    }


def hpa(service: str, *, current: int, minimum: int, maximum: int, ns: str = NAMESPACE) -> dict:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": service, "namespace": ns, "labels": labels(service)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service},
            "minReplicas": minimum,
            "maxReplicas": maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
        "status": {
            "currentReplicas": current,
            "desiredReplicas": current,
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": 52, "averageValue": "52m"}},
                }
            ],
        },
    }


def pdb(service: str, *, allowed: int, ns: str = NAMESPACE) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": service, "namespace": ns, "labels": labels(service)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": service, "app.kubernetes.io/instance": service}},
        },
        "status": {"currentHealthy": 2, "desiredHealthy": 1, "disruptionsAllowed": allowed, "expectedPods": 2},
    }


def log_line(time: str, message: str, *, service: str, level: str = "INFO", trace: str | None = None, **extra) -> str:
    line = {"time": time, "level": level, "service": service, "logger": service, "message": message}
    line["request_id"] = extra.pop("request_id", "req-1")
    if trace:
        line["trace_id"] = trace
        line["span_id"] = "b7ad6b7169203331"
    return json.dumps({**line, **extra})
