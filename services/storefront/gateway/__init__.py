"""storefront gateway service."""
