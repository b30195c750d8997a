#!/usr/bin/env bash
# The main job, end to end on a fresh machine (as root): set up, build pkg, build a local index of
# a real lockfile's wheels (pip downloads them once into the git-ignored perf/.mirror), serve it
# with nginx on loopback, create a venv with `pkg venv`, `pkg install -r` the lockfile (cold, then
# again as a no-op, then warm into a second venv), and run one of its console scripts.
#
# Env: PKG_DEMO_LOCK (default: black; a name in perf/lockfiles or a path),
#      PKG_DEMO_SCRIPT (the console script to run, default: black), PKG_BENCH_PYTHON (the
#      interpreter; default python3.11 on PATH, resolved to the real executable, not a shim).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
perf="$root/perf"
lock=${PKG_DEMO_LOCK:-black}
[ -f "$lock" ] || lock="$perf/lockfiles/$lock.txt"
script=${PKG_DEMO_SCRIPT:-black}

"$root/.ci/install-deps.sh"
cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-release" -j "$(nproc)" --target pkg
pkg="$root/build-release/cli/pkg"

. "$root/perf/bench/python.sh"
python=$PKG_BENCH_PYTHON

work=$(mktemp -d "${TMPDIR:-/tmp}/pkg-demo.XXXXXX")
export PKG_SERVE_STATE="$work/serve"
cleanup() { "$perf/serve.sh" stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

step() { printf '\n---- %s\n' "$*"; }

step "mirror: the wheels of $(basename "$lock") (downloaded once with pip, hash-checked)"
"$perf/mirror.sh" "$lock"
step "index: static PEP 503 + PEP 691 pages for them"
"$perf/index.sh" --lock "$lock" "$perf/.mirror/files" "$work/index" >/dev/null
url=$("$perf/serve.sh" start --root "$work/index")
echo "nginx serves $url"

step "pkg --version"
"$pkg" --version
step "pkg venv $work/venv --python $python"
"$pkg" venv "$work/venv" --python "$python"

step "pkg install -r $(basename "$lock") (cold cache)"
time "$pkg" --cache-dir "$work/cache" install -r "$lock" --python "$work/venv/bin/python" --index-url "$url"
step "again: nothing to do"
time "$pkg" --cache-dir "$work/cache" install -r "$lock" --python "$work/venv/bin/python" --index-url "$url"
step "a second venv from the warm cache"
"$pkg" venv "$work/venv2" --python "$python" >/dev/null
time "$pkg" --cache-dir "$work/cache" install -r "$lock" --python "$work/venv2/bin/python" --index-url "$url"

step "$script --version (console script installed by pkg)"
"$work/venv/bin/$script" --version
step "pkg list"
"$pkg" list --python "$work/venv/bin/python"
step "pkg cache size"
"$pkg" --cache-dir "$work/cache" cache size -H
