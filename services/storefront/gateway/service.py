"""The gateway's declaration: the public edge, REST API and web page, fanning out to the others."""

from seaway.service import Service, UserPool

SERVICE = Service(
    name="gateway",
    description="Public REST API and web page",
    app="storefront.gateway.app:create_app()",
    settings="storefront.gateway.settings:Settings",
    port=8080,
    calls=("catalog", "orders"),
    callers=("ingress",),
    redis=True,  # the rate limit's buckets, shared by every worker and pod
    public=True,
    # Customers sign in to the storefront; the demo customers exist in the emulator only (seaway up, kind, tests).
    user_pool=UserPool(
        "customers",
        demo_customers=(("ada", "Ada-Lovelace-1815"), ("grace", "Grace-Hopper-1906")),
    ),
)
