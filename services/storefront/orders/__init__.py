"""storefront orders service."""
