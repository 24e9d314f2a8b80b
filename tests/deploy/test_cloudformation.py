"""k8s/eks/storefront-aws.yaml: generated from the declarations, valid CloudFormation, least privilege."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from seaway.service import (
    REGION_NAME_MAX,
    Bucket,
    NameTooLong,
    Queue,
    Service,
    Table,
    Topic,
    discover,
    physical_name,
)
from seaway_tools import cloudformation
from seaway_tools.cli import main as seaway
from tests.deploy.conftest import REPO, load_yaml, tool

TEMPLATE = REPO / "k8s" / "eks" / "storefront-aws.yaml"


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return load_yaml(TEMPLATE)


def test_committed_template_is_the_generators_output():
    assert TEMPLATE.read_text() == cloudformation.render(discover()), (
        "k8s/eks/storefront-aws.yaml is stale: run .venv/bin/seaway cloudformation > k8s/eks/storefront-aws.yaml"
    )


def test_seaway_cloudformation_prints_the_template(capsys):
    assert seaway(["cloudformation"]) == 0
    assert capsys.readouterr().out == cloudformation.render(discover())


def test_template_passes_cfn_lint():
    cfn_lint = tool("cfn-lint", "install the dev extra (requirements/dev.lock)")
    result = subprocess.run([cfn_lint, str(TEMPLATE)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_declared_resource_exists_under_its_physical_name(committed):
    resources = committed["Resources"]
    name_property = {"table": "TableName", "topic": "TopicName", "queue": "QueueName", "bucket": "BucketName"}
    for service in discover().values():
        for resource in service.resources:
            found = resources[cloudformation.logical_id(resource.name, resource.kind)]
            name = found["Properties"][name_property[resource.kind]]
            if isinstance(resource, Bucket):
                name = name["Fn::Sub"]
            assert name == physical_name(service, resource, account="${AWS::AccountId}", region="${AWS::Region}")


def test_a_bucket_is_named_for_its_account_and_region():
    service = Service(name="shop", app="x:y", port=1, part_of="storefront")
    bucket = Bucket("receipts")
    assert physical_name(service, bucket, account="123456789012", region="us-east-1") == (
        "storefront-receipts-123456789012-us-east-1"
    )
    assert physical_name(service, Table("products", hash_key="id")) == "storefront-products"
    with pytest.raises(ValueError, match="account and region"):
        physical_name(service, bucket)
    longer = Service(name="shop", app="x:y", port=1, part_of="a-rather-long-application-name")
    with pytest.raises(NameTooLong, match="63"):
        physical_name(longer, bucket, account="123456789012", region="us-east-1")


def test_bucket_names_allow_for_the_longest_region_aws_has():
    import botocore.session

    session = botocore.session.get_session()
    regions = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("s3", partition_name=partition)
    }
    assert max(len(region) for region in regions) <= REGION_NAME_MAX


def test_queues_have_a_dead_letter_queue_and_a_raw_subscription_allowed_by_the_queue_policy(committed):
    resources = committed["Resources"]
    for service in discover().values():
        for queue in (r for r in service.resources if isinstance(r, Queue)):
            name = cloudformation.logical_id(queue.name, "queue")
            redrive = resources[name]["Properties"]["RedrivePolicy"]
            assert redrive["maxReceiveCount"] == queue.max_receives
            dead_letter = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert resources[dead_letter]["Properties"]["QueueName"] == f"{physical_name(service, queue)}-dlq"
            topic = {"Ref": cloudformation.logical_id(queue.topic, "topic")}
            subscription = resources[cloudformation.logical_id(queue.name, "subscription")]["Properties"]
            assert subscription["TopicArn"] == topic
            assert subscription["RawMessageDelivery"] is True
            (statement,) = resources[cloudformation.logical_id(queue.name, "queue-policy")]["Properties"][
                "PolicyDocument"
            ]["Statement"]
            assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
            assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": topic}}


def test_buckets_are_encrypted_and_never_public(committed):
    for resource in committed["Resources"].values():
        if resource["Type"] == "AWS::S3::Bucket":
            properties = resource["Properties"]
            assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            assert all(properties["PublicAccessBlockConfiguration"].values())


def _expected_grants(service: Service) -> set[tuple[str, str]]:
    """(action, resource) pairs the declarations call for; resources as their template expressions."""
    grants: set[tuple[str, str]] = set()
    for resource in service.resources:
        name = cloudformation.logical_id(resource.name, resource.kind)
        if isinstance(resource, Table):
            arns = [f"{name}.Arn"] + [f"{name}.Arn/index/{index}" for index, _, _ in resource.indexes]
            grants |= {(f"dynamodb:{a}", arn) for a in _TABLE for arn in arns}
        elif isinstance(resource, Topic):
            grants.add(("sns:Publish", name))
            key = cloudformation.logical_id(resource.name, "key")
            grants |= {("kms:GenerateDataKey", f"{key}.Arn"), ("kms:Decrypt", f"{key}.Arn")}
        elif isinstance(resource, Queue):
            grants |= {(f"sqs:{a}", f"{name}.Arn") for a in _QUEUE}
        elif isinstance(resource, Bucket):
            grants |= {("s3:ListBucket", f"{name}.Arn"), ("s3:PutObject", f"{name}.Arn/*")}
    grants.add(("cloudwatch:PutMetricData", "*"))
    return grants


# Written out again here rather than imported: the test states the policy, the module implements it.
_TABLE = (
    "BatchGetItem",
    "ConditionCheckItem",
    "DeleteItem",
    "DescribeTable",
    "GetItem",
    "PutItem",
    "Query",
    "Scan",
    "UpdateItem",
)
_QUEUE = ("ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "ReceiveMessage")


def _resource_text(value: Any) -> str:
    if value == "*":
        return "*"
    if "Ref" in value:
        return value["Ref"]
    if "Fn::GetAtt" in value:
        return ".".join(value["Fn::GetAtt"])
    return value["Fn::Sub"].replace("${", "").replace("}", "")


@pytest.mark.parametrize("name", sorted(discover()))
def test_each_role_grants_exactly_what_its_service_declares(committed, name):
    service = discover()[name]
    role = committed["Resources"][cloudformation.logical_id(name, "role")]["Properties"]
    granted: set[tuple[str, str]] = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                for resource in statement["Resource"]:
                    granted.add((action, _resource_text(resource)))
                    if resource == "*":
                        assert action == "cloudwatch:PutMetricData"
                        assert statement["Condition"] == {
                            "StringEquals": {"cloudwatch:namespace": cloudformation.CLOUDWATCH_NAMESPACE}
                        }
                    if action.startswith("kms:"):  # a topic's key, only as SNS uses it for the publisher
                        assert statement["Condition"] == {
                            "StringEquals": {"kms:ViaService": {"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"}}
                        }
    assert granted == _expected_grants(service)
    assert not role.get("ManagedPolicyArns")


@pytest.mark.parametrize("name", sorted(discover()))
def test_each_role_is_for_its_service_account_through_eks_pod_identity(committed, name):
    resources = committed["Resources"]
    role = resources[cloudformation.logical_id(name, "role")]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == name
    association = resources[cloudformation.logical_id(name, "pod-identity")]
    assert association["Type"] == "AWS::EKS::PodIdentityAssociation"
    assert association["Properties"]["ServiceAccount"] == name
    assert association["Properties"]["RoleArn"] == {"Fn::GetAtt": [cloudformation.logical_id(name, "role"), "Arn"]}


def test_every_service_has_an_image_repository_the_eks_values_use(committed):
    values = load_yaml(REPO / "charts" / "storefront" / "values-eks.yaml")
    for name in discover():
        repository = committed["Resources"][cloudformation.logical_id(name, "repository")]["Properties"]
        assert repository["RepositoryName"] == f"seaway/{name}"
        assert values["global"]["imageRegistry"].endswith(".amazonaws.com")  # + /seaway/<name>: the chart


def test_topics_are_encrypted_with_a_rotated_customer_managed_key_sns_may_use_for_that_topic(committed):
    resources = committed["Resources"]
    for service in discover().values():
        for topic in (r for r in service.resources if isinstance(r, Topic)):
            properties = resources[cloudformation.logical_id(topic.name, "topic")]["Properties"]
            key_id = cloudformation.logical_id(topic.name, "key")
            assert properties["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
            key = resources[key_id]
            assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
            (sns,) = [
                s
                for s in key["Properties"]["KeyPolicy"]["Statement"]
                if s["Principal"] == {"Service": "sns.amazonaws.com"}
            ]
            assert sns["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].endswith(
                f":{physical_name(service, topic)}"
            )


def test_queues_use_sqs_managed_encryption_so_no_role_needs_a_key_to_read_them(committed):
    for resource in committed["Resources"].values():
        if resource["Type"] == "AWS::SQS::Queue":
            assert resource["Properties"]["SqsManagedSseEnabled"] is True
            assert "KmsMasterKeyId" not in resource["Properties"]


def test_tables_with_a_ttl_attribute_have_time_to_live_on_it(committed):
    for service in discover().values():
        for table in (r for r in service.resources if isinstance(r, Table)):
            properties = committed["Resources"][cloudformation.logical_id(table.name, "table")]["Properties"]
            if table.ttl_attribute:
                assert properties["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}
            else:
                assert "TimeToLiveSpecification" not in properties


def test_keda_operator_reads_queue_depth_through_its_own_pod_identity(committed):
    resources = committed["Resources"]
    role = resources["KedaOperatorRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    conditions = trust["Condition"]["StringEquals"]
    assert conditions["aws:RequestTag/kubernetes-namespace"] == {"Ref": "KedaNamespace"}
    assert conditions["aws:RequestTag/kubernetes-service-account"] == "keda-operator"
    assert committed["Parameters"]["KedaNamespace"]["Default"] == "keda"
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sqs:GetQueueAttributes"]
    queues = [
        {"Fn::GetAtt": [cloudformation.logical_id(q.name, "queue"), "Arn"]}
        for service in discover().values()
        for q in service.resources
        if isinstance(q, Queue)
    ]
    assert statement["Resource"] == queues
    association = resources["KedaOperatorPodIdentity"]["Properties"]
    assert association["Namespace"] == {"Ref": "KedaNamespace"}
    assert association["ServiceAccount"] == "keda-operator"
    assert association["RoleArn"] == {"Fn::GetAtt": ["KedaOperatorRole", "Arn"]}
