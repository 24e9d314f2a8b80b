"""What a deployable service declares about itself, in one place.

Each service has a ``services/<app>/<service>/service.py`` holding one :class:`Service`. ``make generate``
(``seaway_tools.generate``) writes from these declarations every per-service artefact: the charts' values, with
the names the rules below compute, skaffold.yaml, the image workflow, dashboards and alerts, CloudFormation,
and the ``seaway.services`` entry points in ``pyproject.toml`` by which the runtime (:func:`discover`: the
local runner, the gunicorn configuration, an image) finds them. So a port, a caller or a queue is named once,
and each naming rule is written once, here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "seaway.services"


@dataclass(frozen=True)
class Table:
    """A DynamoDB table. ``indexes`` are global secondary indexes: name -> (hash key, range key).

    ``ttl_attribute``: the number attribute (epoch seconds) after which DynamoDB deletes an item (Time to
    Live), enabled the same way in the emulator (:mod:`seaway_tools.resources`) and in CloudFormation.
    """

    name: str
    hash_key: str
    range_key: str | None = None
    indexes: tuple[tuple[str, str, str | None], ...] = ()
    ttl_attribute: str | None = None
    kind: str = field(default="table", init=False)


@dataclass(frozen=True)
class Topic:
    """An SNS topic the service publishes to."""

    name: str
    kind: str = field(default="topic", init=False)


@dataclass(frozen=True)
class Queue:
    """An SQS queue the service consumes, subscribed to ``topic``, with a dead-letter queue.

    A message received ``max_receives`` times without being deleted moves to the dead-letter queue
    (:func:`dead_letter_name`: ``<physical name>-dlq``) through the queue's redrive policy.
    """

    name: str
    topic: str | None = None
    max_receives: int = 5
    visibility_timeout: int = 30
    kind: str = field(default="queue", init=False)


@dataclass(frozen=True)
class Bucket:
    """An S3 bucket the service writes to, named per account and region (:func:`physical_name`)."""

    name: str
    kind: str = field(default="bucket", init=False)


Resource = Table | Topic | Queue | Bucket


@dataclass(frozen=True)
class UserPool:
    """The application's Amazon Cognito user pool, with one app client, whose customers sign in.

    Declared on the service that faces the customers (the gateway); one per application (``part_of``). It is
    not one of a service's ``resources``: no service calls Cognito through IAM, and its three values reach
    every service that verifies tokens, not only the one declaring it (:func:`auth_env`). A service verifies
    tokens when its OpenAPI document gives an operation ``security`` (:mod:`seaway.auth`).

    The app client has no secret and allows ``USER_PASSWORD_AUTH`` (a browser cannot keep a secret).
    ``demo_customers`` (username, password) are created in the emulator only (``seaway up``, kind, tests),
    never by the CloudFormation of a real account.
    """

    name: str
    demo_customers: tuple[tuple[str, str], ...] = ()
    kind: str = field(default="userpool", init=False)


@dataclass(frozen=True)
class RestrictedPaths:
    """Paths of a service that only some of its callers may use: on a cluster, the mesh denies them to the
    other callers (an Istio DENY AuthorizationPolicy). ``callers`` must be among the service's callers."""

    paths: tuple[str, ...]
    callers: tuple[str, ...]


@dataclass(frozen=True)
class Service:
    """A deployable service: its WSGI app, local port, who it calls, who may call it, what AWS it uses.

    - ``app``: gunicorn's app spec, e.g. ``"storefront.catalog.app:create_app()"``.
    - ``port``: the port under ``seaway up``; in containers every service listens on 8080.
    - ``calls``: services this one calls over HTTP; each arrives as ``<NAME>_URL``.
    - ``callers``: services allowed to call this one; drives NetworkPolicy and AuthorizationPolicy.
      ``"ingress"`` stands for the public entry (the mesh's ingress gateway).
    - ``resources``: AWS resources; each arrives as an environment variable (see :func:`resource_env`).
    - ``redis``: uses Redis when ``REDIS_URL`` is set.
    - ``caches``: the caches it keeps and counts with ``seaway.metrics.cache_lookup`` (a dashboard panel each).
    - ``public``: reachable from outside the cluster through the ingress.
    - ``settings``: the service's own settings dataclass (``module:Class``), validated before any worker
      starts (see :mod:`seaway.config`).
    - ``restricted_paths``: paths only some of the callers may use (:class:`RestrictedPaths`).
    - ``local_env``: extra environment for ``seaway up`` only (for example seeding demo data).
    - ``user_pool``: the application's customer sign-in (:class:`UserPool`), on the service facing customers.
    """

    name: str
    app: str
    port: int
    settings: str | None = None
    description: str = ""
    calls: tuple[str, ...] = ()
    callers: tuple[str, ...] = ()
    resources: tuple[Resource, ...] = ()
    redis: bool = False
    caches: tuple[str, ...] = ()
    public: bool = False
    restricted_paths: tuple[RestrictedPaths, ...] = ()
    local_env: tuple[tuple[str, str], ...] = ()
    user_pool: UserPool | None = None
    part_of: str = "storefront"

    def __post_init__(self) -> None:
        for restricted in self.restricted_paths:
            strangers = set(restricted.callers) - set(self.callers)
            if strangers:
                raise ValueError(f"{self.name}: restricted_paths names {sorted(strangers)}, not among its callers")


