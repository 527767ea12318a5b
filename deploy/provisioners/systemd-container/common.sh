# shellcheck shell=bash
# Shared by create, destroy and list (exec provisioner, worked example 2): settings and names.
#
# Settings (Provisioning:Exec:Environment):
#   BERTH_MACHINE_POOL     the machines' label value: this provisioner's machines, and no one else's (default berth)
#   BERTH_MACHINE_AGENT    a self-contained publish of the agent (the folder holding Berth.Agent); create needs it
#   BERTH_MACHINE_IMAGE    the machine image (default test/debian-systemd-docker:1, built by build-image.sh when missing)
#   BERTH_MACHINE_NETWORK  the Docker network the machines join (default bridge); the scheduler must listen where
#                          this network routes to (its gateway address)
#   BERTH_MACHINE_IMAGES   images of this host's engine loaded into every new machine's engine (space-separated), as
#                          images baked into a VM template
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pool=${BERTH_MACHINE_POOL:-berth}
image=${BERTH_MACHINE_IMAGE:-test/debian-systemd-docker:1}
network=${BERTH_MACHINE_NETWORK:-bridge}
pool_label=berth.machine.pool
name_label=berth.machine.name
creator_label=berth.machine.creator

log() { echo "systemd-container: $*" >&2; }
valid_name() { [[ "$1" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]]; }
[[ "$pool" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || { log "BERTH_MACHINE_POOL '$pool' is not 1-31 of a-z 0-9 -"; exit 64; }

# The machine's container name: pool and host name, so pools never collide.
container_of() { echo "berth-machine-$pool-$1"; }

# PID CMDWORD: the process lives and its command line holds the word (a reused pid does not count).
pid_alive_as() {
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}
