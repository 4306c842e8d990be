# shellcheck shell=bash
# Shared settings for .ci/docker/{up,down}. Sourced, not run.
# shellcheck disable=SC2034 # the settings are used by the scripts that source this

KD_ROOT="${KIADA_DOCKER_ROOT:-/var/lib/kiada-docker}"   # dockerd's data root, removed by down
KD_RUN="${KIADA_DOCKER_RUN:-/run/kiada-docker}"         # exec root, pid file, saved iptables
KD_LOG="${KIADA_DOCKER_LOG:-/var/log/kiada-dockerd.log}"
KD_PID="$KD_RUN/dockerd.pid"
KD_SAVED_RULES="$KD_RUN/iptables.before"
KD_SAVED_FORWARD="$KD_RUN/ip_forward.before"
KD_GUARD_COMMENT=kiada-docker-guard
# The names of the bridges Docker makes: docker0, and br-<network id> for user networks.
KD_BRIDGE_NAME='(docker0|br-[0-9a-f]{12})'
# Every pull goes here: a closed port on loopback, so a missing image fails at once
# instead of reaching a registry.
KD_CLOSED_PROXY=http://127.0.0.1:9
# Containers' upstream DNS: the default bridge's own address (docker0 is given it),
# where nothing listens: Docker's embedded resolver (kind's nodes use it) fails a
# lookup of an outside name at once, inside the VM, instead of asking the machine's
# resolver through the bridge.
KD_DNS=172.17.0.1

log() { printf '[%s] docker: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

default_iface() { ip -o route show default 2>/dev/null | awk '{for(i=1;i<=NF;i++) if($i=="dev"){print $(i+1); exit}}'; }

dockerd_pid() {
  local pid
  pid=$(cat "$KD_PID" 2>/dev/null) || return 1
  [[ -n "$pid" && -d /proc/$pid ]] && grep -q dockerd "/proc/$pid/comm" 2>/dev/null && echo "$pid"
}

# Packets that tried to leave the VM from a container (Docker's bridges and the kind
# network): the guard rules in mangle FORWARD, which Docker never rewrites and which
# run before its filter rules. Must stay 0.
guard_count() {
  iptables -w -t mangle -L FORWARD -v -n -x 2>/dev/null |
    awk -v c="$KD_GUARD_COMMENT" 'index($0, "/* " c) && $3 == "DROP" {s += $1} END {print s + 0}'
}

# Removes the iptables rules that name a Docker bridge which no longer exists (docker0 or
# br-<network id>), left by an engine that was stopped without .ci/docker/down: a saved
# baseline would carry them into every later run. They are not harmless: kind's network
# gets the same subnet again, and `-s 172.18.0.0/16 ! -o br-<gone> -j MASQUERADE`
# matches every packet between two kind nodes (they cross the host's netfilter through
# the bridge), so the host's address replaced the node's where kube-proxy masquerades.
drop_dead_bridge_rules() {
  local saved bridge gone=() pattern count
  saved=$(iptables-save)
  while read -r bridge; do
    ip link show "$bridge" >/dev/null 2>&1 || gone+=("$bridge")
  done < <(grep -oE "$KD_BRIDGE_NAME" <<<"$saved" | sort -u)
  ((${#gone[@]} > 0)) || return 0
  pattern="-[io] ($(IFS='|'; echo "${gone[*]}"))( |$)"
  count=$(grep -cE -- "^-A .*$pattern" <<<"$saved" || true)
  grep -vE -- "^-A .*$pattern" <<<"$saved" | iptables-restore
  log "removed $count iptables rules that name Docker bridges which no longer exist (${gone[*]}): an engine stopped without .ci/docker/down left them"
}

# The iptables baseline that down restores: every table there is, and filter, nat and
# mangle (the ones Docker and the guard write) even when they do not exist yet. Plain
# iptables-save prints nothing on a machine whose tables were never used (a new one:
# iptables-nft has no table until a rule is made), and an empty baseline made down
# restore nothing: Docker's chains, its FORWARD policy DROP, its MASQUERADE rules and
# the guard stayed after a cold CI run. `iptables-save -t T` prints an empty table as
# its default policies, which iptables-restore puts back, deleting Docker's chains.
save_tables() {
  local table
  for table in $( (echo filter nat mangle; iptables-save | sed -n 's/^\*//p') | tr ' ' '\n' | sort -u); do
    iptables-save -t "$table"
  done
}