def table_definition(name: str, table: Table) -> dict:
    """The table as DynamoDB's CreateTable and CloudFormation's ``AWS::DynamoDB::Table`` both describe it:
    on-demand billing, string keys, every index projecting all attributes."""
    keys = [(table.hash_key, "HASH")] + ([(table.range_key, "RANGE")] if table.range_key else [])
    attributes = {key for key, _ in keys}
    indexes = []
    for index_name, hash_key, range_key in table.indexes:
        index_keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
        attributes |= {key for key, _ in index_keys}
        indexes.append(
            {
                "IndexName": index_name,
                "KeySchema": [{"AttributeName": k, "KeyType": t} for k, t in index_keys],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    definition = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "KeySchema": [{"AttributeName": k, "KeyType": t} for k, t in keys],
    }
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    return definition


def resource_env(resource: Resource) -> str:
    """The environment variable that carries a resource's physical name (ARN or URL for topics/queues).

    ``Table("products")`` -> ``PRODUCTS_TABLE``; ``Topic("order-events")`` -> ``ORDER_EVENTS_TOPIC_ARN``;
    ``Queue("fulfillment")`` -> ``FULFILLMENT_QUEUE_URL``; ``Bucket("receipts")`` -> ``RECEIPTS_BUCKET``.
    """
    stem = resource.name.upper().replace("-", "_")
    suffix = {"table": "TABLE", "topic": "TOPIC_ARN", "queue": "QUEUE_URL", "bucket": "BUCKET"}[resource.kind]
    return f"{stem}_{suffix}"


# S3's limit on a bucket name, and the longest an AWS account id and region name are (the longest regions so
# far, e.g. "us-isof-south-1", have 15 characters; tests/deploy checks botocore's list against this).
BUCKET_NAME_MAX = 63
ACCOUNT_ID_LENGTH = 12
REGION_NAME_MAX = 20


class NameTooLong(ValueError):
    """A physical name that cannot fit its service's limit in every account and region."""


def physical_name(
    service: Service, resource: Resource, *, account: str | None = None, region: str | None = None
) -> str:
    """The physical name of a resource.

    Tables, topics and queues: ``<part_of>-<name>`` (``storefront-products``). Buckets, whose names are
    global across every AWS account: ``<part_of>-<name>-<account id>-<region>``
    (``storefront-receipts-123456789012-us-east-1``), so a bucket needs ``account`` and ``region``. The Helm
    charts receive the name with the placeholders of :func:`resource_value` and fill in ``global.aws``;
    CloudFormation passes ``${AWS::AccountId}`` and ``${AWS::Region}`` for ``Fn::Sub``. A bucket name that could
    exceed 63 characters in some account and region raises :class:`NameTooLong`.
    """
    name = f"{service.part_of}-{resource.name}"
    if not isinstance(resource, Bucket):
        return name
    if not account or not region:
        raise ValueError(f"bucket {resource.name!r} is named per account and region: give both")
    longest = len(name) + 1 + ACCOUNT_ID_LENGTH + 1 + REGION_NAME_MAX
    if longest > BUCKET_NAME_MAX:
        raise NameTooLong(
            f"bucket {name!r}: with an account id and a region its name may reach {longest} characters "
            f"(S3 allows {BUCKET_NAME_MAX}); shorten part_of or the bucket's name"
        )
    return f"{name}-{account}-{region}"


def user_pool_name(service: Service, pool: UserPool) -> str:
    """The physical name of a user pool and of its app client: ``storefront-customers``."""
    return f"{service.part_of}-{pool.name}"


def user_pool_definition() -> dict:
    """The pool as CreateUserPool and CloudFormation's ``AWS::Cognito::UserPool`` both describe it (without its
    name): customers are created by an administrator (no self sign-up), usernames are case-insensitive, passwords
    of 12 characters or more."""
    return {
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        "UsernameConfiguration": {"CaseSensitive": False},
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
            }
        },
    }


def app_client_definition() -> dict:
    """The app client as CreateUserPoolClient and ``AWS::Cognito::UserPoolClient`` both describe it (without its
    name and pool): no secret (a browser cannot keep one), sign-in with username and password, tokens for an hour,
    no hint whether a username exists."""
    return {
        "GenerateSecret": False,
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        "PreventUserExistenceErrors": "ENABLED",
        "AccessTokenValidity": 60,
        "IdTokenValidity": 60,
        "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes"},
    }


