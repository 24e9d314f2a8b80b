#!/usr/bin/env bash
# make down: delete the kind cluster of `make dev` (everything in it, the emulator's data included).
set -euo pipefail
export SCRIPT_NAME=down
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require kind
if kind get clusters 2>/dev/null | grep -qx "$SEAWAY_KIND_CLUSTER"; then
  kind delete cluster --name "$SEAWAY_KIND_CLUSTER"
else
  say "no kind cluster named $SEAWAY_KIND_CLUSTER"
fi
