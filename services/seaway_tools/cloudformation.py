"""The AWS side of an EKS deployment, as CloudFormation built from the services' declarations.

Every table, topic, queue and bucket a service declares (:mod:`seaway.service`) becomes a resource named
:func:`~seaway.service.physical_name` names it, the same name the charts put in the service's environment
(a bucket's carries ``${AWS::AccountId}-${AWS::Region}``). Every store is encrypted at rest: tables and
buckets with their service's keys, queues with SQS-managed keys (SSE-SQS: no KMS permission for anyone), and
each topic with a customer managed KMS key of its own, whose key policy lets SNS use it for that topic.
Each service gets one IAM role that EKS Pod Identity hands to its ServiceAccount, and that role may do only
what the service's declarations need, on those resources only:

- ``Table``  -> the item and query actions of :data:`TABLE_ACTIONS` on the table and its declared indexes
- ``Topic``  -> ``sns:Publish`` on the topic, and ``kms:GenerateDataKey`` + ``kms:Decrypt`` on the topic's
  key through SNS only (``kms:ViaService``): SNS encrypts a message with the publisher's permissions
- ``Queue``  -> receive, delete, change visibility, get attributes on the queue (not on its dead-letter queue)
- ``Bucket`` -> ``s3:PutObject`` on the bucket's objects, ``s3:ListBucket`` on the bucket (which is what
  authorises ``HeadBucket``, the readiness check)
- every service -> ``cloudwatch:PutMetricData``, only into :func:`cloudwatch_namespace`

The application's user pool (:class:`~seaway.service.UserPool`) becomes an ``AWS::Cognito::UserPool`` with its
app client, as the emulator has them (:func:`~seaway.service.user_pool_definition`); the stack's outputs
``UserPoolId``, ``UserPoolClientId`` and ``UserPoolIssuer`` are what the charts' ``global.auth`` takes. No role
needs a Cognito permission: services verify tokens against the pool's public keys.

KEDA's operator, which scales a consumer on its queue's depth (the chart's ``autoscaling.sqs``, a
TriggerAuthentication with ``podIdentity.provider: aws``), gets a role of its own here too: only
``sqs:GetQueueAttributes`` on the declared queues, through a Pod Identity association for its ServiceAccount.

``seaway cloudformation > k8s/eks/storefront-aws.yaml`` writes the template; a test keeps the committed file
equal to this module's output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from seaway.service import (
    Bucket,
    Queue,
    Service,
    Table,
    Topic,
    UserPool,
    app_client_definition,
    dead_letter_name,
    physical_name,
    table_definition,
    user_pool_definition,
    user_pool_name,
)

# Data-plane actions only, no table or index administration. DeleteItem: the events kit un-claims an event
# whose handler failed, and orders withdraws an order whose event could not be published.
TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
TOPIC_ACTIONS = ("sns:Publish",)
# What publishing to a topic encrypted with a KMS key needs on that key (SNS developer guide, "Key management").
TOPIC_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
QUEUE_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)
BUCKET_ACTIONS = ("s3:ListBucket",)  # on the bucket: HeadBucket (readiness) is authorised as s3:ListBucket
OBJECT_ACTIONS = ("s3:PutObject",)  # on the bucket's objects
AUTOSCALER_ACTIONS = ("sqs:GetQueueAttributes",)
METRIC_ACTIONS = ("cloudwatch:PutMetricData",)

POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
# KEDA's operator (installed by scripts/deploy.sh from KEDA's chart): its namespace and ServiceAccount.
KEDA_NAMESPACE = "keda"
KEDA_SERVICE_ACCOUNT = "keda-operator"
_CACHE_PARAMETERS = {
    "CacheSubnetIds": {
        "Type": "CommaDelimitedList",
        "Description": "Private subnets of the cluster's VPC for the cache's endpoints",
    },
    "CacheSecurityGroupIds": {
        "Type": "CommaDelimitedList",
        "Description": "Security groups of the cache: the cluster security group lets the pods reach it",
    },
}
_KEDA_PARAMETERS = {
    "KedaNamespace": {
        "Type": "String",
        "Default": KEDA_NAMESPACE,
        "Description": "The namespace KEDA's operator runs in (its ServiceAccount: keda-operator)",
    },
}
ECR_PREFIX = "seaway"
# seaway.cloudwatch sends into SEAWAY_CLOUDWATCH_NAMESPACE, "Seaway" unless set; the roles allow only that one.
CLOUDWATCH_NAMESPACE = "Seaway"


def cloudwatch_namespace(service: Service) -> str:
    """The CloudWatch namespace a service's metrics go to: the kit's default ``SEAWAY_CLOUDWATCH_NAMESPACE``."""
    return CLOUDWATCH_NAMESPACE


def logical_id(*words: str) -> str:
    """A CloudFormation logical id from names: ``("order-events", "Topic")`` -> ``OrderEventsTopic``."""
    return "".join(part[:1].upper() + part[1:] for word in words for part in word.replace("_", "-").split("-"))


def template(services: Mapping[str, Service]) -> dict[str, Any]:
    """The whole stack for ``services`` (by name, as :func:`seaway.service.discover` returns them)."""
    services = dict(sorted(services.items()))
    part_of = sorted({service.part_of for service in services.values()})
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    topics = {
        resource.name: (service, resource)
        for service in services.values()
        for resource in service.resources
        if isinstance(resource, Topic)
    }
    for service in services.values():
        for resource in service.resources:
            if isinstance(resource, Table):
                _table(resources, outputs, service, resource)
            elif isinstance(resource, Topic):
                _topic(resources, outputs, service, resource)
            elif isinstance(resource, Queue):
                _queue(resources, outputs, service, resource, topics)
            elif isinstance(resource, Bucket):
                _bucket(resources, outputs, service, resource)
    pools = [(service, service.user_pool) for service in services.values() if service.user_pool is not None]
    if len(pools) > 1:
        raise ValueError(f"one user pool per application: {', '.join(s.name for s, _ in pools)} each declare one")
    for service, pool in pools:
        _user_pool(resources, outputs, service, pool)
    if any(service.redis for service in services.values()):
        _cache(resources, outputs, part_of)
    for service in services.values():
        _repository(resources, outputs, service)
        _identity(resources, outputs, service)
    queues = [(s, r) for s in services.values() for r in s.resources if isinstance(r, Queue)]
    if queues:
        _autoscaler_identity(resources, outputs, queues)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"Seaway {', '.join(part_of)}: the AWS resources the services declare, one least-privilege role per "
            "service for EKS Pod Identity, ECR repositories. Generated by `seaway cloudformation`; do not edit."
        ),
        "Parameters": {
            "ClusterName": {
                "Type": "String",
                "Default": "seaway",
                "Description": "The EKS cluster (k8s/eks/cluster.yaml) whose pods get the roles",
            },
            "Namespace": {
                "Type": "String",
                "Default": part_of[0] if part_of else "default",
                "Description": "The Kubernetes namespace the application is installed into",
            },
            **(_KEDA_PARAMETERS if "KedaOperatorRole" in resources else {}),
            **(_CACHE_PARAMETERS if "Cache" in resources else {}),
        },
        "Resources": resources,
        "Outputs": outputs,
    }


def render(services: Mapping[str, Service]) -> str:
    """The template as the YAML committed in ``k8s/eks``."""
    header = "# Generated by `seaway cloudformation` from the services' declarations; do not edit by hand.\n"
    return header + yaml.safe_dump(template(services), sort_keys=False, width=120)


def role_policy(service: Service) -> list[dict[str, Any]]:
    """The statements of ``service``'s role: what its declarations need, on its own resources only."""
    statements: list[dict[str, Any]] = []
    for resource in service.resources:
        name = logical_id(resource.name, resource.kind)
        if isinstance(resource, Table):
            arns: list[Any] = [{"Fn::GetAtt": [name, "Arn"]}]
            arns += [{"Fn::Sub": f"${{{name}.Arn}}/index/{index}"} for index, _, _ in resource.indexes]
            statements.append(_allow(name, TABLE_ACTIONS, arns))
        elif isinstance(resource, Topic):
            statements.append(_allow(name, TOPIC_ACTIONS, [{"Ref": name}]))
            key = _allow(f"{name}Key", TOPIC_KEY_ACTIONS, [{"Fn::GetAtt": [logical_id(resource.name, "key"), "Arn"]}])
            key["Condition"] = {"StringEquals": {"kms:ViaService": {"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"}}}
            statements.append(key)
        elif isinstance(resource, Queue):
            statements.append(_allow(name, QUEUE_ACTIONS, [{"Fn::GetAtt": [name, "Arn"]}]))
        elif isinstance(resource, Bucket):
            statements.append(_allow(name, BUCKET_ACTIONS, [{"Fn::GetAtt": [name, "Arn"]}]))
            statements.append(_allow(f"{name}Objects", OBJECT_ACTIONS, [{"Fn::Sub": f"${{{name}.Arn}}/*"}]))
    metrics = _allow("Metrics", METRIC_ACTIONS, ["*"])
    metrics["Condition"] = {"StringEquals": {"cloudwatch:namespace": cloudwatch_namespace(service)}}
    statements.append(metrics)
    return statements


