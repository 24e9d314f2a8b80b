"""Create the AWS resources that services declare, in an emulator (``seaway up``, kind, tests).

On EKS the same declarations become CloudFormation (``k8s/eks``); here they are made through boto3, and
each service gets the environment variables that carry its resources' physical names. Bucket names carry the
account the credentials belong to (STS GetCallerIdentity: the emulator's 123456789012) and ``AWS_REGION``, the
rule :func:`seaway.service.physical_name` states once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from seaway import aws
from seaway.service import (
    Bucket,
    Queue,
    Service,
    Table,
    Topic,
    dead_letter_name,
    physical_name,
    resource_env,
    resource_value,
    table_definition,
)


def create(services: Iterable[Service]) -> dict[str, dict[str, str]]:
    """Create every resource the services declare (idempotent); each service's environment, by name.

    Topics come first so that queues can subscribe to a topic that another service declares.
    """
    services = list(services)
    account = aws.client("sts").get_caller_identity()["Account"]
    topic_arns: dict[str, str] = {}
    for service in services:
        for resource in service.resources:
            if isinstance(resource, Topic):
                name = physical_name(service, resource)
                topic_arns[resource.name] = aws.client("sns").create_topic(Name=name)["TopicArn"]
    environments: dict[str, dict[str, str]] = {}
    for service in services:
        env = environments[service.name] = {}
        for resource in service.resources:
            name = physical_name(service, resource, account=account, region=aws.region())
            # As the charts have it (seaway.service.resource_value); topics and queues as the emulator answers.
            value = resource_value(service, resource, account=account, region=aws.region())
            if isinstance(resource, Table):
                _create_table(name, resource)
                env[resource_env(resource)] = value
            elif isinstance(resource, Topic):
                env[resource_env(resource)] = topic_arns[resource.name]
            elif isinstance(resource, Queue):
                env[resource_env(resource)] = _create_queue(service, resource, topic_arns)
            elif isinstance(resource, Bucket):
                _create_bucket(name)
                env[resource_env(resource)] = value
    return environments


def _create_table(name: str, table: Table) -> None:
    dynamodb = aws.client("dynamodb")
    try:
        dynamodb.create_table(**table_definition(name, table))
    except dynamodb.exceptions.ResourceInUseException:
        pass
    else:
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    if table.ttl_attribute:
        # As CloudFormation's TimeToLiveSpecification; DynamoDB refuses to enable it twice, so look first.
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
            )


def _create_queue(service: Service, queue: Queue, topic_arns: dict[str, str]) -> str:
    sqs = aws.client("sqs")
    name = physical_name(service, queue)
    dlq_url = sqs.create_queue(QueueName=dead_letter_name(service, queue))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(queue.visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receives)}),
        },
    )["QueueUrl"]
    if queue.topic:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        aws.client("sns").subscribe(
            TopicArn=topic_arns[queue.topic],
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
    return url


def _create_bucket(name: str) -> None:
    s3 = aws.client("s3")
    try:
        if aws.region() == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": aws.region()})
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
