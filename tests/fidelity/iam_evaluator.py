"""AWS calls as IAM sees them, and the generated roles' verdict on each, from a real IAM evaluator.

Three parts, each small:

- :func:`authorizations`: a recorded call (tests/fidelity/recorder) -> the IAM requests AWS authorises for it:
  action, resource ARN, condition keys. Most operations are authorised as ``<prefix>:<OperationName>``; those
  that are not are listed in :data:`AUTHORIZED_AS` with where AWS says so, and an operation in neither table
  fails the test (:class:`UnmappedOperation`): a new call must be mapped by a person, never guessed.
- :class:`Stack`: the generated CloudFormation with its intrinsic functions resolved for one account and
  region, so the roles' policies name the same ARNs the calls do; and each resource's own policy (bucket,
  queue, KMS key policies), which AWS evaluates together with the caller's.
- :func:`evaluate`: each request through ``@cloud-copilot/iam-simulate`` (tests/fidelity/iam, under node),
  an implementation of AWS's policy evaluation logic that validates actions and resource types against
  IAM's own service reference: it refuses ``s3:HeadBucket`` as an action, which moto's IAM layer accepts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVALUATOR = Path(__file__).parent / "iam"
RECORDER = Path(__file__).parent / "recorder"

# IAM's service prefix of each botocore service (the same name for all but CloudWatch's endpoint "monitoring").
IAM_PREFIX = {"dynamodb": "dynamodb", "sns": "sns", "sqs": "sqs", "s3": "s3", "cloudwatch": "cloudwatch"}

# Operations authorised as an action of the same name, on the resource their parameters name.
SAME_NAME = {
    "dynamodb": {
        "BatchGetItem",
        "ConditionCheckItem",
        "DeleteItem",
        "DescribeTable",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "UpdateItem",
    },
    "sns": {"Publish"},
    "sqs": {"ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "ReceiveMessage", "SendMessage"},
    "s3": {"PutObject", "GetObject", "DeleteObject"},
    "cloudwatch": {"PutMetricData"},
}

# Operations IAM authorises as another action (Service Authorization Reference, "Actions defined by ..."; the
# S3 API reference names the permission under each operation).
AUTHORIZED_AS = {
    ("s3", "HeadBucket"): "s3:ListBucket",  # "you must have permission to perform the s3:ListBucket action"
    ("s3", "HeadObject"): "s3:GetObject",  # HEAD needs READ access to the object: s3:GetObject
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "CopyObject"): "s3:PutObject",  # on the target; the source needs s3:GetObject (not used here)
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sns", "PublishBatch"): "sns:Publish",
}

# What an SNS topic encrypted with a KMS key implies on that key for a publisher: SNS calls KMS on the
# publisher's behalf (SNS developer guide, "Key management": publishers need both on the topic's key).
PUBLISH_TO_ENCRYPTED_TOPIC = ("kms:GenerateDataKey", "kms:Decrypt")


class UnmappedOperation(LookupError):
    """A recorded operation whose IAM authorisation this module does not know: map it, with its source."""


@dataclass(frozen=True, order=True)
class Authorization:
    """One request IAM evaluates: who, which action, on which resource, with which condition keys."""

    service: str
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    because: str = field(default="", compare=False)  # the call that implies it, for the failure message


def read_calls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def authorizations(call: Mapping[str, Any], account: str, stack: Stack | None = None) -> list[Authorization]:
    """The IAM requests AWS evaluates for one recorded call (``account``: where the resources live)."""
    aws_service, operation, params = call["aws_service"], call["operation"], call["params"]
    region, service = call["region"], call["service"]
    if (aws_service, operation) in AUTHORIZED_AS:
        action = AUTHORIZED_AS[(aws_service, operation)]
    elif operation in SAME_NAME.get(aws_service, ()):
        action = f"{IAM_PREFIX[aws_service]}:{operation}"
    else:
        raise UnmappedOperation(
            f"{service} called {aws_service}:{operation}: add it to SAME_NAME or AUTHORIZED_AS in "
            f"{Path(__file__).name}, with the IAM action AWS authorises it as"
        )
    because = f"{aws_service}:{operation}"
    context: dict[str, str] = {"aws:SecureTransport": "true"}
    implied: list[Authorization] = []
    if aws_service == "dynamodb":
        tables = params.get("RequestItems") or [params["TableName"]]
        resources = [f"arn:aws:dynamodb:{region}:{account}:table/{table}" for table in tables]
        if operation in ("Query", "Scan") and params.get("IndexName"):
            resources = [f"{resources[0]}/index/{params['IndexName']}"]
    elif aws_service == "sqs":
        owner, name = params["QueueUrl"].rstrip("/").split("/")[-2:]
        resources = [f"arn:aws:sqs:{region}:{owner}:{name}"]
    elif aws_service == "sns":
        topic = params.get("TopicArn") or params["TargetArn"]
        resources = [topic]
        key = stack.topic_key(topic) if stack else None
        if key:
            via = {"kms:ViaService": f"sns.{region}.amazonaws.com", "kms:CallerAccount": account}
            implied += [
                Authorization(service, action, key, tuple(sorted((via | context).items())), f"{because} {topic}")
                for action in PUBLISH_TO_ENCRYPTED_TOPIC
            ]
    elif aws_service == "s3":
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        resources = [f"{bucket}/{params['Key']}" if "Key" in params else bucket]
    elif aws_service == "cloudwatch":
        resources = ["*"]  # PutMetricData has no resource type: "*", narrowed by the namespace condition key
        context["cloudwatch:namespace"] = params["Namespace"]
    else:  # pragma: no cover - SAME_NAME/AUTHORIZED_AS only name the services above
        raise UnmappedOperation(f"{aws_service}: no resource mapping")
    items = tuple(sorted(context.items()))
    return [Authorization(service, action, resource, items, because) for resource in resources] + implied


# --- the generated template, resolved ----------------------------------------------------------------------

_SUB = re.compile(r"\$\{([^}!]+)\}")


class Stack:
    """The CloudFormation template as deployed in ``account`` and ``region``: intrinsic functions resolved.

    Only what the template uses: ``Ref``, ``Fn::GetAtt [X, Arn]`` and ``Fn::Sub`` over pseudo parameters,
    parameters' defaults and those two. A KMS key's id is unknowable before it exists: its logical id stands in.
    """

    def __init__(self, template: Mapping[str, Any], account: str, region: str) -> None:
        self.template, self.account, self.region = template, account, region
        self.resources: Mapping[str, Any] = template["Resources"]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(entry) for entry in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            name, attribute = value["Fn::GetAtt"]
            return self._attribute(name, attribute)
        if set(value) == {"Fn::Sub"}:
            return _SUB.sub(lambda m: self._sub(m.group(1)), value["Fn::Sub"])
        return {key: self.resolve(entry) for key, entry in value.items()}

    def _sub(self, name: str) -> str:
        if "." in name:
            resource, attribute = name.split(".", 1)
            return self._attribute(resource, attribute)
        return self.ref(name)

    def ref(self, name: str) -> str:
        pseudo = {"AWS::AccountId": self.account, "AWS::Region": self.region, "AWS::Partition": "aws"}
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.template["Parameters"][name]["Default"]
        resource = self.resources[name]
        properties = self.resolve(resource["Properties"])
        kind = resource["Type"]
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{self.account}:{properties['TopicName']}"
        if kind == "AWS::DynamoDB::Table":
            return properties["TableName"]
        if kind == "AWS::S3::Bucket":
            return properties["BucketName"]
        if kind == "AWS::KMS::Key":
            return name
        raise LookupError(f"Ref to {kind} ({name}) is not resolved here")

    def arn(self, name: str) -> str:
        """The ARN of the resource ``name`` (a logical id)."""
        return self._attribute(name, "Arn")

    def _attribute(self, name: str, attribute: str) -> str:
        if attribute != "Arn":
            raise LookupError(f"{name}.{attribute} is not resolved here")
        kind = self.resources[name]["Type"]
        properties = self.resolve(self.resources[name]["Properties"])
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{properties['TableName']}"
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{self.region}:{self.account}:{properties['QueueName']}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{properties['BucketName']}"
        if kind == "AWS::KMS::Key":
            return f"arn:aws:kms:{self.region}:{self.account}:key/{name}"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{self.account}:role/{name}"
        raise LookupError(f"{name}.Arn ({kind}) is not resolved here")

    def role(self, logical_id: str) -> tuple[str, list[dict[str, Any]]]:
        """A role's session ARN (as its pods call AWS) and its identity policies, resolved."""
        properties = self.resources[logical_id]["Properties"]
        policies = [
            {"name": p["PolicyName"], "policy": self.resolve(p["PolicyDocument"])} for p in properties["Policies"]
        ]
        return f"arn:aws:sts::{self.account}:assumed-role/{logical_id}/eks-pod-identity", policies

    def resource_policy(self, arn: str) -> dict[str, Any] | None:
        """The policy AWS evaluates on the resource side of a request on ``arn``, if the template sets one."""
        for name, resource in self.resources.items():
            kind, properties = resource["Type"], resource["Properties"]
            if kind == "AWS::S3::BucketPolicy":
                bucket = f"arn:aws:s3:::{self.resolve(properties['Bucket'])}"
                if arn == bucket or arn.startswith(bucket + "/"):
                    return self.resolve(properties["PolicyDocument"])
            elif kind == "AWS::SQS::QueuePolicy":
                queues = [self._queue_arn(q) for q in properties["Queues"]]
                if arn in queues:
                    return self.resolve(properties["PolicyDocument"])
            elif kind == "AWS::KMS::Key" and arn == self._attribute(name, "Arn"):
                return self.resolve(properties["KeyPolicy"])
        return None

    def _queue_arn(self, reference: Mapping[str, str]) -> str:
        return self._attribute(reference["Ref"], "Arn")  # a queue's Ref is its URL; its policy names it so

    def topic_key(self, topic_arn: str) -> str | None:
        """The ARN of the KMS key that encrypts ``topic_arn``, if the template encrypts it with one."""
        for name, resource in self.resources.items():
            if resource["Type"] == "AWS::SNS::Topic" and self.ref(name) == topic_arn:
                key = resource["Properties"].get("KmsMasterKeyId")
                return self.resolve(key) if key else None
        return None


