"""The declarations under a repository root, found by their files: ``services/<app>/<service>/service.py``
defining ``SERVICE`` (a :class:`seaway.service.Service`).

Each file is executed fresh under a private module name, so a declaration edited in another checkout (a test's
copy of the repository) is read as it is on disk, never as the installed package has it. The root's
``services/`` folder is on ``sys.path`` meanwhile, for a declaration that imports its own package.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from seaway.service import Service, package_name


@dataclass(frozen=True)
class Declared:
    """A declaration and where it lives: ``app`` (the application package, e.g. storefront) and ``module``
    (``storefront.catalog.service``, the entry point's module)."""

    service: Service
    app: str
    path: Path

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def module(self) -> str:
        return f"{self.app}.{self.path.parent.name}.service"

    @property
    def folder(self) -> str:
        """The service's package folder, relative to the root: ``services/storefront/catalog``."""
        return f"services/{self.app}/{self.path.parent.name}"


def declarations(root: Path) -> dict[str, Declared]:
    """Every service declared under ``root``, by name, sorted by name."""
    services_dir = Path(root).resolve() / "services"
    found: dict[str, Declared] = {}
    added = str(services_dir) not in sys.path
    if added:
        sys.path.insert(0, str(services_dir))
    try:
        for path in sorted(services_dir.glob("*/*/service.py")):
            app = path.parent.parent.name
            if not (path.parent / "__init__.py").is_file() or not (path.parent.parent / "__init__.py").is_file():
                continue
            service = _load(path).__dict__.get("SERVICE")
            if service is None:
                continue
            if not isinstance(service, Service):
                raise TypeError(f"{path}: SERVICE must be a seaway.service.Service")
            if package_name(service.name) != path.parent.name:
                raise ValueError(f"{path}: SERVICE is named {service.name!r}, its package {path.parent.name!r}")
            if service.name in found:
                raise ValueError(f"{path}: {service.name!r} is declared twice")
            found[service.name] = Declared(service, app, path.relative_to(services_dir.parent))
    finally:
        if added:
            sys.path.remove(str(services_dir))
    return dict(sorted(found.items()))


def _load(path: Path) -> object:
    name = f"_seaway_declaration_{path.parent.parent.name}_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
