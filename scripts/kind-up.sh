#!/usr/bin/env bash
# A kind cluster ready for `skaffold dev` / `skaffold run`: created from k8s/kind/cluster.yaml unless it exists,
# then Istio (base, CNI, istiod, an ingress gateway on localhost:8080), the Prometheus Operator
# (kube-prometheus-stack, Prometheus on localhost:9090), the AWS emulator and Redis (k8s/kind/emulators.yaml),
# and the storefront namespace labelled for sidecar injection. Idempotent; pinned versions in k8s/versions.env.
# Usage: scripts/kind-up.sh        (cluster name: $SEAWAY_KIND_CLUSTER, default seaway)
set -euo pipefail
export SCRIPT_NAME=kind-up
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require docker kind kubectl helm

if kind get clusters 2>/dev/null | grep -qx "$SEAWAY_KIND_CLUSTER"; then
  say "kind cluster $SEAWAY_KIND_CLUSTER exists"
else
  say "creating kind cluster $SEAWAY_KIND_CLUSTER"
  kind create cluster --name "$SEAWAY_KIND_CLUSTER" --config "$ROOT/k8s/kind/cluster.yaml" --wait 120s
fi
kubectl config use-context "kind-$SEAWAY_KIND_CLUSTER" >/dev/null

# Istio: CRDs, the CNI node agent (no privileged init container in app pods), istiod, an ingress gateway.
namespace istio-system
helm_install istio-base base "$ISTIO_VERSION" istio-system --repo "$ISTIO_REPO" --set defaultRevision=default
helm_install istio-cni cni "$ISTIO_VERSION" istio-system --repo "$ISTIO_REPO"
helm_install istiod istiod "$ISTIO_VERSION" istio-system --repo "$ISTIO_REPO" \
  --values "$ROOT/k8s/kind/istiod-values.yaml"
namespace istio-ingress
helm_install istio-ingressgateway gateway "$ISTIO_VERSION" istio-ingress --repo "$ISTIO_REPO" \
  --values "$ROOT/k8s/kind/istio-gateway-values.yaml"

# Prometheus Operator: the ServiceMonitors and PrometheusRules of the charts need its CRDs.
helm_install kube-prometheus-stack kube-prometheus-stack "$KUBE_PROMETHEUS_STACK_VERSION" monitoring \
  --repo "$PROMETHEUS_REPO" --values "$ROOT/k8s/kind/kube-prometheus-stack-values.yaml"

# kind only: the AWS emulator and Redis (the Job filling the emulator is part of `skaffold run`/`dev`).
kubectl apply -f "$ROOT/k8s/kind/emulators.yaml" >/dev/null
kubectl -n seaway-system rollout status deployment/moto deployment/redis --timeout 300s >/dev/null

# The application's namespace: sidecars injected; baseline enforced (the CNI agent makes it possible),
# restricted reported.
namespace "$SEAWAY_NAMESPACE" istio-injection=enabled \
  pod-security.kubernetes.io/enforce=baseline pod-security.kubernetes.io/warn=restricted

say "ready: kind-$SEAWAY_KIND_CLUSTER (ingress http://localhost:8080, Prometheus http://localhost:9090)"
