#!/usr/bin/env bash
# A kind cluster ready for `skaffold dev` / `skaffold run`: created from k8s/kind/cluster.yaml unless it exists,
# then Istio (sidecar mode: base, CNI, istiod; MESH_MODE=ambient: base, Gateway API CRDs, istiod, CNI, ztunnel;
# an ingress gateway on localhost:8080 in both), the Prometheus Operator (kube-prometheus-stack, Prometheus on
# localhost:9090), the AWS emulator and Redis (k8s/kind/emulators.yaml), and the storefront namespace labelled
# for the data plane. Idempotent; pinned versions in k8s/versions.env.
# Usage: [MESH_MODE=ambient] scripts/kind-up.sh     (cluster name: $SEAWAY_KIND_CLUSTER, default seaway)
set -euo pipefail
export SCRIPT_NAME=kind-up
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require docker kind kubectl helm

if kind get clusters 2>/dev/null | grep -qx "$SEAWAY_KIND_CLUSTER"; then
  say "kind cluster $SEAWAY_KIND_CLUSTER exists"
  # Host ports are fixed when a cluster is made: one made before k8s/kind/cluster.yaml published the emulator
  # (customers sign in there, from the page and kubectl seaway smoke) keeps working without it.
  if [[ -z "$(docker port "$SEAWAY_KIND_CLUSTER-control-plane" 30566/tcp 2>/dev/null)" ]]; then
    say "warning: this cluster does not publish the AWS emulator on localhost:4566, so signing in from the page" \
      "or kubectl seaway smoke fails; make down, then make dev, recreates it"
  fi
else
  say "creating kind cluster $SEAWAY_KIND_CLUSTER"
  kind create cluster --name "$SEAWAY_KIND_CLUSTER" --config "$ROOT/k8s/kind/cluster.yaml" --wait 120s
fi
kubectl config use-context "kind-$SEAWAY_KIND_CLUSTER" >/dev/null

# Istio for MESH_MODE (scripts/lib.sh), then an ingress gateway.
install_istio --values "$ROOT/k8s/kind/istiod-values.yaml"
namespace istio-ingress
helm_install istio-ingressgateway gateway "$ISTIO_VERSION" istio-ingress --repo "$ISTIO_REPO" \
  --values "$ROOT/k8s/kind/istio-gateway-values.yaml"

# Prometheus Operator: the ServiceMonitors and PrometheusRules of the charts need its CRDs.
install_prometheus --values "$ROOT/k8s/kind/kube-prometheus-stack-values.yaml"

# kind only: the AWS emulator and Redis (the Job filling the emulator is part of `skaffold run`/`dev`).
kubectl apply -f "$ROOT/k8s/kind/emulators.yaml" >/dev/null
kubectl -n seaway-system rollout status deployment/moto deployment/redis --timeout 300s >/dev/null

# The application's namespace, in the mesh of MESH_MODE.
storefront_namespace

say "ready: kind-$SEAWAY_KIND_CLUSTER, Istio $MESH_MODE mode (ingress http://localhost:8080, Prometheus http://localhost:9090)"
