#!/usr/bin/env bash
# perf/index.sh [--lock LOCKFILE]... [FILES [ROOT]]
#
# Generates the static simple index the benchmark and the demo serve: PEP 503 HTML and PEP 691
# JSON (index.html + index.json in ROOT/simple/ and in ROOT/simple/<name>/, sha256 of every wheel,
# Requires-Python, PEP 658 core metadata as FILES/<wheel>.metadata). Defaults: FILES =
# perf/.mirror/files (made by perf/mirror.sh), ROOT = perf/.mirror. With --lock (a path or a name
# in perf/lockfiles), only those lockfiles' wheels are listed. Serve ROOT with perf/serve.sh.
set -euo pipefail
perf=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
. "$perf/bench/python.sh"
python=$PKG_BENCH_PYTHON
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --lock)
      l=$2; [ -f "$l" ] || l="$perf/lockfiles/$2.txt"
      [ -f "$l" ] || { echo "index.sh: no lockfile '$2'" >&2; exit 2; }
      args+=(--lock "$l"); shift 2 ;;
    *) break ;;
  esac
done
mirror=${PKG_MIRROR:-$perf/.mirror}
exec "$python" "$perf/bench/make_index.py" "${args[@]}" "${1:-$mirror/files}" "${2:-$mirror}"
