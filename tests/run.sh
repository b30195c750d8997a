#!/usr/bin/env bash
# Set up, build and run every test. Exits non-zero on any failure.
#
#   tests/run.sh                 release (gcc, -Werror) + sanitizers (clang, ASan+UBSan) + fuzz
#   PKG_TEST_MODES="release" tests/run.sh    only some of: release sanitize fuzz
#   PKG_FUZZ_SECONDS=N           seconds per fuzz target (default: 20 when CI=true, else 0 = skip)
#   PKG_FUZZ_SEED=N              libFuzzer seed (default 1: CI runs are reproducible; set another
#                                value, or 0 for a random one, to explore)
#   PKG_TEST_FILTER='[pep440]'   passed to ctest -R (regex on test names) when set
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/.ci/install-deps.sh"

modes=${PKG_TEST_MODES:-"release sanitize fuzz"}
jobs=$(nproc)
if [ "${CI:-}" = "true" ]; then fuzz_seconds=${PKG_FUZZ_SECONDS:-20}; else fuzz_seconds=${PKG_FUZZ_SECONDS:-0}; fi

configure() {  # configure DIR [cmake args...]
  local dir=$1; shift
  cmake -S "$root" -B "$root/$dir" -G Ninja -DPKG_WARNINGS_AS_ERRORS=ON "$@" >/dev/null
}

run_ctest() {  # run_ctest DIR
  local args=(--test-dir "$root/$1" --output-on-failure -j "$jobs" --timeout 600)
  [ -n "${PKG_TEST_FILTER:-}" ] && args+=(-R "$PKG_TEST_FILTER")
  ctest "${args[@]}"
}

failed=()
for mode in $modes; do
  echo "==== tests/run.sh: $mode ===="
  case $mode in
    release)
      configure build-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc
      cmake --build build-release -j "$jobs"
      run_ctest build-release || failed+=(release)
      # The installed package: headers, CMake package, pkg-config, and tests/consumer built against it.
      "$root/tests/packaging/check.sh" "$root/build-release" || failed+=(packaging)
      ;;
    sanitize)
      configure build-sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
        -DCMAKE_C_COMPILER=clang -DPKG_SANITIZE=address,undefined -DPKG_BUILD_PERF=OFF
      cmake --build build-sanitize -j "$jobs"
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_ctest build-sanitize || failed+=(sanitize)
      ;;
    fuzz)
      if [ "$fuzz_seconds" -le 0 ]; then
        echo "fuzz: skipped (set CI=true or PKG_FUZZ_SECONDS=N)"; continue
      fi
      configure build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
        -DCMAKE_C_COMPILER=clang -DPKG_BUILD_FUZZERS=ON -DPKG_BUILD_TESTS=OFF -DPKG_BUILD_CLI=OFF \
        -DPKG_BUILD_PERF=OFF -DPKG_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link
      cmake --build build-fuzz -j "$jobs"
      for fuzzer in build-fuzz/tests/fuzz_*; do
        [ -x "$fuzzer" ] || continue
        name=$(basename "$fuzzer")
        corpus_seed="$root/tests/fuzz/corpus/${name#fuzz_}"
        work="$root/tests/fuzz/.runs/${name#fuzz_}"
        mkdir -p "$work"
        echo "fuzz: $name for ${fuzz_seconds}s"
        if ! "$fuzzer" -seed="${PKG_FUZZ_SEED:-1}" -max_total_time="$fuzz_seconds" \
             -print_final_stats=0 -artifact_prefix="$work/" \
             "$work" "$corpus_seed" >"$work/log.txt" 2>&1; then
          tail -40 "$work/log.txt"; failed+=("fuzz:$name")
        else
          grep -E "^#[0-9]+.*DONE" "$work/log.txt" | tail -1 || true
        fi
      done
      ;;
    *) echo "unknown mode: $mode" >&2; exit 2 ;;
  esac
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "tests/run.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "tests/run.sh: all passed ($modes)"
