"""Demo products, loaded at start when SEED_PRODUCTS is true (local mode and kind)."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from storefront.catalog.store import ProductExists, ProductStore

log = logging.getLogger("storefront.catalog.seed")

PRODUCTS = (
    {
        "id": "espresso-beans",
        "name": "Espresso beans, 1 kg",
        "price_cents": 2400,
        "description": "Dark roast, chocolate and cherry.",
    },
    {
        "id": "pour-over-kettle",
        "name": "Pour-over kettle",
        "price_cents": 5900,
        "description": "Gooseneck, 1 litre, stovetop.",
    },
    {
        "id": "ceramic-dripper",
        "name": "Ceramic dripper",
        "price_cents": 2800,
        "description": "Single cup, fits size 02 filters.",
    },
    {"id": "paper-filters", "name": "Paper filters, 100", "price_cents": 600, "description": "Size 02, unbleached."},
    {
        "id": "burr-grinder",
        "name": "Burr grinder",
        "price_cents": 14900,
        "description": "Conical burrs, 40 grind settings.",
    },
    {
        "id": "travel-mug",
        "name": "Travel mug",
        "price_cents": 2200,
        "description": "Insulated, 350 ml, leak-proof lid.",
    },
)


def load(store: ProductStore) -> None:
    """Create each demo product that does not exist yet; safe to run from several workers at once."""
    created = 0
    for product in PRODUCTS:
        try:
            store.create({"currency": "USD", **product})
            created += 1
        except ProductExists:
            pass
        except (BotoCoreError, ClientError) as error:
            log.warning("could not seed products; readiness will report the table", extra={"reason": str(error)})
            return
    if created:
        log.info("seeded demo products", extra={"products": created})
