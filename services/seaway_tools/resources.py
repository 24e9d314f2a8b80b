"""Create the AWS resources that services declare, in an emulator (``seaway up``, kind, tests).

On EKS the same declarations become CloudFormation (``k8s/eks``); here they are made through boto3, and
each service gets the environment variables that carry its resources' physical names. Bucket names carry the
account the credentials belong to (STS GetCallerIdentity: the emulator's 123456789012) and ``AWS_REGION``, the
rule :func:`seaway.service.physical_name` states once.

The application's user pool (:class:`seaway.service.UserPool`) is made with its app client and demo customers;
every service whose OpenAPI document has secured operations gets the ``AUTH_*`` variables that point it at the
pool (:func:`seaway.service.auth_env`): the canonical Cognito issuer, which the emulator puts in its tokens, and
the emulator's JWKS URL. :func:`sign_in` gets a customer's access token, as the web page and ``curl`` do.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from seaway import auth, aws, openapi
from seaway.service import (
    Bucket,
    Queue,
    Service,
    Table,
    Topic,
    app_client_definition,
    auth_env,
    cognito_issuer,
    dead_letter_name,
    discover,
    physical_name,
    resource_env,
    resource_value,
    table_definition,
    user_pool_definition,
    user_pool_name,
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
    verifying = [service for service in services if verifies_tokens(service)]
    # The pool of the application, also when the service declaring it is not among these (seaway up orders).
    owners = [s for s in discover().values() if s.user_pool and any(v.part_of == s.part_of for v in verifying)]
    pool = create_user_pool([*services, *(owner for owner in owners if owner not in services)])
    if pool is not None:
        for service in verifying:
            environments[service.name].update(pool.env)
    return environments


@dataclass(frozen=True)
class Pool:
    """A user pool made in the emulator: its ids, the environment of the services that verify its tokens,
    and the demo customers (username, password) that can sign in."""

    pool_id: str
    client_id: str
    env: dict[str, str]
    demo_customers: tuple[tuple[str, str], ...]


def create_user_pool(services: Iterable[Service]) -> Pool | None:
    """Make the pool one of ``services`` declares, its app client and its demo customers (idempotent)."""
    declared = [(service, service.user_pool) for service in services if service.user_pool is not None]
    if not declared:
        return None
    if len(declared) > 1:
        raise ValueError(f"one user pool per application: {', '.join(s.name for s, _ in declared)} each declare one")
    service, pool = declared[0]
    name = user_pool_name(service, pool)
    cognito = aws.client("cognito-idp")
    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    pool_id = next((p["Id"] for p in pools if p["Name"] == name), None)
    if pool_id is None:
        pool_id = cognito.create_user_pool(PoolName=name, **user_pool_definition())["UserPool"]["Id"]
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == name), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName=name, **app_client_definition())[
            "UserPoolClient"
        ]["ClientId"]
    for username, password in pool.demo_customers:
        add_customer(pool_id, username, password)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/")
    jwks_url = f"{endpoint}/{pool_id}/.well-known/jwks.json" if endpoint else None
    env = auth_env(cognito_issuer(aws.region(), pool_id), [client_id], jwks_url)
    return Pool(pool_id, client_id, env, pool.demo_customers)


def add_customer(pool_id: str, username: str, password: str) -> None:
    """A customer who can sign in at once with ``password`` (no temporary password, no invitation)."""
    cognito = aws.client("cognito-idp")
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)


def sign_in(client_id: str, username: str, password: str) -> str:
    """A customer's access token: Cognito's InitiateAuth with USER_PASSWORD_AUTH, as the web page does."""
    answer = aws.client("cognito-idp").initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return answer["AuthenticationResult"]["AccessToken"]


def demo_token(environment: Mapping[str, str], username: str | None = None) -> str:
    """A demo customer's access token (the first declared one unless ``username``), for a script or a test that
    places orders: ``environment`` is a service's from :func:`create` (its ``AUTH_CLIENT_IDS``); the emulator is
    ``AWS_ENDPOINT_URL``."""
    customers = dict(demo_customers())
    username = username or next(iter(customers))
    client_id = environment["AUTH_CLIENT_IDS"].split(",")[0]
    return sign_in(client_id, username, customers[username])


def demo_customers() -> tuple[tuple[str, str], ...]:
    """The declared demo customers, (username, password), of the installed application."""
    return next((s.user_pool.demo_customers for s in discover().values() if s.user_pool is not None), ())


def verifies_tokens(service: Service) -> bool:
    """Whether the service's OpenAPI document (``openapi.yaml`` in its package) has secured operations."""
    return bool(auth.secured_operations(openapi.of_service(service.app)))


def sign_in_lines(services: Iterable[Service], environments: Mapping[str, Mapping[str, str]]) -> list[str]:
    """What ``seaway up`` prints about signing in: the demo customers and a curl command that gets a token from
    the emulator (``environments``: what :func:`create` returned for ``services``); none when none of them verifies
    tokens. The demo customers are those of the pool among ``services``, else of the installed application's."""
    demo = next((s.user_pool.demo_customers for s in services if s.user_pool is not None), None) or demo_customers()
    environment = next((env for env in environments.values() if "AUTH_CLIENT_IDS" in env), None)
    if environment is None or not demo:
        return []
    client_id = environment["AUTH_CLIENT_IDS"].split(",")[0]
    endpoint = "{0.scheme}://{0.netloc}".format(urlsplit(environment.get("AUTH_JWKS_URL", environment["AUTH_ISSUER"])))
    username, password = demo[0]
    request = json.dumps(
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": username, "PASSWORD": password},
        }
    )
    return [
        "Customers sign in on the page as " + ", ".join(f"{name} / {secret}" for name, secret in demo) + ".",
        f"A token for curl ({username}; send its AuthenticationResult.AccessToken as 'Authorization: Bearer ...'):",
        f"  curl -s {endpoint}/ -H 'Content-Type: application/x-amz-json-1.1' "
        f"-H 'X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth' -d {shlex.quote(request)}",
    ]


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
