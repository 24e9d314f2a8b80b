#!/bin/sh
# Install the IAM evaluator the fidelity tests use (tests/fidelity/test_iam.py), exactly as package-lock.json
# pins it, into tests/fidelity/iam/node_modules. Needs node and npm (an npm registry).
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