def _allow(sid: str, actions: tuple[str, ...], resources: list[Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}


def _tags(service: Service) -> list[dict[str, str]]:
    return [
        {"Key": "app.kubernetes.io/part-of", "Value": service.part_of},
        {"Key": "seaway/service", "Value": service.name},
    ]


def _table(resources: dict, outputs: dict, service: Service, table: Table) -> None:
    properties: dict[str, Any] = table_definition(physical_name(service, table), table)
    properties |= {
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "DeletionProtectionEnabled": True,
        "Tags": _tags(service),
    }
    if table.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    name = logical_id(table.name, "table")
    resources[name] = {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }
    outputs[name] = {"Description": f"{service.name}: {table.name} table", "Value": {"Ref": name}}


def _user_pool(resources: dict, outputs: dict, service: Service, pool: UserPool) -> None:
    """The pool (kept when the stack goes: it holds the customers) and its app client; no demo customers."""
    name, client = logical_id(pool.name, "user-pool"), logical_id(pool.name, "user-pool-client")
    physical = user_pool_name(service, pool)
    resources[name] = {
        "Type": "AWS::Cognito::UserPool",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "UserPoolName": physical,
            **user_pool_definition(),
            "DeletionProtection": "ACTIVE",
            "UserPoolTags": {tag["Key"]: tag["Value"] for tag in _tags(service)},
        },
    }
    resources[client] = {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {"ClientName": physical, "UserPoolId": {"Ref": name}, **app_client_definition()},
    }
    outputs["UserPoolId"] = {"Description": f"{service.name}: the {pool.name} user pool", "Value": {"Ref": name}}
    outputs["UserPoolClientId"] = {"Description": f"{service.name}: its app client", "Value": {"Ref": client}}
    outputs["UserPoolIssuer"] = {
        "Description": "The iss of the pool's tokens (the charts' global.auth.issuer)",
        "Value": {"Fn::Sub": f"https://cognito-idp.${{AWS::Region}}.amazonaws.com/${{{name}}}"},
    }


