# shellcheck shell=bash
# Shared settings for .ci/kind/*. Sourced, not run.
# shellcheck disable=SC2034 # the settings are used by the scripts that source this

KIND_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---- pinned versions of what .ci/kind/binaries builds ------------------------
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.6}"   # the one kubeadm $K8S_VERSION deploys
LPP_VERSION="${LPP_VERSION:-v0.0.30}"          # rancher/local-path-provisioner

# ---- the binary cache (kept between runs; a new version builds into its own dir) --
KC_CACHE="${KIADA_CLUSTER_CACHE:-/var/cache/kiada-cluster}"
K8S_BIN="$KC_CACHE/kubernetes-$K8S_VERSION/bin"
COREDNS_BIN="$KC_CACHE/coredns-$COREDNS_VERSION/bin"
LPP_BIN="$KC_CACHE/local-path-provisioner-$LPP_VERSION/bin"

# ---- kind's default ranges (kind/cluster.yaml keeps them) ---------------------
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16

export AWS_EC2_METADATA_DISABLED=true

KIND_VERSION="${KIND_VERSION:-v0.33.0}"
KK_CACHE="${KIADA_KIND_CACHE:-/var/cache/kiada-kind}"
KIND_BIN="$KK_CACHE/kind-$KIND_VERSION/kind"
KK_STATE="${KIADA_KIND_STATE:-/var/lib/kiada-kind}"       # the cluster's config and kubeconfig
# shellcheck source=.ci/docker/lib.sh
. "$KIND_LIB_DIR/../docker/lib.sh"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# What kubeadm $K8S_VERSION and kind $KIND_VERSION ask for (cmd/kubeadm/app/constants
# and kind's pkg/build/nodeimage): the node image carries each under that name.
ETCD_VERSION=v3.7.0
ETCD_IMAGE=registry.k8s.io/etcd:3.7.0-0
KIND_COREDNS_IMAGE=registry.k8s.io/coredns/coredns:$COREDNS_VERSION
KIND_PAUSE_IMAGE=registry.k8s.io/pause:3.10           # the node's containerd sandbox_image
KINDNETD_IMAGE=docker.io/kindest/kindnetd:v20260820-69b56db7
KIND_LPP_IMAGE=docker.io/kindest/local-path-provisioner:v20260820-69b56db7
KIND_LPP_HELPER_IMAGE=docker.io/kindest/local-path-helper:v20260131-7181c60a

KIND_BASE_IMAGE=docker.io/kiada-kind/base:$DEBIAN_SUITE
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-docker.io/kindest/node:$K8S_VERSION}"

klog() { printf '[%s] kind: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
kdie() { klog "ERROR: $*"; exit 1; }

# The directory of kind's source in the Go module cache (for its base image files
# and its default manifests, read at build time, never copied into this repo).
kind_source_dir() {
  local tmp dir
  tmp=$(mktemp -d)
  dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  rm -rf "$tmp"
  [[ -n "$dir" && -d "$dir/images/base/files" ]] || kdie "could not download sigs.k8s.io/kind@$KIND_VERSION"
  echo "$dir"
}
