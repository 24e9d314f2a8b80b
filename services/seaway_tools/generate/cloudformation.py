"""k8s/eks/storefront-aws.yaml: the CloudFormation of the declared resources and roles, as
``seaway cloudformation`` prints it (:mod:`seaway_tools.cloudformation`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seaway_tools import cloudformation
from seaway_tools.generate.declarations import Declared

PATH = Path("k8s/eks/storefront-aws.yaml")


def render(root: Path, services: Mapping[str, Declared]) -> dict[Path, str]:
    return {PATH: cloudformation.render({name: declared.service for name, declared in services.items()})}
