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
