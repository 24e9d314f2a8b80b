#!/usr/bin/env bash
# Sourced by the scripts behind `make dev`, `make down` and `make deploy`: tool checks and small helpers.
# shellcheck disable=SC2034  # variables set here are used by the scripts that source this file

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.tools/bin:$PATH"
# shellcheck source=k8s/versions.env
source "$ROOT/k8s/versions.env"
SEAWAY_KIND_CLUSTER="${SEAWAY_KIND_CLUSTER:-seaway}"
SEAWAY_NAMESPACE="${SEAWAY_NAMESPACE:-storefront}"

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
