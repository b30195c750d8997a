#!/usr/bin/env bash
# The main job, end to end on a fresh machine (as root): set up, build, and show what pkg does
# today. When `pkg install` lands this becomes: build a local index of a real lockfile's wheels,
# serve it with nginx, `pkg venv`, `pkg install -r` the lockfile, run one of its console scripts.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/.ci/install-deps.sh"
cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-release" -j "$(nproc)" --target pkg
pkg="$root/build-release/cli/pkg"

work=$(mktemp -d "${TMPDIR:-/tmp}/pkg-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
python=$(command -v python3.11 || command -v python3)

echo "---- pkg --version"
"$pkg" --version
echo "---- pkg --help"
"$pkg" --help
echo "---- pkg venv $work/venv --python $python"
"$pkg" venv "$work/venv" --python "$python"
"$work/venv/bin/python" -c 'import sys; print("venv python", sys.version.split()[0], "prefix", sys.prefix)'
echo "---- pkg --cache-dir $work/cache cache dir / size"
"$pkg" --cache-dir "$work/cache" cache dir
"$pkg" --cache-dir "$work/cache" cache size -H
