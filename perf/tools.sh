#!/usr/bin/env bash
# Makes perf/.tools/venv (git-ignored): pip-tools and uv, installed with pip from pip's configured
# index, for the benchmark and for compiling lockfiles. Idempotent. Prints the venv's bin folder.
set -euo pipefail
perf=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv="$perf/.tools/venv"
python=${PKG_BENCH_PYTHON:-}
if [ -z "$python" ]; then
  # The real interpreter, not a pyenv shim (a shim costs ~120 ms per start).
  python=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')
fi
if [ ! -x "$venv/bin/pip-compile" ] || [ ! -x "$venv/bin/uv" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pip-tools uv >&2
fi
echo "$venv/bin"
