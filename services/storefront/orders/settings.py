"""The orders service's own settings (the kit's are in seaway.config.KitSettings)."""

from dataclasses import dataclass

from seaway.auth import CustomerAuthSettings
from seaway.client import ClientSettings
from seaway.config import setting


@dataclass(frozen=True, kw_only=True)
class Settings(ClientSettings, CustomerAuthSettings):
    orders_table: str = setting("storefront-orders")
    order_events_topic_arn: str = setting()
    catalog_url: str = setting()
