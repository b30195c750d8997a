#!/usr/bin/env bash
# perf/bench.sh [options]  — pkg against uv and pip, cold / warm / no-op, one run, one table.
#
#   --quick              black and trio, 3 runs, no warm-up round (each tool's set-up install
#                        is the warm-up); aims at under 5 minutes once the mirror exists
#   --lockfiles "A B"    lockfiles by name (perf/lockfiles/NAME.txt); default: all five
#   --runs N             timed runs per tool and scenario (default 10; --quick 3)
#   --warmup N           untimed rounds first (default 1; --quick 0)
#   --scenarios "..."    any of install-cold install-warm no-op (default: all)
#   --pkg PATH           benchmark this pkg binary instead of building build-release/cli/pkg
#   --https              serve the index over TLS (a CA generated at start) instead of HTTP
#   --keep               keep the work dir (perf/.work/bench-*) instead of deleting it at the end
#   --label TEXT         a note for the results header (e.g. "quick, loaded machine")
#   --out NAME           results as perf/results/NAME.{md,png} (default: the UTC date and time)
#
# Steps: builds pkg (Release, build-release), the tools venv (perf/tools.sh: uv), the mirror
# (perf/mirror.sh), the index (perf/index.sh) and nginx (perf/serve.sh); per lockfile warms each
# tool's cache and fills its no-op venv (checking every pin got installed), then for each scenario
# runs (warm-up +) N hyperfine rounds of one run per tool and floor, rotating the order every
# round so the tools alternate; one more run per tool under /usr/bin/time -v gives the peak RSS.
# Writes perf/results/NAME.md (tables) and NAME.png (chart of the medians). See perf/README.md.
set -euo pipefail
perf=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$perf")
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

lockfiles="trio black pdm jupyter large"
runs=
warmup=
scenarios="install-cold install-warm no-op"
pkg=
https=0
keep=0
label=
out=
quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; lockfiles="black trio"; shift ;;
    --lockfiles) lockfiles=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --pkg) pkg=$2; shift 2 ;;
    --https) https=1; shift ;;
    --keep) keep=1; shift ;;
    --label) label=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$runs" ] || { [ "$quick" = 1 ] && runs=3 || runs=10; }
[ -n "$warmup" ] || { [ "$quick" = 1 ] && warmup=0 || warmup=1; }
[ "$runs" -ge 1 ] 2>/dev/null || { echo "bench.sh: --runs wants a positive number, got '$runs'" >&2; exit 2; }
for s in $scenarios; do
  case $s in install-cold|install-warm|no-op) ;; *) echo "bench.sh: unknown scenario '$s' (install-cold install-warm no-op)" >&2; exit 2 ;; esac
done
for l in $lockfiles; do
  [ -f "$perf/lockfiles/$l.txt" ] || { echo "bench.sh: no lockfile perf/lockfiles/$l.txt" >&2; exit 2; }
done
log() { echo "bench.sh: $(date -u +%H:%M:%S) $*" >&2; }
started=$(date +%s)

# ---- machine dependencies (Debian packages; installed when missing and we are root)
need=()
for c in nginx:nginx hyperfine:hyperfine unzip:unzip curl:curl gnuplot:gnuplot-nox openssl:openssl; do
  command -v "${c%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${c%%:*}" ] || need+=("${c#*:}")
done
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
  else
    echo "bench.sh: missing ${need[*]} (apt-get install ${need[*]})" >&2; exit 1
  fi
fi

# ---- the interpreter every tool installs for: the real one, not a shim
. "$perf/bench/python.sh"
python=$PKG_BENCH_PYTHON
pip_source=$("$python" -c 'import pip, os; print(os.path.dirname(os.path.dirname(pip.__file__)))')