def _topic(resources: dict, outputs: dict, service: Service, topic: Topic) -> None:
    name = logical_id(topic.name, "topic")
    key = logical_id(topic.name, "key")
    physical = physical_name(service, topic)
    # Written out, not Ref: the topic refers to the key, so the key's policy cannot refer to the topic.
    topic_arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{physical}"}
    resources[key] = {
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": f"{service.name}: encrypts the {topic.name} topic's messages at rest",
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        # The account's IAM policies decide who may use the key (the publisher's role does).
                        "Sid": "AccountIamPolicies",
                        "Effect": "Allow",
                        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        # SNS decrypts each message to deliver it to the subscribed queue.
                        "Sid": "SnsUsesKeyForTopic",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": list(TOPIC_KEY_ACTIONS),
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnEquals": {"aws:SourceArn": topic_arn},
                        },
                    },
                ],
            },
            "Tags": _tags(service),
        },
    }
    resources[logical_id(topic.name, "key-alias")] = {
        "Type": "AWS::KMS::Alias",
        "Properties": {"AliasName": f"alias/{physical}", "TargetKeyId": {"Ref": key}},
    }
    resources[name] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {
            "TopicName": physical,
            "KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]},
            "Tags": _tags(service),
        },
    }
    outputs[name] = {"Description": f"{service.name}: {topic.name} topic ARN", "Value": {"Ref": name}}


