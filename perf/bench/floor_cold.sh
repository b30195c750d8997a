#!/usr/bin/env bash
# The cold floor: fetch every wheel of a lockfile over the same loopback with one parallel curl
# (bodies to /dev/null), then unzip them all in parallel into DEST. What any installer must at
# least do with an empty cache, without hashing, metadata, RECORD or scripts.
#   floor_cold.sh CURL_CONFIG WHEEL_PATHS DEST [JOBS]
set -euo pipefail
cfg=$1 wheels=$2 dest=$3 jobs=${4:-$(nproc)}
curl --silent --show-error --fail --parallel --parallel-max 16 --config "$cfg"
mkdir -p "$dest"
xargs -P "$jobs" -I{} unzip -q -o {} -d "$dest" <"$wheels"