# ---- pkg, uv, mirror, index
if [ -z "$pkg" ]; then
  log "building pkg (Release, build-release)"
  if [ ! -f "$root/build-release/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$root/build-release" -j "${PKG_BENCH_JOBS:-2}" --target pkg >/dev/null
  pkg="$root/build-release/cli/pkg"
fi
pkg=$(cd "$(dirname "$pkg")" && pwd)/$(basename "$pkg")
tools=$("$perf/tools.sh")
uv="$tools/uv"
locks=()
for l in $lockfiles; do locks+=("$perf/lockfiles/$l.txt"); done
log "mirror: $lockfiles"
"$perf/mirror.sh" "${locks[@]}"
index_log=$(mktemp "${TMPDIR:-/tmp}/pkg-bench-index.XXXXXX")
"$perf/index.sh" 2>"$index_log" || { cat "$index_log" >&2; rm -f "$index_log"; exit 1; }
rm -f "$index_log"
mirror=${PKG_MIRROR:-$perf/.mirror}
files="$mirror/files"

stamp=$(date -u +%Y-%m-%d-%H%M)
out=${out:-$stamp}
work="$perf/.work/bench-$stamp-$$"
mkdir -p "$work/json"
meta="$work/meta.tsv"
serve_args=(--state "$work/serve")
[ "$https" = 1 ] && serve_args+=(--https)
cleanup() {
  "$perf/serve.sh" stop --state "$work/serve" || true
  if [ "$keep" = 0 ] && [ -d "$work" ]; then
    # In bulk, at the end, and in the background (tens of thousands of files on a `discard`
    # mount take a minute); the next bench.sh finishes any leftover before it measures.
    mv "$work" "$perf/.work/trash-$(basename "$work")"
    nohup nice -n 19 rm -rf "$perf/.work/trash-$(basename "$work")" >/dev/null 2>&1 &
    log "deleting the work dir in the background"
  fi
}
leftover_started=$(date +%s)
for t in "$perf"/.work/trash-*; do
  [ -e "$t" ] || continue
  log "deleting the previous run's leftover $t first"
  rm -rf "$t" 2>/dev/null || rm -rf "$t"
done
leftover_s=$(( $(date +%s) - leftover_started ))
trap cleanup EXIT
url=$("$perf/serve.sh" start "${serve_args[@]}")
log "index at $url; work dir $work"
# Sanity: both page formats, hashes, sizes and core metadata of a few projects.
"$python" "$perf/bench/check_index.py" "$url"

# ---- the tools' environments: nothing from this machine's configuration, nothing but the index
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_NO_INDEX PIP_CERT PIP_CONSTRAINT
unset UV_INDEX_URL UV_EXTRA_INDEX_URL UV_INDEX UV_DEFAULT_INDEX UV_FIND_LINKS UV_CACHE_DIR UV_COMPILE_BYTECODE UV_OFFLINE
export UV_NO_CONFIG=1 UV_NO_PROGRESS=1 UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=hardlink
# pip caches only what it fetches over HTTPS or from a --trusted-host (plain http:// gets an
# adapter without its HTTP cache), so over HTTP pip is told the loopback host is trusted;
# otherwise its "warm" runs would download everything again.
pip_tls=(--trusted-host 127.0.0.1)
if [ "$https" = 1 ]; then
  ca=$("$perf/serve.sh" ca --state "$work/serve")
  # uv and OpenSSL-based tools read SSL_CERT_FILE; pip's requests lets REQUESTS_CA_BUNDLE and
  # CURL_CA_BUNDLE (set on this machine) override its --cert; curl gets cacert in its config.
  export SSL_CERT_FILE=$ca REQUESTS_CA_BUNDLE=$ca CURL_CA_BUNDLE=$ca
  unset SSL_CERT_DIR
  pip_tls=(--cert "$ca")
fi

# ---- versions and machine facts for the report
{
  printf 'label\t%s\n' "$label"
  printf 'runs\t%s\n' "$runs"
  printf 'warmup\t%s\n' "$warmup"
  printf 'quick\t%s\n' "$quick"
  printf 'scheme\t%s\n' "$([ "$https" = 1 ] && echo https || echo http)"
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'kernel\t%s\n' "$(uname -srm)"
  printf 'os\t%s\n' "$(. /etc/os-release && echo "$PRETTY_NAME")"
  printf 'cpu\t%s × %s\n' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  printf 'memory\t%s\n' "$(free -h | awk '/^Mem:/ {print $2}')"
  printf 'filesystem\t%s\n' "$(findmnt -n -o SOURCE,FSTYPE,OPTIONS --target "$work" | tr -s ' ')"
  printf 'loadavg\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'python\t%s (%s)\n' "$python" "$("$python" -c 'import sys; print(sys.version.split()[0])')"
  printf 'pkg\t%s (%s)\n' "$("$pkg" --version 2>&1 | head -n1)" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
  printf 'uv\t%s\n' "$("$uv" --version)"
  printf 'pip\t%s\n' "$("$python" -m pip --version | cut -d' ' -f1-2)"
  printf 'hyperfine\t%s\n' "$(hyperfine --version)"
  printf 'nginx\t%s\n' "$(nginx -v 2>&1 | sed 's/^nginx version: //')"
  printf 'curl\t%s\n' "$(curl --version | head -n1 | cut -d' ' -f1-2)"
} >"$meta"

# Timed commands, as words (hyperfine -N runs them without a shell: no shell start-up is timed).
# CUR is the symlink prepare.sh points at the run's fresh directory; CACHE the cache to use.
tool_cmd() {
  local tool=$1 venv=$2 cache=$3 lock=$4
  case $tool in
    pkg) echo "$pkg --cache-dir $cache install -r $lock --python $venv/bin/python --index-url $url --link-mode hardlink -q" ;;
    uv) echo "$uv pip install --no-deps -r $lock --python $venv/bin/python --index-url $url --link-mode hardlink --cache-dir $cache -q" ;;
    pip) echo "$venv/bin/python -m pip --isolated install --no-deps -r $lock --index-url $url --cache-dir $cache --no-compile -q --disable-pip-version-check --no-input ${pip_tls[*]}" ;;
  esac
}
# Runs never reuse a directory name and nothing is deleted between runs; but the large lockfile's
# trees (2.5 GB unpacked per install) would fill the disk, so when free space falls under
# PKG_BENCH_MIN_FREE_GB (default 30) the finished runs are deleted in bulk before the next round
# (counted in the results: mass deletes on a `discard` mount slow the file creation that follows).
min_free_gb=${PKG_BENCH_MIN_FREE_GB:-30}
reclaim() {
  local dir=$1 avail
  avail=$(df -P -k "$dir" | awk 'NR == 2 {print int($4 / 1048576)}')
  if [ "$avail" -lt "$min_free_gb" ]; then
    log "only $avail GB free: deleting the finished runs in $dir in bulk"
    find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    sync
    printf 'reclaim\t%s\t%s\n' "$(basename "$(dirname "$dir")")" "$avail" >>"$meta"
  fi
}
site_count() {  # installed distributions in a venv
  find "$1"/lib/python3*/site-packages -maxdepth 1 -name '*.dist-info' ! -name 'pip-[0-9]*' | wc -l
}

