# Shared by the lab scripts: names and paths of one lab. Source it after setting LAB_ID.
# A lab LAB_ID has:
#   - a "switch" namespace berth-lab-$LAB_ID-sw holding bridge br0 (a bridge in its own namespace avoids the
#     root namespace's FORWARD DROP policy),
#   - hosts berth-lab-$LAB_ID-hN (N = 1..), each a network namespace with eth0 = 10.231.$LAB_NET.(10+N)/24 on
#     that bridge and a dockerd of its own,
#   - one leg into the root namespace: 10.231.$LAB_NET.254/24, where the scheduler and the registry listen.
# Nothing is routed anywhere else: traffic stays between these namespaces and the root leg.
LAB_ID=${LAB_ID:-1}
[[ "$LAB_ID" =~ ^[a-z0-9]{1,4}$ ]] || { echo "LAB_ID must be 1-4 lower-case letters or digits" >&2; exit 2; }
LAB_NET=${LAB_NET:-0}
[[ "$LAB_NET" =~ ^[0-9]{1,3}$ ]] && ((LAB_NET < 256)) || { echo "LAB_NET must be 0-255" >&2; exit 2; }
LAB_PREFIX="berth-lab-$LAB_ID"
LAB_DIR=${LAB_DIR:-/var/lib/berth-lab/$LAB_ID}
LAB_SWITCH="$LAB_PREFIX-sw"
LAB_SUBNET="10.231.$LAB_NET"
LAB_ROOT_IP="$LAB_SUBNET.254"
LAB_ROOT_LINK="bl${LAB_ID}r"

lab_host_ns() { echo "$LAB_PREFIX-h$1"; }
lab_host_ip() { echo "$LAB_SUBNET.$((10 + $1))"; }
lab_host_dir() { echo "$LAB_DIR/h$1"; }
lab_host_sock() { echo "$(lab_host_dir "$1")/docker.sock"; }
# Each engine's own container bridge, distinct per lab and host.
lab_host_bip() { echo "10.232.$(((LAB_NET % 16) * 16 + $1)).1/24"; }

log() { printf '[lab %s] %s\n' "$LAB_ID" "$*" >&2; }

# Creates the lab's switch namespace, its bridge and the root namespace's leg. Fails if the switch exists.
lab_switch_up() {
  ip netns add "$LAB_SWITCH"
  ip -n "$LAB_SWITCH" link set lo up
  ip -n "$LAB_SWITCH" link add br0 type bridge
  ip -n "$LAB_SWITCH" link set br0 up
  ip link add "$LAB_ROOT_LINK" type veth peer name "${LAB_ROOT_LINK}s"
  ip link set "${LAB_ROOT_LINK}s" netns "$LAB_SWITCH"
  ip -n "$LAB_SWITCH" link set "${LAB_ROOT_LINK}s" master br0 up
  ip addr add "$LAB_ROOT_IP/24" dev "$LAB_ROOT_LINK"
  ip link set "$LAB_ROOT_LINK" up
}

# Creates host N's namespace with eth0 on the switch's bridge, and its directory.
lab_host_up() {
  local n=$1 ns a b
  ns=$(lab_host_ns "$n")
  a="bl${LAB_ID}h${n}a" b="bl${LAB_ID}h${n}b"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "$a" type veth peer name "$b"
  ip link set "$a" netns "$ns"
  ip link set "$b" netns "$LAB_SWITCH"
  ip -n "$ns" link set "$a" name eth0
  ip -n "$ns" addr add "$(lab_host_ip "$n")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$LAB_SWITCH" link set "$b" master br0 up
  mkdir -p "$(lab_host_dir "$n")"
}

# Deletes host N's namespace (its veth goes with it) and the cgroups its engine left (cgroup v1 keeps the
# engine's --cgroup-parent directories).
lab_host_down() {
  local ns cg
  ns=$(lab_host_ns "$1")
  ip netns del "$ns" 2>/dev/null || true
  for cg in /sys/fs/cgroup/*/"$ns"; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  return 0
}
