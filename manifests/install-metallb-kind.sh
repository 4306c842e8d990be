#!/usr/bin/env bash
# Install MetalLB on a kind cluster, so that a Service of `type: LoadBalancer` gets an
# EXTERNAL-IP (chapter 11): an address from the top of the `kind` Docker network,
# announced by MetalLB's speaker in layer 2 mode (ARP), reachable from the machine
# that runs kind.
#
#   manifests/install-metallb-kind.sh                  # the pinned release, from GitHub
#   METALLB_MANIFEST=path/to/metallb-native.yaml manifests/install-metallb-kind.sh
#
# Needs kubectl (pointing at the kind cluster) and docker. Safe to run again: every
# step is `kubectl apply` or a wait.
#
# Settings (environment): METALLB_VERSION (the release whose metallb-native.yaml is
# applied; v0.15.2 by default, the one CI builds from source and checks on its kind
# cluster with .ci/kind/metallb, which reads the pin below), METALLB_MANIFEST (a
# local file or URL instead of that release's), KIND_NETWORK (default kind),
# METALLB_ADDRESSES (a range such as 172.18.255.200-172.18.255.250 instead of the
# computed one), METALLB_TIMEOUT (how long to wait for the pods, default 300s).
#
# How it differs from the book's Chapter11/install-metallb-kind.sh, and why:
# - The book applies MetalLB v0.12.1 (manifests/namespace.yaml and metallb.yaml) and
#   configures it with a ConfigMap named `config`. MetalLB v0.13 dropped that
#   ConfigMap: it is configured with custom resources now, an IPAddressPool (the
#   addresses) and an L2Advertisement (announce them by ARP), which this script
#   creates. v0.12.1's metallb.yaml also holds two PodSecurityPolicy objects
#   (policy/v1beta1), an API that Kubernetes 1.25 removed: `kubectl apply` fails on
#   them on any current cluster.
# - One manifest, metallb-native.yaml, holds the namespace, the CRDs, the controller
#   and the speaker. The book's `kubectl create secret ... memberlist` with openssl is
#   gone: the controller creates that secret itself.
# - It waits for the controller and the speakers to be ready before it creates the
#   pool: MetalLB validates its resources with a webhook served by the controller,
#   and an IPAddressPool applied too early is refused. The first apply is retried for
#   a while, because the webhook's certificate can reach the controller pod some
#   seconds after the pod is ready.
# - It reads the IPv4 subnet of the `kind` network with `docker network inspect
#   --format` (no jq) and picks the IPv4 entry: the book takes the first entry, which
#   can be the IPv6 one on a dual-stack Docker network (kind's is dual-stack). Any
#   prefix up to /24 works, not only /16: the pool is the .200-.250 of the subnet's
#   last /24 (for x.y.0.0/16, x.y.255.200-x.y.255.250, as in the book), far from the
#   low addresses Docker gives the nodes. A smaller network is refused with a message.
set -euo pipefail

METALLB_VERSION="${METALLB_VERSION:-v0.15.2}"
METALLB_MANIFEST="${METALLB_MANIFEST:-https://raw.githubusercontent.com/metallb/metallb/$METALLB_VERSION/config/manifests/metallb-native.yaml}"
KIND_NETWORK="${KIND_NETWORK:-kind}"
METALLB_TIMEOUT="${METALLB_TIMEOUT:-300s}"
NS=metallb-system

say() { printf 'install-metallb-kind: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

for tool in kubectl docker; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

# ip_to_int A.B.C.D and int_to_ip N: IPv4 addresses as 32-bit numbers.
ip_to_int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
int_to_ip() {
  echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# The pool: .200-.250 of the last /24 of the kind network's IPv4 subnet.
address_range() {
  local subnets subnet net prefix base last
  subnets=$(docker network inspect "$KIND_NETWORK" --format '{{range .IPAM.Config}}{{.Subnet}} {{end}}') ||
    die "no Docker network '$KIND_NETWORK': is the kind cluster running?"
  for subnet in $subnets; do
    [[ "$subnet" =~ ^([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)/([0-9]+)$ ]] || continue
    net=${BASH_REMATCH[1]} prefix=${BASH_REMATCH[2]}
    if ((prefix > 24)); then
      die "the $KIND_NETWORK network's IPv4 subnet $subnet is smaller than a /24: set METALLB_ADDRESSES to a free range in it"
    fi
    base=$(($(ip_to_int "$net") & ~((1 << (32 - prefix)) - 1) & 0xffffffff))
    last=$((base | ((1 << (32 - prefix)) - 1)))     # the broadcast address, x.y.255.255 for a /16
    echo "$(int_to_ip $((last - 55)))-$(int_to_ip $((last - 5)))"
    return 0
  done
  die "the Docker network '$KIND_NETWORK' has no IPv4 subnet (it has: ${subnets:-none})"
}

addresses="${METALLB_ADDRESSES:-$(address_range)}"
say "address pool: $addresses"

say "applying $METALLB_MANIFEST"
kubectl apply -f "$METALLB_MANIFEST"

say "waiting for the controller and the speakers (at most $METALLB_TIMEOUT each)"
kubectl -n "$NS" rollout status deployment/controller --timeout="$METALLB_TIMEOUT"
kubectl -n "$NS" rollout status daemonset/speaker --timeout="$METALLB_TIMEOUT"

pool() {
  kubectl apply -f - <<EOF
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: default
  namespace: $NS
spec:
  addresses:
  - $addresses
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: default
  namespace: $NS
spec:
  ipAddressPools:
  - default
EOF
}

# The webhook may refuse for a short while after the controller is ready: retry,
# 24 times at most, 5 seconds apart (about 2 minutes).
tries=0
until pool; do
  ((++tries < 24)) || die "MetalLB's webhook did not accept the address pool; see: kubectl -n $NS logs deployment/controller"
  say "the webhook is not ready yet, trying again in 5 s ($tries/24)"
  sleep 5
done
say "done: Services of type LoadBalancer get an address from $addresses"
