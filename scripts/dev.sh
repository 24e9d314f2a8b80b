#!/usr/bin/env bash
# make dev: a kind cluster with Istio, the Prometheus Operator, the AWS emulator and Redis (scripts/kind-up.sh),
# then `skaffold dev`: builds the four images, deploys the storefront chart with values-kind.yaml, syncs edited
# Python files into the pods (gunicorn reloads), streams logs. Ctrl-C removes the release; the cluster stays
# (make down deletes it). Extra arguments go to skaffold dev. MESH_MODE=ambient (make dev MESH_MODE=ambient):
# Istio's ambient data plane instead of sidecars, in the cluster and (skaffold's ambient profile) in the chart.
set -euo pipefail
export SCRIPT_NAME=dev
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require docker kind kubectl helm skaffold
"$ROOT/scripts/kind-up.sh"
cd "$ROOT"
say "skaffold dev ($MESH_MODE mode): http://localhost:8080 (through the Istio ingress) once the storefront is deployed"
exec skaffold dev --kube-context "kind-$SEAWAY_KIND_CLUSTER" --port-forward=user "$@"
