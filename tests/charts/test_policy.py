"""Every rendered pod meets the restricted Pod Security Standard, every object carries the standard labels,
and the shutdown numbers agree."""

from __future__ import annotations

import json

import pytest

from tests.charts.rendering import CELLS, SERVICES, UMBRELLA, pod_specs
from tests.manifests import documents

STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)
ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(spec: dict) -> list[str]:
    """The restricted Pod Security Standard (and baseline beneath it), checked field by field."""
    found = []
    pod = spec.get("securityContext", {})
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            found.append(field)
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            found.append(f"volume {volume['name']}: {sorted(kinds)}")
    if pod.get("runAsUser") == 0:
        found.append("pod runAsUser 0")
    for container in spec.get("initContainers", []) + spec["containers"]:
        name = container["name"]
        ctx = container.get("securityContext", {})
        if ctx.get("privileged"):
            found.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation must be false")
        if not (ctx.get("runAsNonRoot") or pod.get("runAsNonRoot")):
            found.append(f"{name}: runAsNonRoot")
        if ctx.get("runAsUser", pod.get("runAsUser")) in (None, 0):
            found.append(f"{name}: runAsUser must be set and non-zero")
        seccomp = ctx.get("seccompProfile", pod.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile {seccomp}")
        caps = ctx.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            found.append(f"{name}: capabilities must drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds {caps['add']}")
        for port in container.get("ports", []):
            if port.get("hostPort"):
                found.append(f"{name}: hostPort")
        # Beyond `restricted`, Seaway's own rule: a read-only root filesystem and uid 10001.
        if ctx.get("readOnlyRootFilesystem") is not True:
            found.append(f"{name}: readOnlyRootFilesystem")
        if ctx.get("runAsUser", pod.get("runAsUser")) != 10001:
            found.append(f"{name}: runAsUser must be the image's 10001")
        if not container.get("resources", {}).get("requests"):
            found.append(f"{name}: no resource requests")
    return found


@pytest.mark.parametrize("cell", CELLS)
def test_every_pod_meets_the_restricted_pod_security_standard(rendered, cell: str) -> None:
    pods = list(pod_specs(rendered[cell]))
    assert pods
    problems = [f"{where}: {v}" for where, _, spec in pods for v in restricted_violations(spec)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cell", CELLS)
def test_every_pod_has_writable_tmp_and_a_memory_metrics_dir(rendered, cell: str) -> None:
    for where, _, spec in pod_specs(rendered[cell]):
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert "emptyDir" in volumes[mounts["/tmp"]], where
        if where.startswith("Deployment/"):
            (app,) = spec["containers"]
            env = {e["name"]: e["value"] for e in app["env"]}
            metrics = volumes[{m["mountPath"]: m["name"] for m in app["volumeMounts"]}[env["PROMETHEUS_MULTIPROC_DIR"]]]
            assert metrics["emptyDir"]["medium"] == "Memory" and metrics["emptyDir"]["sizeLimit"], where


@pytest.mark.parametrize("cell", CELLS)
def test_every_app_container_has_resources_probes_and_a_clean_shutdown(rendered, cell: str) -> None:
    configs = {o["metadata"]["name"]: o["data"] for o in rendered[cell] if o["kind"] == "ConfigMap"}
    deployments = [o for o in rendered[cell] if o["kind"] == "Deployment"]
    assert deployments
    for deployment in deployments:
        spec = deployment["spec"]["template"]["spec"]
        (app,) = spec["containers"]
        assert app["name"] == "app"
        assert app["resources"]["requests"]["cpu"] and app["resources"]["requests"]["memory"]
        assert app["resources"]["limits"]["memory"]
        assert app["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        assert app["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert app["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
        assert app["startupProbe"]["httpGet"]["port"] == "http"
        config = configs[app["envFrom"][0]["configMapRef"]["name"]]
        pre_stop = app["lifecycle"]["preStop"]["sleep"]["seconds"]
        shutdown = pre_stop + float(config["DRAIN_SECONDS"]) + float(config["GRACEFUL_TIMEOUT"])
        assert spec["terminationGracePeriodSeconds"] > shutdown, deployment["metadata"]["name"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["checksum/config"]
        assert spec["topologySpreadConstraints"]
        if "proxy.istio.io/config" in annotations:
            proxy_fits_the_grace_period(annotations, shutdown, spec["terminationGracePeriodSeconds"])


def proxy_fits_the_grace_period(annotations: dict[str, str], app_shutdown: float, grace: int) -> None:
    """A classic sidecar gets SIGTERM with the app and must drain for as long as the app shuts down (it carries
    the app's calls); a native sidecar is stopped by the kubelet only after the app exited, so the app's shutdown
    plus the proxy's drain must end before the grace period, or every pod ends in SIGKILL."""
    config = json.loads(annotations["proxy.istio.io/config"])
    drain = float(config["terminationDrainDuration"].removesuffix("s"))
    assert config["holdApplicationUntilProxyStarts"] is True
    if annotations["sidecar.istio.io/nativeSidecar"] == "true":
        assert app_shutdown + drain < grace, (app_shutdown, drain, grace)
    else:
        assert annotations["sidecar.istio.io/nativeSidecar"] == "false"
        assert app_shutdown <= drain < grace, (app_shutdown, drain, grace)


@pytest.mark.parametrize("native", (True, False))
def test_the_sidecar_drain_fits_native_and_classic_sidecars(template, native: bool) -> None:
    result = template(UMBRELLA, files=("values-eks.yaml",), sets=(f"global.mesh.nativeSidecars={str(native).lower()}",))
    assert result.returncode == 0, result.stderr
    objects = documents(result.stdout)
    configs = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap"}
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        (app,) = spec["containers"]
        config = configs[deployment["metadata"]["name"]]
        shutdown = (
            app["lifecycle"]["preStop"]["sleep"]["seconds"]
            + float(config["DRAIN_SECONDS"])
            + float(config["GRACEFUL_TIMEOUT"])
        )
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["sidecar.istio.io/nativeSidecar"] == str(native).lower()
        proxy_fits_the_grace_period(annotations, shutdown, spec["terminationGracePeriodSeconds"])
    # The helm test pod quits a classic sidecar itself; a native one ends with the pod.
    for pod in (o for o in objects if o["kind"] == "Pod"):
        env = {e["name"] for e in pod["spec"]["containers"][0]["env"]}
        assert ("QUIT_PROXY" in env) is not native


@pytest.mark.parametrize("cell", CELLS)
def test_replicas_are_rendered_only_where_no_autoscaler_owns_them(rendered, cell: str) -> None:
    # Helm 4 applies server-side: a rendered `replicas` beside an HPA or KEDA fights the autoscaler on upgrade.
    objects = rendered[cell]
    scaled = {
        o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    }
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        name = deployment["metadata"]["name"]
        assert ("replicas" in deployment["spec"]) is (name not in scaled), name
    hpas = {o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    assert not hpas & {o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] == "ScaledObject"}


@pytest.mark.parametrize("cell", CELLS)
def test_every_object_carries_the_standard_labels(rendered, cell: str) -> None:
    problems = []
    for obj in rendered[cell]:
        labels = obj["metadata"].get("labels", {})
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        problems += [f"{where}: no {key}" for key in STANDARD_LABELS if not labels.get(key)]
        if labels.get("app.kubernetes.io/part-of") != "storefront":
            problems.append(f"{where}: part-of {labels.get('app.kubernetes.io/part-of')}")
        if labels.get("app.kubernetes.io/name") not in (*SERVICES, *(f"{s}-test" for s in SERVICES), "storefront"):
            problems.append(f"{where}: name {labels.get('app.kubernetes.io/name')}")
    for where, metadata, _ in pod_specs(rendered[cell]):
        labels = metadata["labels"]
        problems += [f"{where} pods: no {key}" for key in STANDARD_LABELS if not labels.get(key)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cell", CELLS)
def test_deployments_carry_the_kubectl_seaway_label_and_stable_selectors(rendered, cell: str) -> None:
    for deployment in (o for o in rendered[cell] if o["kind"] == "Deployment"):
        name = deployment["metadata"]["labels"]["app.kubernetes.io/name"]
        assert deployment["metadata"]["labels"]["seaway.dev/service"] == name
        assert deployment["spec"]["template"]["metadata"]["labels"]["seaway.dev/service"] == name
        assert set(deployment["spec"]["selector"]["matchLabels"]) == {
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
        }


@pytest.mark.parametrize("cell", CELLS)
def test_helm_test_pods_call_readyz(rendered, cell: str) -> None:
    tests = [o for o in rendered[cell] if o["kind"] == "Pod"]
    services = {o["metadata"]["name"] for o in rendered[cell] if o["kind"] == "Deployment"}
    assert {t["metadata"]["labels"]["app.kubernetes.io/name"] for t in tests} == {f"{s}-test" for s in services}
    for pod in tests:
        assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
        env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
        assert env["TARGET_URL"].endswith(":8080/readyz")


@pytest.mark.parametrize("cell", CELLS)
def test_no_service_pdb_or_autoscaler_counts_the_helm_test_pods(rendered, cell: str) -> None:
    def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in selector.items())

    objects = rendered[cell]
    selectors = [(f"Service/{o['metadata']['name']}", o["spec"]["selector"]) for o in objects if o["kind"] == "Service"]
    selectors += [
        (f"{o['kind']}/{o['metadata']['name']}", o["spec"]["selector"]["matchLabels"])
        for o in objects
        if o["kind"] in ("PodDisruptionBudget", "Deployment")  # an HPA and KEDA count the Deployment's selector
    ]
    assert selectors
    for pod in (o for o in objects if o["kind"] == "Pod"):
        counted = [where for where, selector in selectors if selects(selector, pod["metadata"]["labels"])]
        assert not counted, f"Pod/{pod['metadata']['name']} is selected by {counted}"


def test_mesh_traffic_policy_limits_retries_and_ejection(rendered) -> None:
    for cell in ("sidecar", "eks"):
        for vs in (o for o in rendered[cell] if o["kind"] == "VirtualService" and o["metadata"]["name"] in SERVICES):
            routes = {r["name"]: r for r in vs["spec"]["http"]}
            assert routes["writes"]["retries"]["attempts"] <= 1
            assert set(routes["writes"]["retries"]["retryOn"].split(",")) <= {"connect-failure", "refused-stream"}
            assert all(r["timeout"] for r in routes.values())
    for cell in ("sidecar", "ambient"):
        for dr in (o for o in rendered[cell] if o["kind"] == "DestinationRule"):
            policy = dr["spec"]["trafficPolicy"]
            assert 0 < policy["outlierDetection"]["maxEjectionPercent"] < 100
            assert policy["connectionPool"]["http"]["http1MaxPendingRequests"] == 2 * 4  # workers x threads
