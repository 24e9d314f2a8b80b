"""`make bench` is not run by the tests (it measures, for minutes): its modules must still import, so a moved kit
module cannot break it unseen."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_bench_module_imports():
    modules = sorted(p.stem for p in (REPO / "scripts" / "bench").glob("*.py") if p.stem != "__init__")
    code = "import importlib\n" + "".join(f"importlib.import_module('bench.{m}')\n" for m in modules)
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
