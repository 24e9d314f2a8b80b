"""storefront catalog service."""
