#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian's packages. Idempotent: a machine
# that already has them all does no network work. Used by perf/demo.sh, tests/run.sh and .ci/run.
set -euo pipefail

packages=(
  # toolchain
  g++ clang-14 libclang-rt-14-dev cmake ninja-build pkg-config make
  # libraries pkg links (all from Debian; nothing vendored)
  libboost1.81-dev liburing-dev node-llhttp libssl-dev openssl libdeflate-dev libsimdjson-dev
  libcli11-dev libfmt-dev libexpected-dev libtomlplusplus-dev
  # tests and benchmarks
  catch2 libbenchmark-dev nginx hyperfine time zlib1g-dev unzip curl
  python3-pip-whl python3-setuptools-whl python3-wheel-whl python3-venv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx's Debian package starts a system instance on port 80; the tests start their own.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true; fi
$SUDO service nginx stop >/dev/null 2>&1 || true