# --- the evaluator ------------------------------------------------------------------------------------------


class EvaluatorMissing(RuntimeError):
    pass


def evaluator_problem() -> str | None:
    """Why the evaluator cannot run here, or None."""
    if shutil.which("node") is None:
        return "node not found: install Node.js (Debian package nodejs), then tests/fidelity/iam/install.sh"
    if not (EVALUATOR / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        return "the IAM evaluator is not installed: run tests/fidelity/iam/install.sh (npm ci)"
    return None


@dataclass(frozen=True)
class Verdict:
    authorization: Authorization
    decision: str
    errors: Any = None

    @property
    def allowed(self) -> bool:
        return self.decision == "Allowed"

    def __str__(self) -> str:
        a = self.authorization
        conditions = ", ".join(f"{k}={v}" for k, v in a.context if k != "aws:SecureTransport")
        text = f"{a.service}: {a.action} on {a.resource} ({a.because}) -> {self.decision}"
        return text + (f" [{conditions}]" if conditions else "") + (f" {self.errors}" if self.errors else "")


def evaluate(stack: Stack, roles: Mapping[str, str], requests: Iterable[Authorization]) -> list[Verdict]:
    """Each request of a service (``roles``: service -> role logical id) against its role and the resource's
    own policy, in the account of ``stack``."""
    problem = evaluator_problem()
    if problem:
        raise EvaluatorMissing(problem)
    requests = list(requests)
    batch = []
    for request in requests:
        principal, policies = stack.role(roles[request.service])
        entry = {
            "principal": principal,
            "action": request.action,
            "resource": request.resource,
            "accountId": stack.account,
            "context": dict(request.context),
            "identityPolicies": policies,
        }
        resource_policy = stack.resource_policy(request.resource) if request.resource != "*" else None
        if resource_policy:
            entry["resourcePolicy"] = resource_policy
        batch.append(entry)
    answer = subprocess.run(
        ["node", str(EVALUATOR / "evaluate.mjs")],
        input=json.dumps(batch),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=EVALUATOR,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    if answer.returncode != 0:
        raise RuntimeError(f"the IAM evaluator failed:\n{answer.stderr[-3000:]}")
    results = json.loads(answer.stdout)
    return [Verdict(r, a["decision"], a.get("errors")) for r, a in zip(requests, results, strict=True)]
