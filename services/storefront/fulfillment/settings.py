"""The fulfillment worker's own settings (the kit's are in seaway.config.KitSettings)."""

from dataclasses import dataclass

from seaway.client import ClientSettings
from seaway.config import setting


@dataclass(frozen=True, kw_only=True)
class Settings(ClientSettings):
    fulfillment_queue_url: str = setting()
    # Resource names come from the environment (the charts, `seaway up`): never a default, since a bucket name is
    # global and a guessed one may be another account's.
    receipts_bucket: str = setting()
    processed_events_table: str = setting()
    orders_url: str = setting()
    # Off to serve only health and metrics (for example while a queue is being drained by hand).
    consume_events: bool = setting(True)
    # Long polling: a receive waits this long for messages; shutdown may wait for it too.
    consumer_wait_seconds: int = setting(10, minimum=0, maximum=20)
    consumer_batch_size: int = setting(10, minimum=1, maximum=10)
    # As the queue's declaration (30 s); the heartbeat extends it while a handler runs.
    consumer_visibility_seconds: int = setting(30, minimum=1, maximum=43_200)
    # A failed message comes back after this, doubled at each receive (0: at once).
    consumer_retry_seconds: float = setting(1.0, minimum=0, maximum=900)
    # On shutdown the message in hand gets this long to finish, then is given back to the queue.
    consumer_stop_seconds: float = setting(10.0, minimum=0, maximum=60)
    # A test and chaos knob: every order takes this much longer to fulfil. Keep 0 in production.
    handler_delay_seconds: float = setting(0.0, minimum=0, maximum=300)
