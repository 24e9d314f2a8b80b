"""Products in DynamoDB: list with a cursor, get, create, update."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from seaway import aws, dynamodb


class ProductNotFound(LookupError):
    pass


class ProductExists(ValueError):
    pass


class BadCursor(ValueError):
    pass


class ProductStore:
    """The products table. Items are plain dicts; prices are integer cents."""

    def __init__(self, table: str) -> None:
        self.table = table

    def ping(self) -> None:
        """Readiness: the table exists and DynamoDB answers."""
        aws.client("dynamodb", probe=True).describe_table(TableName=self.table)

    def list(self, limit: int, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of products and the cursor of the next page (None on the last page)."""
        request: dict[str, Any] = {"TableName": self.table, "Limit": limit}
        if cursor:
            request["ExclusiveStartKey"] = {"id": {"S": _decode_cursor(cursor)}}
        page = aws.client("dynamodb").scan(**request)
        last = page.get("LastEvaluatedKey")
        return [dynamodb.from_item(item) for item in page["Items"]], _encode_cursor(last["id"]["S"]) if last else None

    def get(self, product_id: str) -> dict[str, Any]:
        item = aws.client("dynamodb").get_item(TableName=self.table, Key={"id": {"S": product_id}}).get("Item")
        if item is None:
            raise ProductNotFound(product_id)
        return dynamodb.from_item(item)

    def create(self, product: dict[str, Any]) -> dict[str, Any]:
        now = dynamodb.now()
        product = {**product, "created_at": now, "updated_at": now}
        try:
            aws.client("dynamodb").put_item(
                TableName=self.table,
                Item=dynamodb.to_item(product),
                ConditionExpression="attribute_not_exists(id)",
            )
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException:
            raise ProductExists(product["id"]) from None
        return product

    def update(self, product_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        changes = {**changes, "updated_at": dynamodb.now()}
        names = {f"#f{i}": key for i, key in enumerate(changes)}
        values = {f":v{i}": dynamodb.value(value) for i, value in enumerate(changes.values())}
        try:
            answer = aws.client("dynamodb").update_item(
                TableName=self.table,
                Key={"id": {"S": product_id}},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException:
            raise ProductNotFound(product_id) from None
        return dynamodb.from_item(answer["Attributes"])


def _encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(decoded, dict) or not isinstance(decoded.get("id"), str):
            raise ValueError(cursor)
        return decoded["id"]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None
