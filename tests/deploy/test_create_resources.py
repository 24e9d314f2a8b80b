"""`seaway create-resources`: what the kind Job runs to fill the in-cluster AWS emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from seaway.service import discover, resource_env


def test_create_resources_makes_every_declared_resource_and_prints_each_services_environment(moto):
    env = {**os.environ, **moto.aws_env()}
    command = [sys.executable, "-m", "seaway.cli", "create-resources"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    printed = json.loads(first.stdout)
    for name, service in discover().items():
        assert set(printed[name]) == {resource_env(resource) for resource in service.resources}
    # A Job may run again on every deploy: a second run finds everything in place and prints the same.
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == printed
