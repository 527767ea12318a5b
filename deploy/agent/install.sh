#!/usr/bin/env bash
# Installs the Berth agent as a systemd service.
#
#   sudo deploy/agent/install.sh --scheduler-url http://10.0.0.1:7070 --join-token TOKEN [--cluster NAME]
#        [--zone Z] [--instance-type T] [--attribute NAME=VALUE]... [--docker-endpoint unix:///var/run/docker.sock]
#        [--from PUBLISH_DIR]
#
# Without --from it publishes a self-contained agent from this checkout (needs the .NET SDK). With DESTDIR set
# everything goes under that root (a throwaway root for tests and packaging): the unit is enabled with
# `systemctl --root` when systemctl exists, and nothing is started.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
destdir=${DESTDIR:-}
prefix=/opt/berth/agent
confdir=/etc/berth
unitdir=/etc/systemd/system
datadir=/var/lib/berth/agent
from=""
scheduler_url="" join_token="" cluster="" zone="" instance_type="" docker_endpoint=""
attributes=()

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "install.sh: $*" >&2; exit 1; }

while (($#)); do
  case "$1" in
    --scheduler-url) scheduler_url=${2:?}; shift 2 ;;
    --join-token) join_token=${2:?}; shift 2 ;;
    --cluster) cluster=${2:?}; shift 2 ;;
    --zone) zone=${2:?}; shift 2 ;;
    --instance-type) instance_type=${2:?}; shift 2 ;;
    --docker-endpoint) docker_endpoint=${2:?}; shift 2 ;;
    --attribute)
      [[ "${2:-}" == ?*=?* ]] || die "--attribute wants NAME=VALUE, not '${2:-}'"
      attributes+=("$2"); shift 2 ;;
    --from) from=${2:?}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage 2 ;;
  esac
done

if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (or set DESTDIR to install into a throwaway root)"
fi

# 1. The binaries: a self-contained publish, so the host needs no .NET runtime.
if [ -z "$from" ]; then
  command -v dotnet >/dev/null || die "no --from and no dotnet SDK to publish with"
  arch=$(uname -m); case "$arch" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) die "unsupported architecture $arch" ;; esac
  from=$(mktemp -d)
  trap 'rm -rf "$from"' EXIT
  echo "publishing the agent ($rid, self-contained)"
  dotnet publish "$repo/src/Agent/Berth.Agent.csproj" -c Release -r "$rid" --self-contained -o "$from" -nologo -clp:ErrorsOnly >&2
fi
[ -x "$from/Berth.Agent" ] || die "$from/Berth.Agent is missing or not executable"

install -d -m 0755 "$destdir$prefix"
# Replace the previous version's files, not merge with them.
find "$destdir$prefix" -mindepth 1 -delete
cp -a "$from/." "$destdir$prefix/"
chmod 0755 "$destdir$prefix/Berth.Agent"
if [ -f "$repo/docs/agent.md" ]; then install -m 0644 "$repo/docs/agent.md" "$destdir$prefix/README.agent.md"; fi

# 2. The configuration: written when asked for (or when there is none), kept otherwise. 0600: it holds the join token.
install -d -m 0755 "$destdir$confdir"
config="$destdir$confdir/agent.json"
if [ -n "$scheduler_url" ] || [ ! -f "$config" ]; then
  [ -n "$scheduler_url" ] || die "--scheduler-url is required for a first install"
  json_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }
  {
    echo "{"
    printf '  "SchedulerUrl": "%s",\n' "$(json_escape "$scheduler_url")"
    [ -n "$join_token" ] && printf '  "JoinToken": "%s",\n' "$(json_escape "$join_token")"
    [ -n "$zone" ] && printf '  "Zone": "%s",\n' "$(json_escape "$zone")"
    [ -n "$instance_type" ] && printf '  "InstanceType": "%s",\n' "$(json_escape "$instance_type")"
    [ -n "$docker_endpoint" ] && printf '  "DockerEndpoint": "%s",\n' "$(json_escape "$docker_endpoint")"
    if ((${#attributes[@]})); then
      # Custom instance attributes (a provisioned host's berth.host-name among them).
      printf '  "Attributes": {'
      sep=""
      for a in "${attributes[@]}"; do
        printf '%s"%s": "%s"' "$sep" "$(json_escape "${a%%=*}")" "$(json_escape "${a#*=}")"
        sep=", "
      done
      printf '},\n'
    fi
    printf '  "DataDirectory": "%s",\n' "$datadir"
    printf '  "Cluster": "%s"\n' "$(json_escape "${cluster:-default}")"
    echo "}"
  } >"$config.tmp"
  chmod 0600 "$config.tmp"
  mv "$config.tmp" "$config"
fi
install -d -m 0700 "$destdir$datadir"

# 3. The unit.
install -d -m 0755 "$destdir$unitdir"
install -m 0644 "$here/berth-agent.service" "$destdir$unitdir/berth-agent.service"

if [ -n "$destdir" ]; then
  if command -v systemctl >/dev/null; then
    systemctl --root="$destdir" enable berth-agent.service
  else
    echo "systemctl not found: berth-agent.service installed but not enabled"
  fi
elif [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable berth-agent.service
  systemctl restart berth-agent.service
  echo "berth-agent is running: journalctl -u berth-agent -f"
else
  systemctl enable berth-agent.service 2>/dev/null || true
  echo "systemd is not running here: berth-agent.service is installed and enabled, start it at boot"
fi
echo "installed the Berth agent in $destdir$prefix"
