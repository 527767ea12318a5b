#!/usr/bin/env bash
# Runs the whole test suite. Needs a Docker engine for the system tests (see README); any extra arguments
# go to `dotnet test` (CI adds TRX loggers).
set -euo pipefail
cd "$(dirname "$0")"
# Testcontainers against Debian's engine 20.10 (see docs/architecture.md).
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
export TESTCONTAINERS_RYUK_DISABLED="${TESTCONTAINERS_RYUK_DISABLED:-true}"
export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1}"
dotnet build Platform.sln -c Release -nologo -clp:ErrorsOnly
exec dotnet test Platform.sln -c Release --no-build -nologo --blame-hang-timeout 10m "$@"