def cognito_issuer(region: str, pool_id: str) -> str:
    """The ``iss`` of a pool's tokens, the same in the emulator as in AWS:
    ``https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123``."""
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def auth_env(issuer: str, client_ids: Iterable[str], jwks_url: str | None = None) -> dict[str, str]:
    """What a service that verifies tokens reads (:class:`seaway.auth.AuthSettings`): ``AUTH_ISSUER``,
    ``AUTH_CLIENT_IDS`` (comma-separated) and, where the keys are not at ``<issuer>/.well-known/jwks.json`` (an
    emulator), ``AUTH_JWKS_URL``."""
    env = {"AUTH_ISSUER": issuer, "AUTH_CLIENT_IDS": ",".join(client_ids)}
    if jwks_url:
        env["AUTH_JWKS_URL"] = jwks_url
    return env


def dead_letter_name(service: Service, queue: Queue) -> str:
    """The physical name of a queue's dead-letter queue: ``storefront-fulfillment-dlq``."""
    return f"{physical_name(service, queue)}-dlq"


def package_name(service_name: str) -> str:
    """The Python package of a service: its name with ``-`` as ``_`` (``order-history`` -> ``order_history``)."""
    return service_name.replace("-", "_")


def callers_of(name: str, services: Mapping[str, Service]) -> tuple[str, ...]:
    """Who may call ``name``: the callers its declaration names, and every service whose declaration says it
    calls ``name``. A call is declared once, by the caller: a new service that calls catalog needs no edit of
    catalog's declaration to be let through its NetworkPolicy and AuthorizationPolicy."""
    declared = services[name].callers
    implied = sorted(other.name for other in services.values() if name in other.calls and other.name not in declared)
    return (*declared, *implied)


def url_env(service_name: str) -> str:
    """The environment variable that carries a called service's base URL: ``catalog`` -> ``CATALOG_URL``."""
    return f"{service_name.upper().replace('-', '_')}_URL"


# In containers every service listens on this port (the image's PORT); ``seaway up`` uses the declared ports.
CONTAINER_PORT = 8080

# What only a deployment knows, as placeholders in the values the charts receive (charts/seaway-service's
# _configmap.tpl substitutes them from global.aws): the account id, the region and the SQS endpoint.
ACCOUNT, REGION, SQS_ENDPOINT = "{account}", "{region}", "{sqsEndpoint}"


def cluster_url(service_name: str) -> str:
    """A called service's base URL inside the cluster (its Kubernetes Service): ``http://catalog:8080``."""
    return f"http://{service_name}:{CONTAINER_PORT}"


def sqs_endpoint(region: str, endpoint_url: str | None = None) -> str:
    """SQS's endpoint: an emulator's ``endpoint_url`` when there is one, else the region's public endpoint."""
    return (endpoint_url or f"https://sqs.{region}.amazonaws.com").rstrip("/")


def resource_value(
    service: Service,
    resource: Resource,
    *,
    account: str = ACCOUNT,
    region: str = REGION,
    endpoint: str = SQS_ENDPOINT,
) -> str:
    """What :func:`resource_env` carries: a table's or bucket's physical name, a topic's ARN, a queue's URL
    (``endpoint``: SQS's, see :func:`sqs_endpoint`).

    Without ``account``, ``region`` and ``endpoint`` the value holds the placeholders :data:`ACCOUNT`,
    :data:`REGION` and :data:`SQS_ENDPOINT`, which a deployment fills in: what ``make generate`` gives the
    charts, e.g. ``arn:aws:sns:{region}:{account}:storefront-order-events``.
    """
    physical = physical_name(service, resource, account=account, region=region)
    if isinstance(resource, Topic):
        return f"arn:aws:sns:{region}:{account}:{physical}"
    if isinstance(resource, Queue):
        return f"{endpoint}/{account}/{physical}"
    return physical


@cache
def discover() -> dict[str, Service]:
    """Every service declared under the ``seaway.services`` entry points, by name."""
    found: dict[str, Service] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        service = entry.load()
        if not isinstance(service, Service) or service.name != entry.name:
            raise TypeError(f"entry point {entry.name!r} must name a Service called {entry.name!r}")
        found[service.name] = service
    return dict(sorted(found.items()))


def load_object(spec: str) -> object:
    """Import ``"package.module:attribute"`` (a trailing ``()`` is ignored: gunicorn's factory syntax)."""
    module_name, _, attribute = spec.partition(":")
    return getattr(import_module(module_name), attribute.removesuffix("()"))


def current() -> Service:
    """The service this process runs, named by ``SEAWAY_SERVICE``."""
    name = os.environ.get("SEAWAY_SERVICE", "")
    services = discover()
    if name not in services:
        known = ", ".join(services) or "none"
        raise LookupError(f"SEAWAY_SERVICE={name!r} names no declared service (declared: {known})")
    return services[name]
