"""storefront fulfillment service."""
