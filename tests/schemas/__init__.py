"""Offline JSON schemas the tests validate rendered files against, vendored so a clone needs nothing beside it.

See README.md in this folder for each schema's source and version. ``SEAWAY_SCHEMAS`` points the tests at
another folder of the same layout (for example newer CRDs).
"""

from __future__ import annotations

import os
from pathlib import Path


def schemas_folder() -> Path:
    """The folder holding ``crds/<group>/<kind>_<version>.json``, ``skaffold/`` and ``eksctl/``."""
    configured = os.environ.get("SEAWAY_SCHEMAS")
    return Path(configured) if configured else Path(__file__).resolve().parent
