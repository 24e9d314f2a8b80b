"""k8s/eks: the eksctl ClusterConfig validates and agrees with the CloudFormation and the EKS values."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from seaway.service import discover
from seaway_tools import cloudformation
from tests.deploy.conftest import REPO, load_yaml, load_yaml_all, schema

CLUSTER = load_yaml(REPO / "k8s" / "eks" / "cluster.yaml")


@pytest.fixture(scope="module")
def validator(schemas) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema(schemas, "eksctl/v1alpha5.json"))


def test_cluster_config_validates_against_the_eksctl_schema(validator):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(CLUSTER)]
    assert not errors


def test_the_schema_catches_a_misspelt_field(validator):
    broken = yaml.safe_load(yaml.safe_dump(CLUSTER))
    broken["managedNodeGroups"][0]["instanceTypez"] = ["m6i.large"]
    assert list(validator.iter_errors(broken))


def test_pod_identity_agent_and_the_core_addons_are_installed():
    assert {"eks-pod-identity-agent", "vpc-cni", "coredns", "kube-proxy"} <= {a["name"] for a in CLUSTER["addons"]}


def test_node_pods_cannot_fall_back_to_the_node_role():
    for group in CLUSTER["managedNodeGroups"]:
        assert group["disablePodIMDS"] is True and group["disableIMDSv1"] is True


def test_service_roles_have_one_owner_the_generated_template():
    """eksctl's associations are the add-ons'; every service's association is in storefront-aws.yaml."""
    template = load_yaml(REPO / "k8s" / "eks" / "storefront-aws.yaml")
    associated = {(a["namespace"], a["serviceAccountName"]) for a in CLUSTER["iam"]["podIdentityAssociations"]}
    namespace = template["Parameters"]["Namespace"]["Default"]
    for name in discover():
        assert (namespace, name) not in associated
        assert (
            template["Resources"][cloudformation.logical_id(name, "pod-identity")]["Properties"]["ServiceAccount"]
            == name
        )
    assert template["Parameters"]["ClusterName"]["Default"] == CLUSTER["metadata"]["name"]


def test_keda_operator_identity_has_one_owner_the_generated_template():
    """KEDA's queue-depth role is generated with the queues (any account, any region), not written here."""
    template = load_yaml(REPO / "k8s" / "eks" / "storefront-aws.yaml")
    association = template["Resources"]["KedaOperatorPodIdentity"]["Properties"]
    namespace = template["Parameters"]["KedaNamespace"]["Default"]
    associated = {(a["namespace"], a["serviceAccountName"]) for a in CLUSTER["iam"]["podIdentityAssociations"]}
    assert (namespace, association["ServiceAccount"]) not in associated
    assert "111122223333" not in (REPO / "k8s" / "eks" / "cluster.yaml").read_text()


def test_the_adot_collector_has_an_identity_and_is_where_the_eks_values_send_traces():
    values = load_yaml(REPO / "charts" / "storefront" / "values-eks.yaml")
    (collector,) = [
        d for d in load_yaml_all(REPO / "k8s" / "eks" / "adot-collector.yaml") if d["kind"] == "OpenTelemetryCollector"
    ]
    host = f"{collector['metadata']['name']}-collector.{collector['metadata']['namespace']}"
    assert values["global"]["otel"]["endpoint"].startswith(f"http://{host}")
    identity = (collector["metadata"]["namespace"], collector["spec"]["serviceAccount"])
    assert identity in {(a["namespace"], a["serviceAccountName"]) for a in CLUSTER["iam"]["podIdentityAssociations"]}
    pipelines = collector["spec"]["config"]["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["otlphttp/xray"]
    assert {"awsemf", "prometheusremotewrite"} <= set(pipelines["metrics"]["exporters"])


def test_region_agrees_with_the_eks_values():
    values = load_yaml(REPO / "charts" / "storefront" / "values-eks.yaml")
    assert CLUSTER["metadata"]["region"] == values["global"]["aws"]["region"]
