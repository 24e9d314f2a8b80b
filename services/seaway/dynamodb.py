"""Plain dicts to DynamoDB items and back, the way every Seaway store keeps its items.

boto3's low-level client speaks typed attribute values (``{"S": "x"}``); stores keep plain dicts. Two rules
are the kit's: a float is stored as the number it reads as (a whole one as an integer: JSON Schema counts
``2.0`` as an integer, so a valid body may carry one; boto3's serializer refuses floats), and a number comes
back as an ``int`` when it is whole, a float otherwise (boto3 gives ``Decimal``). ``None`` is not stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def value(data: Any) -> dict[str, Any]:
    """One attribute value: ``"x"`` -> ``{"S": "x"}``, ``2.0`` -> ``{"N": "2"}``."""
    return _serializer.serialize(_whole(data))


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """A dict as a DynamoDB item, leaving out the keys whose value is None."""
    return {key: value(entry) for key, entry in data.items() if entry is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as a plain dict: whole numbers as int, others as float."""
    return {key: _plain(_deserializer.deserialize(entry)) for key, entry in item.items()}


def now() -> str:
    """The timestamp items carry: UTC, milliseconds, ISO 8601 with ``Z`` (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _whole(data: Any) -> Any:
    if isinstance(data, float):
        return int(data) if data.is_integer() else Decimal(repr(data))
    if isinstance(data, list):
        return [_whole(entry) for entry in data]
    if isinstance(data, dict):
        return {key: _whole(entry) for key, entry in data.items()}
    return data


def _plain(data: Any) -> Any:
    if isinstance(data, Decimal):
        return int(data) if data == data.to_integral_value() else float(data)
    if isinstance(data, list):
        return [_plain(entry) for entry in data]
    if isinstance(data, dict):
        return {key: _plain(entry) for key, entry in data.items()}
    return data
