"""The customers' user pool on kind: the charts name it before the aws-resources Job makes it.

The in-cluster emulator runs with the id strategy of k8s/kind/emulators.yaml, which derives a pool's and an app
client's id from what creates them; the chart's values (charts/storefront/values.yaml's global.auth, and the
emulator's JWKS address in values-kind.yaml) must name the ids the Job's `seaway create-resources` gets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.deploy.conftest import REPO, load_yaml, load_yaml_all
from tests.processes import MotoServer


def emulator_env() -> dict[str, str]:
    """The environment of the moto container in k8s/kind/emulators.yaml."""
    manifests = load_yaml_all(REPO / "k8s" / "kind" / "emulators.yaml")
    (moto,) = [d for d in manifests if d["kind"] == "Deployment" and d["metadata"]["name"] == "moto"]
    (container,) = moto["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container.get("env", [])}


@pytest.fixture
def kind_emulator():
    server = MotoServer()
    server.env.update(emulator_env())
    server.start()
    yield server
    server.stop()


def test_the_kind_emulator_derives_ids_instead_of_drawing_them():
    assert emulator_env() == {
        "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
        "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
    }


def test_the_charts_name_the_pool_the_kind_job_makes(kind_emulator):
    # What the aws-resources Job runs, in its region.
    region = load_yaml(REPO / "k8s" / "kind" / "aws-resources" / "values.yaml")["aws"]["region"]
    env = {**os.environ, **kind_emulator.aws_env(), "AWS_REGION": region}
    command = [sys.executable, "-m", "seaway_tools.cli", "create-resources"]
    created = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    made = {
        name: {k: v for k, v in e.items() if k.startswith("AUTH_")} for name, e in json.loads(created.stdout).items()
    }
    made = {name: auth for name, auth in made.items() if auth}
    assert made, "no service verifies customer tokens"

    defaults = load_yaml(REPO / "charts" / "storefront" / "values.yaml")["global"]["auth"]
    kind = load_yaml(REPO / "charts" / "storefront" / "values-kind.yaml")["global"]
    named = {
        "AUTH_ISSUER": defaults["issuer"],
        "AUTH_CLIENT_IDS": ",".join(defaults["clientIds"]),
        "AUTH_JWKS_URL": kind["auth"]["jwksUri"],
    }
    for name, auth in made.items():
        # The Job reaches the emulator at the address the services use (values-kind's global.aws.endpointUrl).
        auth["AUTH_JWKS_URL"] = auth["AUTH_JWKS_URL"].replace(kind_emulator.url, kind["aws"]["endpointUrl"])
        assert auth == named, (
            f"{name}: the emulator on kind makes {auth}; set global.auth in charts/storefront/values.yaml "
            "(issuer, clientIds) and values-kind.yaml (jwksUri) to it"
        )
