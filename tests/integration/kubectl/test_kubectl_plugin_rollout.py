"""``kubectl seaway restart`` and ``scale`` as processes: the PATCHes they send and how they wait."""

from __future__ import annotations

import re

from tests.integration.kubectl.kubectl_fake_api import NAMESPACE, deployment, hpa, rolled_out


def test_restart_patches_the_pod_template_and_waits_for_the_rollout(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("catalog", replicas=2))
    fake_api.rollout["catalog"] = [
        rolled_out(2, updated=1, total=3),
        {**rolled_out(2), "observedGeneration": 4},
    ]

    result = kubectl_seaway("restart", "catalog")

    (patch,) = fake_api.seen("PATCH")
    assert patch.path == f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/catalog"
    assert patch.headers["content-type"] == "application/strategic-merge-patch+json"
    stamp = patch.body["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    assert result.stdout.splitlines() == [
        "deployment.apps/catalog restarted",
        'Waiting for deployment "catalog" rollout to finish: 1 out of 2 new replicas have been updated...',
        'deployment "catalog" successfully rolled out',
    ]
    assert result.returncode == 0


def test_restart_that_does_not_finish_in_time_exits_1(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("orders", replicas=2))
    fake_api.rollout["orders"] = [{**rolled_out(2, updated=1, total=3), "observedGeneration": 4}]

    result = kubectl_seaway("restart", "orders", "--timeout", "0s")

    assert result.stdout.splitlines()[-1].endswith("1 out of 2 new replicas have been updated...")
    assert result.stderr == 'kubectl-seaway: error: deployment "orders" did not finish rolling out within 0s\n'
    assert result.returncode == 1


def test_restart_no_wait_returns_after_the_patch(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("catalog"))

    result = kubectl_seaway("restart", "catalog", "--no-wait", "-n", NAMESPACE)

    assert result.stdout == "deployment.apps/catalog restarted\n"
    assert fake_api.seen("GET", "/deployments/catalog") == []
    assert result.returncode == 0


def test_scale_patches_the_scale_subresource(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("orders"))

    result = kubectl_seaway("scale", "orders", "4")

    (patch,) = fake_api.seen("PATCH")
    assert patch.path == f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/orders/scale"
    assert patch.headers["content-type"] == "application/merge-patch+json"
    assert patch.body == {"spec": {"replicas": 4}}
    assert (result.stdout, result.stderr, result.returncode) == ("deployment.apps/orders scaled to 4\n", "", 0)


def test_scale_warns_when_an_hpa_will_override_it(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("catalog"))
    fake_api.add("horizontalpodautoscalers", hpa("catalog", current=2, minimum=2, maximum=5))

    result = kubectl_seaway("scale", "catalog", "8")

    assert result.stdout == "deployment.apps/catalog scaled to 8\n"
    assert result.stderr == (
        "kubectl-seaway: warning: HorizontalPodAutoscaler catalog manages deployment catalog between 2 and 5 "
        "replicas and will override this scale; change the HPA instead\n"
    )
    assert result.returncode == 0
