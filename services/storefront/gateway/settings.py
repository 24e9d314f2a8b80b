"""The gateway's own settings (the kit's are in seaway.config.KitSettings)."""

from dataclasses import dataclass

from seaway.auth import CustomerAuthSettings
from seaway.client import ClientSettings
from seaway.config import setting


@dataclass(frozen=True, kw_only=True)
class Settings(ClientSettings, CustomerAuthSettings):
    catalog_url: str = setting()
    orders_url: str = setting()
    # Rate limits held in Redis when set (shared by every worker and pod); per process otherwise.
    redis_url: str | None = setting(None)
    # Each client (its address, resolved through TRUSTED_PROXY_HOPS) gets this many requests a second...
    rate_limit_per_second: float = setting(20.0, minimum=0.001, maximum=1_000_000)
    # ...and may burst up to this many at once.
    rate_limit_burst: int = setting(40, minimum=1, maximum=1_000_000)
    # Where the web page signs customers in (Cognito's endpoint, as the browser reaches it); by default the
    # emulator's when AUTH_JWKS_URL points at one, else the pool's region's (storefront.gateway.page).
    sign_in_endpoint: str | None = setting(None)
