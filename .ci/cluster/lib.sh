# shellcheck shell=bash
# Shared settings for .ci/cluster/{up,down,build,load-images,logs}. Sourced, not run.

# ---- pinned versions -------------------------------------------------------
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
LPP_VERSION="${LPP_VERSION:-v0.0.30}"          # rancher/local-path-provisioner

# ---- paths -------------------------------------------------------------------
KC_CACHE="${KIADA_CLUSTER_CACHE:-/var/cache/kiada-cluster}"
KC_STATE="${KIADA_CLUSTER_STATE:-/var/lib/kiada-cluster}"
KC_LOGS="$KC_STATE/logs"
KC_PIDS="$KC_STATE/pids"
KC_PKI="$KC_STATE/pki"
KUBECONFIG_PATH="$KC_STATE/kubeconfig"
K8S_BIN="$KC_CACHE/kubernetes-$K8S_VERSION/bin"
COREDNS_BIN="$KC_CACHE/coredns-$COREDNS_VERSION/bin"
LPP_BIN="$KC_CACHE/local-path-provisioner-$LPP_VERSION/bin"
KC_IMAGES="$KC_CACHE/images"
CONTAINERD_SOCK="$KC_STATE/run/containerd.sock"

# ---- network -----------------------------------------------------------------
NODE_NAME=kiada-node
NODE_IP="${KIADA_NODE_IP:-10.200.0.1}"
SINK_IP=10.200.0.2
NODE_NET=10.200.0.0/24
NODE_VETH=kiada-node0            # host side, carries NODE_IP
SINK_VETH=kiada-sink0            # peer, lives in netns $SINK_NS
SINK_NS=kiada-sink
POD_CIDR=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
DNS_IP=10.96.0.10
CNI_BRIDGE=kiada-cni0

# ---- image names (all built here, nothing is pulled) ------------------------
PAUSE_IMAGE="registry.k8s.io/pause:kiada-${K8S_VERSION}"
COREDNS_IMAGE="docker.io/kiada-cluster/coredns:${COREDNS_VERSION}"
LPP_IMAGE="docker.io/kiada-cluster/local-path-provisioner:${LPP_VERSION}"
BUSYBOX_VERSION="$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null | sed 's/^[0-9]*://; s/[^A-Za-z0-9_.-]/-/g' || true)"
BUSYBOX_IMAGE="docker.io/kiada-cluster/busybox:${BUSYBOX_VERSION:-unknown}"

export AWS_EC2_METADATA_DISABLED=true

log()  { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }

default_iface() { ip -o route show default 2>/dev/null | awk '{for(i=1;i<=NF;i++) if($i=="dev"){print $(i+1); exit}}'; }

kc() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

# wait_for DESCRIPTION TRIES SLEEP COMMAND...: bounded poll.
wait_for() {
  local what=$1 tries=$2 pause=$3; shift 3
  local i
  for ((i = 1; i <= tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep "$pause"
  done
  log "timed out waiting for: $what"
  return 1
}

# Guard counters: packets that tried to leave the VM. Must stay 0.
guard_counts() {
  local meta fwd
  meta=$(iptables -w -L OUTPUT -v -n -x 2>/dev/null | awk '$3=="DROP" && $9=="169.254.169.254" {s+=$1} END{print s+0}')
  fwd=$(iptables -w -L FORWARD -v -n -x 2>/dev/null | awk '$3=="DROP" && $8=="10.244.0.0/16" {s+=$1} END{print s+0}')
  echo "metadata_guard_packets=$meta pod_egress_guard_packets=$fwd"
}

# Serialise up/down (a developer and a CI run, or two shells). Nested calls
# (up -> down) inherit the lock through KIADA_CLUSTER_LOCKED.
take_lock() {
  [[ "${KIADA_CLUSTER_LOCKED:-0}" == 1 ]] && return 0
  command -v flock >/dev/null || return 0
  local lock="${KIADA_CLUSTER_LOCK:-/run/lock/kiada-cluster.lock}"
  mkdir -p "$(dirname "$lock")"
  exec 9>"$lock"
  if ! flock -n 9; then
    log "another up/down holds the cluster lock; waiting (at most 30 min)"
    flock -w 1800 9 || die "timed out waiting for the cluster lock"
  fi
  export KIADA_CLUSTER_LOCKED=1
}
