#!/usr/bin/env bash
# Sourced by the scripts behind `make dev`, `make down` and `make deploy`: tool checks and small helpers.
# shellcheck disable=SC2034  # variables set here are used by the scripts that source this file

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.tools/bin:$PATH"
# shellcheck source=k8s/versions.env
source "$ROOT/k8s/versions.env"
SEAWAY_KIND_CLUSTER="${SEAWAY_KIND_CLUSTER:-seaway}"
SEAWAY_NAMESPACE="${SEAWAY_NAMESPACE:-storefront}"
# Istio's data plane: sidecar (default) or ambient (ztunnel + waypoint). `make dev MESH_MODE=ambient` sets it;
# skaffold reads the same variable to activate its ambient profile.
MESH_MODE="${MESH_MODE:-sidecar}"
export MESH_MODE

say() { echo "${SCRIPT_NAME:-seaway}: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# How to get each tool, in one line.
how_to_get() {
  case "$1" in
    helm | kubectl) echo "make tools" ;;
    kind | skaffold | eksctl) echo "scripts/bootstrap-tools.sh --dev" ;;
    docker) echo "install Docker (Docker Desktop, or docker-ce on Linux) and start it" ;;
    aws) echo "install the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)" ;;
    *) echo "install it" ;;
  esac
}

# require TOOL...: every tool on PATH, or one line naming the missing ones and how to get each, exit 1.
require() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    local hints=() hint names
    for tool in "${missing[@]}"; do
      hint="$(how_to_get "$tool")"
      [[ " ${hints[*]-} " == *" $hint "* ]] || hints+=("$hint")
    done
    names="$(printf '%s, ' "${missing[@]}")"
    hint="$(printf '%s; ' "${hints[@]}")"
    die "missing ${names%, } (get: ${hint%; })"
  fi
  if [[ " $* " == *" docker "* ]] && ! docker info >/dev/null 2>&1; then
    die "docker is installed but its engine does not answer (docker info failed): start Docker"
  fi
}

# A namespace with labels, created or updated.
namespace() {
  local name="$1"
  shift
  kubectl create namespace "$name" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  if (($#)); then kubectl label namespace "$name" --overwrite "$@" >/dev/null; fi
}

helm_install() {
  local release="$1" chart="$2" version="$3" ns="$4"
  shift 4
  say "helm: $release ($chart $version) in $ns"
  helm upgrade --install "$release" "$chart" --version "$version" --namespace "$ns" --create-namespace \
    --wait --timeout 10m "$@" >/dev/null
}

# The data plane's labels for the namespace of the storefront (the other mode's label removed, so a cluster can
# switch modes; pods pick the change up when they restart).
mesh_labels() {
  case "$MESH_MODE" in
    sidecar) echo "istio-injection=enabled istio.io/dataplane-mode-" ;;
    ambient) echo "istio.io/dataplane-mode=ambient istio-injection-" ;;
    *) die "MESH_MODE is sidecar or ambient, not '$MESH_MODE'" ;;
  esac
}

# install_istio [ISTIOD_HELM_ARGS...]: Istio for MESH_MODE, pinned in k8s/versions.env.
#   sidecar: base, the CNI node agent (no privileged istio-init in app pods), istiod.
#   ambient: base, the Gateway API CRDs (experimental channel: the waypoint Gateway and HTTPRoute retries),
#            istiod, CNI and ztunnel with Istio's ambient profile.
install_istio() {
  local labels
  labels="$(mesh_labels)" # fails early on a wrong MESH_MODE
  namespace istio-system
  helm_install istio-base base "$ISTIO_VERSION" istio-system --repo "$ISTIO_REPO" --set defaultRevision=default
  if [[ "$MESH_MODE" == ambient ]]; then
    say "Gateway API CRDs $GATEWAY_API_VERSION (experimental channel)"
    kubectl apply --server-side --force-conflicts -f "$GATEWAY_API_CRDS_URL" >/dev/null
    helm_install istiod istiod "$ISTIO_VERSION" istio-system --repo "$ISTIO_REPO" --set profile=ambient "$@"
    helm_install istio-cni cni "$ISTIO_VERSION" istio-system --repo "$ISTIO_REPO" --set profile=ambient
    helm_install ztunnel ztunnel "$ISTIO_VERSION" istio-system --repo "$ISTIO_REPO"
  else
    helm_install istio-cni cni "$ISTIO_VERSION" istio-system --repo "$ISTIO_REPO"
    helm_install istiod istiod "$ISTIO_VERSION" istio-system --repo "$ISTIO_REPO" "$@"
  fi
  say "Istio $ISTIO_VERSION, $MESH_MODE mode (storefront namespace labels: $labels)"
}

# The storefront's namespace in the mesh (mesh_labels); baseline enforced (the CNI agent makes it possible in
# sidecar mode; ambient needs nothing privileged in the pods), restricted reported.
storefront_namespace() {
  local labels
  read -r -a labels <<<"$(mesh_labels)"
  namespace "$SEAWAY_NAMESPACE" "${labels[@]}" \
    pod-security.kubernetes.io/enforce=baseline pod-security.kubernetes.io/warn=restricted
}

# install_prometheus HELM_ARGS...: the Prometheus Operator (kube-prometheus-stack) with the caller's values, plus,
# in ambient mode, k8s/kind/kube-prometheus-stack-ambient-values.yaml. Ambient: Prometheus's own pods join the mesh (its identity is what the storefront's ztunnel policies
# admit; with STRICT mTLS an out-of-mesh Prometheus is refused) and accept plaintext on their own port, for the
# Prometheus UI and API (k8s/kind/prometheus-ambient.yaml).
install_prometheus() {
  local args=("$@")
  if [[ "$MESH_MODE" == ambient ]]; then
    args+=(--values "$ROOT/k8s/kind/kube-prometheus-stack-ambient-values.yaml")
  fi
  helm_install kube-prometheus-stack kube-prometheus-stack "$KUBE_PROMETHEUS_STACK_VERSION" monitoring \
    --repo "$PROMETHEUS_REPO" "${args[@]}"
  if [[ "$MESH_MODE" == ambient ]]; then
    kubectl apply -f "$ROOT/k8s/kind/prometheus-ambient.yaml" >/dev/null
  else
    kubectl delete --ignore-not-found -f "$ROOT/k8s/kind/prometheus-ambient.yaml" >/dev/null
  fi
}

mesh_labels >/dev/null # a wrong MESH_MODE stops every script before it changes anything
