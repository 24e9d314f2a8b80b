"""Orders in DynamoDB: placed once per idempotency key, read by id or by customer, marked fulfilled."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from seaway import aws, dynamodb

log = logging.getLogger("storefront.orders.store")

# Kept in the item for the service's own bookkeeping, never shown to clients.
INTERNAL_FIELDS = ("request_fingerprint", "published")


class OrderNotFound(LookupError):
    pass


class IdempotencyConflict(ValueError):
    """The idempotency key was used before for a different request."""


class OrderStore:
    """The orders table and its ``by-customer`` index (customer_id, created_at)."""

    def __init__(self, table: str) -> None:
        self.table = table

    def ping(self) -> None:
        """Readiness: the table exists and DynamoDB answers."""
        aws.client("dynamodb", probe=True).describe_table(TableName=self.table)

    def place(self, order: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Write ``order`` unless its id exists; (the stored order, True when this call wrote it).

        The id is derived from the idempotency key, so this one conditional write is what makes concurrent
        retries of the same request create one order. An existing order placed by a different request
        (another fingerprint) raises IdempotencyConflict.
        """
        client = aws.client("dynamodb")
        try:
            client.put_item(
                TableName=self.table, Item=dynamodb.to_item(order), ConditionExpression="attribute_not_exists(id)"
            )
        except client.exceptions.ConditionalCheckFailedException:
            existing = self.find(order["id"])
            if existing is None:  # withdrawn in between, its event unpublished (withdraw_unpublished): again
                return self.place(order)
            if existing.get("request_fingerprint") != order["request_fingerprint"]:
                raise IdempotencyConflict(order["id"]) from None
            return existing, False
        return order, True

    def find(self, order_id: str) -> dict[str, Any] | None:
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self.table, Key={"id": {"S": order_id}}, ConsistentRead=True)
            .get("Item")
        )
        return dynamodb.from_item(item) if item else None

    def get(self, order_id: str) -> dict[str, Any]:
        order = self.find(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def for_customer(self, customer_id: str, limit: int) -> list[dict[str, Any]]:
        """The customer's most recent orders, newest first."""
        answer = aws.client("dynamodb").query(
            TableName=self.table,
            IndexName="by-customer",
            KeyConditionExpression="customer_id = :customer",
            ExpressionAttributeValues={":customer": {"S": customer_id}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [dynamodb.from_item(item) for item in answer["Items"]]

    def withdraw_unpublished(self, order_id: str) -> None:
        """Delete an order whose event could not be published; a failure is logged, the order then stays."""
        client = aws.client("dynamodb")
        try:
            client.delete_item(
                TableName=self.table,
                Key={"id": {"S": order_id}},
                ConditionExpression="published = :false",
                ExpressionAttributeValues={":false": {"BOOL": False}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            pass  # published meanwhile by a replay: it stays
        except (BotoCoreError, ClientError) as error:
            log.warning("could not withdraw an unpublished order", extra={"order_id": order_id, "reason": str(error)})

    def mark_published(self, order_id: str) -> None:
        aws.client("dynamodb").update_item(
            TableName=self.table,
            Key={"id": {"S": order_id}},
            UpdateExpression="SET published = :true",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )

    def fulfil(self, order_id: str, receipt: str) -> dict[str, Any]:
        """Mark the order fulfilled; again is harmless (the first fulfilment time and receipt stay)."""
        client = aws.client("dynamodb")
        now = dynamodb.now()
        try:
            answer = client.update_item(
                TableName=self.table,
                Key={"id": {"S": order_id}},
                UpdateExpression=(
                    "SET #status = :fulfilled, fulfilled_at = if_not_exists(fulfilled_at, :now), "
                    "receipt = if_not_exists(receipt, :receipt), updated_at = :now"
                ),
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":fulfilled": {"S": "fulfilled"},
                    ":now": {"S": now},
                    ":receipt": {"S": receipt},
                },
                ReturnValues="ALL_NEW",
            )
        except client.exceptions.ConditionalCheckFailedException:
            raise OrderNotFound(order_id) from None
        return dynamodb.from_item(answer["Attributes"])


def public(order: dict[str, Any]) -> dict[str, Any]:
    """The order as clients see it."""
    return {key: value for key, value in order.items() if key not in INTERNAL_FIELDS}
