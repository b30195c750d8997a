#!/usr/bin/env bash
# perf/mirror.sh [LOCKFILE|NAME]...  (default: every perf/lockfiles/*.txt)
#
# Downloads every pinned wheel of the lockfiles once into perf/.mirror/files/ (git-ignored) with
# the real interpreter's pip: `pip download --only-binary=:all: --no-deps -r LOCK` in hash-checking
# mode (the lockfiles carry --hash), so each file is checked against the lockfile as it arrives.
# A pin with no wheel for CPython 3.11 / linux x86_64 is fetched as its sdist (hash-checked too) and
# built once with `pip wheel --no-deps` (build environments constrained by
# lockfiles/build-constraints.txt); the wheel goes into the same folder, recorded in
# perf/.mirror/built.tsv (wheel, sha256, sdist, sdist sha256) so every tool installs the same bytes.
# A pin whose pinned build requirements cannot install on this Python (perf/bench/build-env/NAME.txt
# lists what to use instead) is built without build isolation in perf/.mirror/build-env/NAME.
# Idempotent: pins already in the folder are skipped. Ends by verifying the sha256 of every pinned
# file against the lockfile (or built.tsv). Uses pip's own index configuration; names no index.
#
# Env: PKG_BENCH_PYTHON (default: python3.11 on PATH, resolved to the real executable),
#      PKG_MIRROR (default perf/.mirror).
set -euo pipefail
perf=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi

. "$perf/bench/python.sh"
python=$PKG_BENCH_PYTHON
mirror=${PKG_MIRROR:-$perf/.mirror}
files="$mirror/files"
mkdir -p "$files" "$mirror/sdists"
touch "$mirror/built.tsv"

# The mirror must come from the index, not from a local wheel folder configured for this machine.
unset PIP_FIND_LINKS PIP_NO_INDEX
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off

locks=()
if [ $# -eq 0 ]; then
  for l in "$perf"/lockfiles/*.txt; do
    case $l in */build-constraints.txt) ;; *) locks+=("$l") ;; esac
  done
else
  for a in "$@"; do
    if [ -f "$a" ]; then locks+=("$(cd "$(dirname "$a")" && pwd)/$(basename "$a")")
    elif [ -f "$perf/lockfiles/$a.txt" ]; then locks+=("$perf/lockfiles/$a.txt")
    else echo "mirror.sh: no lockfile '$a' (neither a file nor perf/lockfiles/$a.txt)" >&2; exit 2
    fi
  done
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pkg-mirror.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
helper="$perf/bench/lockfile.py"

for lock in "${locks[@]}"; do
  name=$(basename "$lock" .txt)
  "$python" "$helper" missing "$lock" "$files" >"$tmp/missing.txt"
  n=$(wc -l <"$tmp/missing.txt")
  if [ "$n" -eq 0 ]; then
    echo "mirror.sh: $name: all pins present" >&2
    continue
  fi
  echo "mirror.sh: $name: downloading $n wheel(s)" >&2
  if ! "$python" -m pip download --quiet --no-deps --only-binary=:all: -d "$files" -r "$tmp/missing.txt" 2>"$tmp/pip.err"; then
    # Some pin has no wheel (pip stops at the first): fetch what remains preferring wheels, so only
    # the wheel-less pins come as sdists, then build those.
    "$python" "$helper" missing "$lock" "$files" >"$tmp/missing.txt"
    echo "mirror.sh: $name: $(wc -l <"$tmp/missing.txt") pin(s) left after the wheel-only pass ($(grep -m1 -o 'No matching distribution found for [^ ]*' "$tmp/pip.err" || tail -n1 "$tmp/pip.err")); fetching with sdists allowed" >&2
    # Pins with a perf/bench/build-env/<name>.txt cannot build in pip's isolated environment (their
    # pinned build requirements have no wheel for this Python): build them apart, below.
    : >"$tmp/special.txt"
    : >"$tmp/rest.txt"
    while IFS= read -r line; do
      pin=${line%%==*}
      pin=$(echo "$pin" | tr 'A-Z_.' 'a-z--')
      if [ -f "$perf/bench/build-env/$pin.txt" ]; then echo "$line" >>"$tmp/special.txt"; else echo "$line" >>"$tmp/rest.txt"; fi
    done <"$tmp/missing.txt"
    rm -rf "$tmp/dl" && mkdir -p "$tmp/dl"
    if [ -s "$tmp/rest.txt" ]; then
      # pip download prepares an sdist's metadata in an isolated build environment: constrain it.
      PIP_CONSTRAINT="$perf/lockfiles/build-constraints.txt" "$python" -m pip download --quiet --no-deps \
        --prefer-binary -d "$tmp/dl" -r "$tmp/rest.txt"
    fi
    for f in "$tmp/dl"/*; do
      [ -e "$f" ] || continue
      case $f in
        *.whl) mv "$f" "$files/" ;;
        *)
          sdist=$(basename "$f")
          echo "mirror.sh: $name: building a wheel from $sdist (no wheel published)" >&2
          rm -rf "$tmp/built" && mkdir -p "$tmp/built"
          PIP_CONSTRAINT="$perf/lockfiles/build-constraints.txt" \
            "$python" -m pip wheel --quiet --no-deps -w "$tmp/built" "$f"
          for w in "$tmp/built"/*.whl; do
            printf '%s\t%s\t%s\t%s\n' "$(basename "$w")" "$(sha256sum "$w" | cut -d' ' -f1)" "$sdist" \
              "$(sha256sum "$f" | cut -d' ' -f1)" >>"$mirror/built.tsv"
            mv "$w" "$files/"
          done
          mv "$f" "$mirror/sdists/"
          ;;
      esac
    done
    while IFS= read -r line; do
      pin=${line%%==*}
      pin=$(echo "$pin" | tr 'A-Z_.' 'a-z--')
      venv="$mirror/build-env/$pin"
      if [ ! -x "$venv/bin/python" ]; then
        echo "mirror.sh: $name: build environment for $pin ($perf/bench/build-env/$pin.txt)" >&2
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet -r "$perf/bench/build-env/$pin.txt"
      fi
      echo "mirror.sh: $name: building a wheel for ${line%% *} without build isolation (no wheel published; slow)" >&2
      rm -rf "$tmp/built" && mkdir -p "$tmp/built"
      echo "$line" >"$tmp/one.txt"
      # pip checks the sdist against the lockfile's hashes before building it.
      "$venv/bin/python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$tmp/built" -r "$tmp/one.txt"
      for w in "$tmp/built"/*.whl; do
        printf '%s\t%s\t%s\t%s\n' "$(basename "$w")" "$(sha256sum "$w" | cut -d' ' -f1)" \
          "sdist of ${line%% *}" "hash-checked by pip against the lockfile" >>"$mirror/built.tsv"
        mv "$w" "$files/"
      done
    done <"$tmp/special.txt"
  fi
done

"$python" "$helper" verify "${locks[@]}" "$files"
echo "mirror.sh: $(find "$files" -name '*.whl' | wc -l) wheels, $(du -sh "$files" | cut -f1) in $files" >&2