def _queue(
    resources: dict, outputs: dict, service: Service, queue: Queue, topics: Mapping[str, tuple[Service, Topic]]
) -> None:
    name = logical_id(queue.name, "queue")
    dead_letter = logical_id(queue.name, "dead-letter-queue")
    physical = physical_name(service, queue)
    resources[dead_letter] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": dead_letter_name(service, queue),
            "MessageRetentionPeriod": 1_209_600,  # 14 days, the longest: time to look at a poison message
            "SqsManagedSseEnabled": True,
            "Tags": _tags(service),
        },
    }
    resources[name] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": physical,
            "VisibilityTimeout": queue.visibility_timeout,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter, "Arn"]},
                "maxReceiveCount": queue.max_receives,
            },
            "Tags": _tags(service),
        },
    }
    outputs[name] = {"Description": f"{service.name}: {queue.name} queue URL", "Value": {"Ref": name}}
    if queue.topic is None:
        return
    if queue.topic not in topics:
        raise LookupError(f"{service.name}: queue {queue.name!r} subscribes to undeclared topic {queue.topic!r}")
    topic = logical_id(queue.topic, "topic")
    resources[logical_id(queue.name, "queue-policy")] = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": name}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": f"{topic}ToQueue",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [name, "Arn"]},
                        "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": topic}}},
                    }
                ],
            },
        },
    }
    resources[logical_id(queue.name, "subscription")] = {
        "Type": "AWS::SNS::Subscription",
        "Properties": {
            "TopicArn": {"Ref": topic},
            "Protocol": "sqs",
            "Endpoint": {"Fn::GetAtt": [name, "Arn"]},
            "RawMessageDelivery": True,
        },
    }


