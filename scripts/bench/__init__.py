"""``make bench``: load runs against the services started as ``seaway up`` starts them; figures, never verdicts."""
