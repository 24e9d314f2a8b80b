"""storefront: Seaway's reference application (gateway, catalog, orders, fulfillment).

The services never import each other: they meet over HTTP and events.
"""
