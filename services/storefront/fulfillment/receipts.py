"""Receipts in S3: one object per order, keyed by the order id, so a redelivered event overwrites it."""

from __future__ import annotations

import json
from typing import Any

from seaway import aws


class ReceiptWriter:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def ping(self) -> None:
        """Readiness: the bucket exists and S3 answers."""
        aws.client("s3", probe=True).head_bucket(Bucket=self.bucket)

    def write(self, order_id: str, receipt: dict[str, Any]) -> str:
        """Store the receipt; its ``s3://`` address."""
        key = key_for(order_id)
        aws.client("s3").put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(receipt, indent=2).encode(),
            ContentType="application/json",
        )
        return f"s3://{self.bucket}/{key}"


def key_for(order_id: str) -> str:
    return f"receipts/{order_id}.json"
