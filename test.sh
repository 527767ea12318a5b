#!/usr/bin/env bash
# Runs the whole test suite. Needs a Docker engine for the system tests (see README); any extra arguments
# go to `dotnet test` (CI adds TRX loggers).
set -euo pipefail
cd "$(dirname "$0")"
# Testcontainers against Debian's engine 20.10 (the systemd machine, the compose images; see docs/architecture.md, "Ports and files").
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
export TESTCONTAINERS_RYUK_DISABLED="${TESTCONTAINERS_RYUK_DISABLED:-true}"
export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1}"
dotnet build Platform.sln -c Release -nologo -clp:ErrorsOnly
status=0
# A test that runs past 20 minutes is taken for hung: dumped and killed. The longest system tests build their images on a
# fresh machine (the systemd machine's debootstrap, the compose images): 5-6 minutes at a load average of 45, past 10
# at 60 (a loaded CI run, 2026-12-05).
dotnet test Platform.sln -c Release --no-build -nologo --blame-hang-timeout 20m "$@" || status=$?

# Tests remove what they create. The shared base image is removed by the last test process that used it (see
# tests/TestSupport/TestImages.cs); a test host the runner kills at the end never gets to, so finish its job here: when
# this run imported the image and no live process holds a lease on it, it goes.
leases="${TMPDIR:-/tmp}/berth-test-images"
if [ -f "$leases/imported" ]; then
  live=0
  for lease in "$leases"/*.lease; do
    [ -e "$lease" ] || continue
    pid=$(basename "$lease" .lease)
    if [ -d "/proc/$pid" ]; then live=1; else rm -f "$lease"; fi
  done
  if [ "$live" -eq 0 ]; then
    # Gone already (the last test host removed it but was stopped before it could say so), or removed now.
    if ! docker image inspect berth-test/busybox:1 >/dev/null 2>&1 || docker rmi berth-test/busybox:1 >/dev/null 2>&1; then
      rm -f "$leases/imported"
    fi
  fi
fi
exit "$status"
