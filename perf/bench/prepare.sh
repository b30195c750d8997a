#!/usr/bin/env bash
# Untimed set-up before one benchmark run (hyperfine --prepare): a fresh run directory with a fresh
# name (never reused: this machine's ext4 runs with `discard`, and nothing is deleted until the end),
# pointed to by the symlink CUR that the timed command uses.
#   prepare.sh venv PYTHON RUNS CUR [PIP_SOURCE]  fresh DIR/venv (python -m venv --without-pip, the
#                                            same kind for every tool) + empty DIR/cache; with
#                                            PIP_SOURCE (a site-packages), pip is hardlinked into
#                                            the venv so `venv/bin/python -m pip` runs it natively
#   prepare.sh dir RUNS CUR                  fresh empty DIR (the floors write DIR/tree)
set -euo pipefail
kind=$1
case $kind in
  venv)
    python=$2 runs=$3 cur=$4 pip_source=${5:-}
    d=$(mktemp -d "$runs/run.XXXXXXXX")
    "$python" -m venv --without-pip "$d/venv"
    mkdir "$d/cache"
    if [ -n "$pip_source" ]; then
      site=$(echo "$d"/venv/lib/python3*/site-packages)
      cp -al "$pip_source"/pip "$pip_source"/pip-*.dist-info "$site/"
    fi
    ;;
  dir)
    runs=$2 cur=$3
    d=$(mktemp -d "$runs/run.XXXXXXXX")
    ;;
  *) echo "prepare.sh: unknown kind '$kind'" >&2; exit 2 ;;
esac
ln -sfn "$d" "$cur"
