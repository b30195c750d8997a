#!/usr/bin/env bash
# Recompiles perf/lockfiles/*.txt from the *.in inputs beside them, for CPython 3.11 on linux
# x86_64, with pip-tools (`pip-compile --generate-hashes`) from a git-ignored tools venv.
# Uses pip's own index configuration (PIP_INDEX_URL / pip.conf); names no index itself.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
perf=$(dirname "$here")
python=${PKG_BENCH_PYTHON:-$(command -v python3.11 || true)}
if [ -z "$python" ] || [ ! -x "$python" ]; then
  python=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')
fi
"$perf/tools.sh" >/dev/null   # makes perf/.tools/venv with pip-tools and uv
tools="$perf/.tools/venv/bin"
cd "$here"
# sat-stac (pdm) is an sdist whose setup.py imports pkg_resources, which new setuptools dropped:
# constrain the isolated build environments pip-compile makes to get its metadata.
export PIP_CONSTRAINT="$here/build-constraints.txt"
for input in ${1:-*.in}; do
  name=${input%.in}
  echo "compile.sh: $name" >&2
  "$tools/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
    --no-emit-trusted-host --no-emit-find-links --resolver=backtracking --output-file "$name.txt" "$input"
done
