#!/usr/bin/env bash
# Makes the two base images the Dockerfiles build FROM, offline, out of this host's own files (no registry, no
# Docker Hub): `docker import` of a small root filesystem holding busybox, the shared libraries .NET needs, the
# host's .NET install, CA certificates, and for the SDK image a NuGet feed with exactly the packages this
# repository restores.
#   berth/dotnet-runtime:10   /usr/share/dotnet without the SDK (host, shared frameworks), ~200 MB
#   berth/dotnet-sdk:10       all of /usr/share/dotnet + /nuget (packages from every project.assets.json)
# Run it once (and again after an SDK or package upgrade); needs a built checkout (for obj/project.assets.json),
# busybox-static and a Docker engine. Usage: deploy/docker/base-images.sh [runtime|sdk|all]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
which="${1:-all}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The files every image has: busybox as /bin/sh, the libraries the .NET host, runtime and native shims link or
# dlopen (OpenSSL is dlopen'ed, so ldd does not show it), certificates, a passwd.
base_rootfs() {
  local fs="$1"
  mkdir -p "$fs/bin" "$fs/tmp" "$fs/etc/ssl/certs" "$fs/root" "$fs/usr/share"
  chmod 1777 "$fs/tmp"
  cp /bin/busybox "$fs/bin/busybox"
  for applet in sh ls cat echo sleep env mkdir rm cp mv ln test true false grep sed tr wc head tail ps kill id hostname nc; do
    ln -sf busybox "$fs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$fs/etc/passwd"
  printf 'root:x:0:\n' >"$fs/etc/group"
  cp -L /etc/ssl/certs/ca-certificates.crt "$fs/etc/ssl/certs/"
  local libs
  libs=$( { find "$fs/usr/share/dotnet" -name '*.so' -o -name dotnet -type f; } | xargs -r ldd 2>/dev/null \
    | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/lib64\// { print $1 }' | sort -u)
  for lib in $libs /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/x86_64-linux-gnu/libcrypto.so.3 /lib64/ld-linux-x86-64.so.2; do
    [ -e "$lib" ] && cp -L --parents "$lib" "$fs/"
  done
}

import() {
  local fs="$1" tag="$2"
  tar -C "$fs" -c . | docker import \
    --change 'ENV PATH=/usr/share/dotnet:/bin:/usr/bin' \
    --change 'ENV LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu' \
    --change 'ENV DOTNET_ROOT=/usr/share/dotnet' \
    --change 'ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1' \
    --change 'ENV DOTNET_CLI_TELEMETRY_OPTOUT=1' \
    --change 'ENV DOTNET_NOLOGO=1' \
    --change 'ENV HOME=/root' \
    --change 'CMD ["/bin/sh"]' \
    - "$tag" >/dev/null
  echo "made $tag ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1048576}'))"
}

if [ "$which" = runtime ] || [ "$which" = all ]; then
  fs="$work/runtime"
  mkdir -p "$fs/usr/share/dotnet"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$dotnet_root/shared" "$fs/usr/share/dotnet/"
  base_rootfs "$fs"
  import "$fs" berth/dotnet-runtime:10
fi

if [ "$which" = sdk ] || [ "$which" = all ]; then
  fs="$work/sdk"
  mkdir -p "$fs/usr/share/dotnet" "$fs/nuget" "$fs/root/.nuget/NuGet"
  cp -a "$dotnet_root/." "$fs/usr/share/dotnet/"
  base_rootfs "$fs"
  # The feed: every package (and version) the repository's projects restored, in NuGet's hierarchical layout.
  packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  assets=$(find "$root/src" "$root/tests" -path '*/obj/project.assets.json')
  [ -n "$assets" ] || { echo "no obj/project.assets.json: build the repository first (./berth --help builds it)" >&2; exit 1; }
  python3 - "$packages" "$fs/nuget" $assets <<'PY'
import json, os, shutil, sys
source, target, files = sys.argv[1], sys.argv[2], sys.argv[3:]
wanted = set()
for f in files:
    for key, lib in json.load(open(f))["libraries"].items():
        if lib.get("type") == "package":
            wanted.add(lib["path"])
for path in sorted(wanted):
    shutil.copytree(os.path.join(source, path), os.path.join(target, path), dirs_exist_ok=True)
print(f"{len(wanted)} packages in the feed")
PY
  cat >"$fs/root/.nuget/NuGet/NuGet.Config" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="offline" value="/nuget" />
  </packageSources>
</configuration>
XML
  import "$fs" berth/dotnet-sdk:10
fi