for l in $lockfiles; do
  lock="$perf/lockfiles/$l.txt"
  lw="$work/$l"
  mkdir -p "$lw/runs" "$lw/cur"
  "$PKG_BENCH_PYTHON" "$perf/bench/lockfile.py" files "$lock" "$files" >"$lw/wheel-names.txt"
  # What the tools install: the lockfile with the hash of each wheel built from a pinned sdist
  # added (pdm's sat-stac and pandas), so hash checking passes for the bytes the mirror serves.
  "$PKG_BENCH_PYTHON" "$perf/bench/lockfile.py" bench-lock "$lock" "$files" >"$lw/lock.txt"
  lock="$lw/lock.txt"
  pins=$(wc -l <"$lw/wheel-names.txt")
  sed "s|^|$files/|" "$lw/wheel-names.txt" >"$lw/wheels.txt"
  bytes=$(xargs stat -c %s <"$lw/wheels.txt" | awk '{s+=$1} END {print s}')
  base=${url%/simple/}
  sed "s|.*|url = \"$base/files/&\"\noutput = \"/dev/null\"|" "$lw/wheel-names.txt" >"$lw/curl.cfg"
  [ "$https" = 1 ] && echo "cacert = \"$ca\"" >>"$lw/curl.cfg"
  log "$l: $pins wheels, $((bytes / 1048576)) MiB; unpacking once for the warm floor"
  mkdir -p "$lw/unpacked"
  xargs -P "$(nproc)" -I{} unzip -q -o {} -d "$lw/unpacked" <"$lw/wheels.txt"
  unpacked_files=$(find "$lw/unpacked" -type f | wc -l)
  printf 'lock\t%s\t%s\t%s\t%s\n' "$l" "$pins" "$bytes" "$unpacked_files" >>"$meta"

  # Warm each tool's cache and fill its no-op venv: one install each (also checks the tool works).
  tools_ok=()
  for tool in pkg uv pip; do
    mkdir -p "$lw/noop-$tool"
    "$python" -m venv --without-pip "$lw/noop-$tool/venv"
    if [ "$tool" = pip ]; then cp -al "$pip_source"/pip "$pip_source"/pip-*.dist-info "$(echo "$lw/noop-$tool"/venv/lib/python3*/site-packages)/"; fi
    cmd=$(tool_cmd "$tool" "$lw/noop-$tool/venv" "$lw/cache-$tool" "$lock")
    set +e
    $cmd >"$lw/setup-$tool.log" 2>&1
    rc=$?
    set -e
    n=$(site_count "$lw/noop-$tool/venv")
    if [ "$rc" != 0 ]; then
      why="exit $rc: $( (grep -v '^\s*$' "$lw/setup-$tool.log" || true) | head -n 3 | tr '\n' ' ' | cut -c1-200)"
      log "$l: $tool does not work here, its column is n/a ($why)"
      printf 'na\t%s\t%s\t%s\n' "$l" "$tool" "$why" >>"$meta"
      [ "$tool" = pkg ] && continue
      echo "bench.sh: $tool failed on $l: see $lw/setup-$tool.log" >&2; cat "$lw/setup-$tool.log" >&2; exit 1
    fi
    if [ "$n" != "$pins" ]; then
      echo "bench.sh: $tool installed $n distributions for $l, which pins $pins (see $lw/setup-$tool.log)" >&2; exit 1
    fi
    tools_ok+=("$tool")
  done
  log "$l: caches warm for ${tools_ok[*]}"

  for s in $scenarios; do
    # Per entry: name|prepare|command. Rotated every round so each tool runs in every position.
    entries=()
    for tool in "${tools_ok[@]}"; do
      pipsrc=
      if [ "$tool" = pip ]; then pipsrc=$pip_source; fi
      case $s in
        install-cold)
          prep="bash $perf/bench/prepare.sh venv $python $lw/runs $lw/cur/$tool $pipsrc"
          cmd=$(tool_cmd "$tool" "$lw/cur/$tool/venv" "$lw/cur/$tool/cache" "$lock") ;;
        install-warm)
          prep="bash $perf/bench/prepare.sh venv $python $lw/runs $lw/cur/$tool $pipsrc"
          cmd=$(tool_cmd "$tool" "$lw/cur/$tool/venv" "$lw/cache-$tool" "$lock") ;;
        no-op)
          prep="true"
          cmd=$(tool_cmd "$tool" "$lw/noop-$tool/venv" "$lw/cache-$tool" "$lock") ;;
      esac
      entries+=("$tool|$prep|$cmd")
    done
    case $s in
      install-cold) entries+=("floor|bash $perf/bench/prepare.sh dir $lw/runs $lw/cur/floor|bash $perf/bench/floor_cold.sh $lw/curl.cfg $lw/wheels.txt $lw/cur/floor/tree") ;;
      install-warm) entries+=("floor|bash $perf/bench/prepare.sh dir $lw/runs $lw/cur/floor|cp -al $lw/unpacked $lw/cur/floor/tree") ;;
    esac
    total=$((warmup + runs))
    for ((round = 1; round <= total; round++)); do
      reclaim "$lw/runs"
      args=()
      n=${#entries[@]}
      for ((k = 0; k < n; k++)); do
        e=${entries[$(((k + round) % n))]}
        name=${e%%|*}; rest=${e#*|}; prep=${rest%%|*}; cmd=${rest#*|}
        args+=(--prepare "$prep" -n "$name" "$cmd")
      done
      if [ "$round" -le "$warmup" ]; then json="$work/json/warmup-$l-$s-$round.json"; else json="$work/json/$l--$s--$((round - warmup)).json"; fi
      hyperfine -N --runs 1 --style none --export-json "$json" "${args[@]}" >/dev/null
    done
    # Peak RSS: one more run per tool under /usr/bin/time -v.
    for e in "${entries[@]}"; do
      name=${e%%|*}; rest=${e#*|}; prep=${rest%%|*}; cmd=${rest#*|}
      $prep
      /usr/bin/time -v -o "$lw/time-$s-$name.txt" $cmd >/dev/null 2>"$lw/rss-$s-$name.err" || {
        echo "bench.sh: $name failed on $l ($s) in its RSS run: $(head -c 400 "$lw/rss-$s-$name.err")" >&2; exit 1; }
      rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$lw/time-$s-$name.txt")
      printf 'rss\t%s\t%s\t%s\t%s\n' "$l" "$s" "$name" "$rss" >>"$meta"
    done
    log "$l: $s done ($runs runs, ${#entries[@]} commands)"
  done
done

printf 'elapsed\t%s\n' "$(( $(date +%s) - started - leftover_s ))" >>"$meta"
printf 'leftover\t%s\n' "$leftover_s" >>"$meta"
mkdir -p "$perf/results"
"$python" "$perf/bench/report.py" "$work" "$perf/results/$out"
log "wrote perf/results/$out.md and perf/results/$out.png in $(( $(date +%s) - started )) s"
cat "$perf/results/$out.md"
