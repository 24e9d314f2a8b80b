""".github/workflows/images.yml, whole: one image per declared service (the matrix), from services/Dockerfile."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seaway_tools.generate.declarations import Declared

PATH = Path(".github/workflows/images.yml")


def render(root: Path, services: Mapping[str, Declared]) -> dict[Path, str]:
    from seaway_tools.generate import HEADER

    matrix = ", ".join(services)
    text = f"""# {HEADER}.
# One image per declared service, for linux/amd64 and linux/arm64 (QEMU), from services/Dockerfile.
# Pull requests build only; main and tags push to GHCR as ghcr.io/<owner>/seaway-<service>.
name: images
on:
  push:
    branches: [main]
    tags: ["v*"]
  pull_request:
    paths: [services/**, requirements/runtime.lock, pyproject.toml, .dockerignore]
permissions:
  contents: read
  packages: write
jobs:
  build:
    runs-on: ubuntu-24.04
    timeout-minutes: 45
    strategy:
      fail-fast: false
      matrix:
        service: [{matrix}]
    steps:
      - uses: actions/checkout@v5
      - uses: docker/setup-qemu-action@v4
      - uses: docker/setup-buildx-action@v4
      - uses: docker/login-action@v4
        if: github.event_name != 'pull_request'
        with:
          registry: ghcr.io
          username: ${{{{ github.actor }}}}
          password: ${{{{ secrets.GITHUB_TOKEN }}}}
      - id: meta
        uses: docker/metadata-action@v6
        with:
          images: ghcr.io/${{{{ github.repository_owner }}}}/seaway-${{{{ matrix.service }}}}
          tags: |
            type=ref,event=branch
            type=ref,event=pr
            type=semver,pattern={{{{version}}}}
            type=sha
      - uses: docker/build-push-action@v7
        with:
          context: .
          file: services/Dockerfile
          build-args: SERVICE=${{{{ matrix.service }}}}
          platforms: linux/amd64,linux/arm64
          push: ${{{{ github.event_name != 'pull_request' }}}}
          tags: ${{{{ steps.meta.outputs.tags }}}}
          labels: ${{{{ steps.meta.outputs.labels }}}}
          cache-from: type=gha,scope=${{{{ matrix.service }}}}
          cache-to: type=gha,mode=max,scope=${{{{ matrix.service }}}}
"""
    return {PATH: text}
