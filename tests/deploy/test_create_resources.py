"""`seaway create-resources`: what the kind Job runs to fill the in-cluster AWS emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3

from seaway.service import Bucket, discover, physical_name, resource_env
from seaway_tools import resources
from tests.conftest import create_resources, sign_in
from tests.deploy.conftest import REPO, load_yaml


def test_create_resources_makes_every_declared_resource_and_prints_each_services_environment(moto):
    env = {**os.environ, **moto.aws_env()}
    command = [sys.executable, "-m", "seaway_tools.cli", "create-resources"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    printed = json.loads(first.stdout)
    for name, service in discover().items():
        pool = {"AUTH_ISSUER", "AUTH_CLIENT_IDS", "AUTH_JWKS_URL"} if resources.verifies_tokens(service) else set()
        assert set(printed[name]) == {resource_env(resource) for resource in service.resources} | pool
    assert {name for name in printed if "AUTH_ISSUER" in printed[name]} == {"gateway", "orders"}
    # A Job may run again on every deploy: a second run finds everything in place and prints the same.
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == printed


def test_the_kind_job_names_buckets_as_the_kind_values_do(moto):
    """The Job asks the emulator for its account and gets its region from its values; the storefront chart
    names the bucket from global.aws.accountId and region in values-kind.yaml: they must be the same."""
    job = load_yaml(REPO / "k8s" / "kind" / "aws-resources" / "values.yaml")["aws"]
    kind = load_yaml(REPO / "charts" / "storefront" / "values-kind.yaml")["global"]["aws"]
    env = moto.aws_env()
    sts = boto3.session.Session().client(
        "sts",
        endpoint_url=moto.url,
        region_name=job["region"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    emulator_account = sts.get_caller_identity()["Account"]
    assert (emulator_account, job["region"]) == (str(kind["accountId"]), kind["region"])
    assert "MOTO_ACCOUNT_ID" not in (REPO / "k8s" / "kind" / "emulators.yaml").read_text()

    command = [sys.executable, "-m", "seaway_tools.cli", "create-resources"]
    created = subprocess.run(
        command, env={**os.environ, **env, "AWS_REGION": job["region"]}, capture_output=True, text=True, timeout=120
    )
    assert created.returncode == 0, created.stderr
    printed = json.loads(created.stdout)
    for name, service in discover().items():
        for bucket in (r for r in service.resources if isinstance(r, Bucket)):
            expected = physical_name(service, bucket, account=str(kind["accountId"]), region=kind["region"])
            assert printed[name][resource_env(bucket)] == expected
            assert expected == f"{service.part_of}-{bucket.name}-123456789012-us-east-1"


def test_a_service_that_verifies_tokens_gets_the_pool_without_the_service_declaring_it(private_moto):
    # `seaway up orders catalog`: the gateway, which declares the pool, is not started; orders still needs it.
    env = create_resources(private_moto, "catalog", "orders")
    assert env["AUTH_ISSUER"].startswith("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_")
    assert env["AUTH_JWKS_URL"] == f"{private_moto.url}/{env['AUTH_ISSUER'].rsplit('/', 1)[1]}/.well-known/jwks.json"
    assert sign_in(env, "ada")["Authorization"].startswith("Bearer ")
