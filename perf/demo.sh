#!/usr/bin/env bash
# The main job, end to end on a fresh machine (as root): set up, build, and show pkg.
# Later issues turn this into a real install of a lockfile from a local index.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/.ci/install-deps.sh"
cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-release" -j "$(nproc)" --target pkg
pkg="$root/build-release/cli/pkg"
echo "---- $pkg --version"
"$pkg" --version
echo "---- $pkg --help"
"$pkg" --help
