"""The kit's item helpers: plain dicts in, DynamoDB items out, and back."""

from decimal import Decimal

from seaway import dynamodb


def test_a_dict_round_trips_with_whole_numbers_as_int():
    data = {"id": "x", "count": 3, "price": 2.5, "lines": [{"quantity": 2.0}], "ok": True, "gone": None}
    item = dynamodb.to_item(data)
    assert "gone" not in item
    assert item["count"] == {"N": "3"} and item["lines"]["L"][0]["M"]["quantity"] == {"N": "2"}
    back = dynamodb.from_item(item)
    assert back == {"id": "x", "count": 3, "price": 2.5, "lines": [{"quantity": 2}], "ok": True}
    assert type(back["count"]) is int and type(back["lines"][0]["quantity"]) is int


def test_numbers_from_dynamodb_are_never_decimal():
    assert dynamodb.from_item({"n": {"N": "7"}, "f": {"N": "0.25"}}) == {"n": 7, "f": 0.25}
    assert not any(isinstance(v, Decimal) for v in dynamodb.from_item({"n": {"N": "7"}}).values())


def test_timestamps_sort_as_text():
    first, second = dynamodb.now(), dynamodb.now()
    assert first.endswith("Z") and len(first) == len("2026-01-01T00:00:00.000Z") and first <= second
