# Sourced by perf/*.sh: sets and exports PKG_BENCH_PYTHON, the interpreter every script and tool
# uses — $PKG_BENCH_PYTHON if set, else python3.11 (or python3) on PATH resolved to the real
# executable, not a pyenv shim (a shim costs ~120 ms per start and may pick another Python).
if [ -z "${PKG_BENCH_PYTHON:-}" ]; then
  PKG_BENCH_PYTHON=$(command -v python3.11 || command -v python3)
  PKG_BENCH_PYTHON=$("$PKG_BENCH_PYTHON" -c 'import sys; print(sys.executable)')
fi
export PKG_BENCH_PYTHON