def _bucket(resources: dict, outputs: dict, service: Service, bucket: Bucket) -> None:
    name = logical_id(bucket.name, "bucket")
    resources[name] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            # Bucket names are global across accounts: <part_of>-<name>-<account id>-<region>.
            "BucketName": {
                "Fn::Sub": physical_name(service, bucket, account="${AWS::AccountId}", region="${AWS::Region}")
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "Tags": _tags(service),
        },
    }
    resources[logical_id(bucket.name, "bucket-policy")] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": name},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TLSOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [{"Fn::GetAtt": [name, "Arn"]}, {"Fn::Sub": f"${{{name}.Arn}}/*"}],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    outputs[name] = {"Description": f"{service.name}: {bucket.name} bucket", "Value": {"Ref": name}}


def _cache(resources: dict, outputs: dict, part_of: list[str]) -> None:
    resources["Cache"] = {
        "Type": "AWS::ElastiCache::ServerlessCache",
        "Properties": {
            "ServerlessCacheName": f"{part_of[0]}-cache",
            "Engine": "valkey",
            "MajorEngineVersion": "8",
            "Description": "Cache-aside for the services that declare redis (TLS only: rediss://)",
            "SubnetIds": {"Ref": "CacheSubnetIds"},
            "SecurityGroupIds": {"Ref": "CacheSecurityGroupIds"},
        },
    }
    outputs["CacheEndpoint"] = {
        "Description": "REDIS_URL is rediss://<this>:6379/0",
        "Value": {"Fn::GetAtt": ["Cache", "Endpoint.Address"]},
    }


def _repository(resources: dict, outputs: dict, service: Service) -> None:
    name = logical_id(service.name, "repository")
    resources[name] = {
        "Type": "AWS::ECR::Repository",
        "Properties": {
            "RepositoryName": f"{ECR_PREFIX}/{service.name}",
            "ImageTagMutability": "IMMUTABLE",
            "ImageScanningConfiguration": {"ScanOnPush": True},
            "EncryptionConfiguration": {"EncryptionType": "AES256"},
            "Tags": _tags(service),
        },
    }
    outputs[name] = {
        "Description": f"image repository of {service.name}",
        "Value": {"Fn::GetAtt": [name, "RepositoryUri"]},
    }


def _pod_identity_trust(namespace: Any, service_account: str) -> dict[str, Any]:
    """The trust policy of a role EKS Pod Identity hands to one ServiceAccount of this cluster."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EksPodIdentity",
                "Effect": "Allow",
                "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": {"Ref": "AWS::AccountId"},
                        "aws:RequestTag/eks-cluster-name": {"Ref": "ClusterName"},
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": service_account,
                    }
                },
            }
        ],
    }


def autoscaler_policy(queues: list[tuple[Service, Queue]]) -> list[dict[str, Any]]:
    """The statements of KEDA's operator role: read the attributes (the depth) of the declared queues."""
    arns = [{"Fn::GetAtt": [logical_id(queue.name, "queue"), "Arn"]} for _, queue in queues]
    return [_allow("QueueDepth", AUTOSCALER_ACTIONS, arns)]


def _autoscaler_identity(resources: dict, outputs: dict, queues: list[tuple[Service, Queue]]) -> None:
    resources["KedaOperatorRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": "KEDA's operator: the depth of the queues it scales consumers on (EKS Pod Identity)",
            "AssumeRolePolicyDocument": _pod_identity_trust({"Ref": "KedaNamespace"}, KEDA_SERVICE_ACCOUNT),
            "Policies": [
                {
                    "PolicyName": "keda-queue-depth",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": autoscaler_policy(queues)},
                }
            ],
            "Tags": [{"Key": "app.kubernetes.io/part-of", "Value": queues[0][0].part_of}],
        },
    }
    # One association per (namespace, ServiceAccount): k8s/eks/cluster.yaml must not list KEDA's as well.
    resources["KedaOperatorPodIdentity"] = {
        "Type": "AWS::EKS::PodIdentityAssociation",
        "Properties": {
            "ClusterName": {"Ref": "ClusterName"},
            "Namespace": {"Ref": "KedaNamespace"},
            "ServiceAccount": KEDA_SERVICE_ACCOUNT,
            "RoleArn": {"Fn::GetAtt": ["KedaOperatorRole", "Arn"]},
        },
    }
    outputs["KedaOperatorRole"] = {
        "Description": "role of KEDA's operator (TriggerAuthentication podIdentity provider aws, no roleArn)",
        "Value": {"Fn::GetAtt": ["KedaOperatorRole", "Arn"]},
    }


def _identity(resources: dict, outputs: dict, service: Service) -> None:
    role = logical_id(service.name, "role")
    resources[role] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": f"{service.name}: what its declarations need (EKS Pod Identity)",
            "AssumeRolePolicyDocument": _pod_identity_trust({"Ref": "Namespace"}, service.name),
            "Policies": [
                {
                    "PolicyName": f"{service.name}-declared-resources",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": role_policy(service)},
                }
            ],
            "Tags": _tags(service),
        },
    }
    resources[logical_id(service.name, "pod-identity")] = {
        "Type": "AWS::EKS::PodIdentityAssociation",
        "Properties": {
            "ClusterName": {"Ref": "ClusterName"},
            "Namespace": {"Ref": "Namespace"},
            # The charts name each ServiceAccount for its service (serviceAccount.name defaults to it).
            "ServiceAccount": service.name,
            "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
        },
    }
    outputs[role] = {"Description": f"role of {service.name}", "Value": {"Fn::GetAtt": [role, "Arn"]}}
