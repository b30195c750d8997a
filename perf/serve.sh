#!/usr/bin/env bash
# perf/serve.sh start [--https] [--root DIR] [--state DIR] [--port N]
# perf/serve.sh stop|url|ca|status [--state DIR]
#
# Serves the static simple index (perf/index.sh) with nginx on 127.0.0.1. `start` picks a free
# port (or --port), writes nginx.conf, nginx.pid, port and url into the state dir (default
# perf/.work/serve, git-ignored), waits until the index answers and prints its URL, e.g.
# http://127.0.0.1:PORT/simple/ — the only line on stdout. --https makes a CA and a server
# certificate for 127.0.0.1/localhost with openssl at each start and serves TLS only; `ca` prints
# the CA file so clients can trust it (SSL_CERT_FILE=..., uv: --native-tls or SSL_CERT_FILE,
# pip: --cert). `stop` stops that nginx (by its pid file) and is a no-op when none runs. A running
# instance is stopped by `start` first. ROOT (default perf/.mirror) holds simple/ and files/.
set -euo pipefail
perf=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
cmd=${1:-}
[ $# -gt 0 ] && shift
https=0
root=${PKG_MIRROR:-$perf/.mirror}
state=${PKG_SERVE_STATE:-$perf/.work/serve}
port=
while [ $# -gt 0 ]; do
  case $1 in
    --https) https=1; shift ;;
    --root) root=$2; shift 2 ;;
    --state) state=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "serve.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)

running_pid() {
  local pid
  [ -f "$state/nginx.pid" ] || return 1
  pid=$(cat "$state/nginx.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

do_stop() {
  local pid
  if pid=$(running_pid); then
    kill -QUIT "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; fi
  fi
  rm -f "$state/nginx.pid" "$state/url"
}

free_port() {
  # Bind port 0 to learn a free port (nginx binds it right after; start retries on a clash).
  "${PKG_BENCH_PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

make_certs() {
  local d=$state/tls
  rm -rf "$d" && mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=pkg bench local CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
}

case $cmd in
  start)
    [ -d "$root/simple" ] || { echo "serve.sh: $root/simple is missing (run perf/index.sh)" >&2; exit 1; }
    root=$(cd "$root" && pwd)
    mkdir -p "$state/tmp"
    state=$(cd "$state" && pwd)
    do_stop
    scheme=http
    ssl=
    if [ "$https" = 1 ]; then
      make_certs
      scheme=https
      ssl="ssl_certificate $state/tls/server.pem; ssl_certificate_key $state/tls/server.key; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:1m;"
    fi
    user="# (not root: workers run as this user)"
    # As root nginx's workers would drop to an unprivileged user who may not read the tree.
    [ "$(id -u)" = 0 ] && user="user root;"
    for attempt in 1 2 3 4 5; do
      p=${port:-$(free_port)}
      listen="127.0.0.1:$p"
      [ "$https" = 1 ] && listen="$listen ssl"
      sed -e "s|@STATE@|$state|g" -e "s|@ROOT@|$root|g" -e "s|@LISTEN@|$listen|g" \
          -e "s|@USER@|$user|g" -e "s|@SSL@|$ssl|g" "$perf/bench/nginx.conf.in" >"$state/nginx.conf"
      if "$nginx" -q -p "$state" -e "$state/error.log" -c "$state/nginx.conf" 2>"$state/start.err"; then
        break
      fi
      if [ -n "$port" ] || [ "$attempt" = 5 ] || ! grep -q 'Address already in use' "$state/start.err"; then
        echo "serve.sh: nginx did not start:" >&2; cat "$state/start.err" >&2; exit 1
      fi
    done
    url="$scheme://127.0.0.1:$p/simple/"
    curl_ca=()
    [ "$https" = 1 ] && curl_ca=(--cacert "$state/tls/ca.pem")
    for _ in $(seq 100); do
      curl -sf "${curl_ca[@]}" -o /dev/null "$url" && break
      sleep 0.05
    done
    curl -sf "${curl_ca[@]}" -o /dev/null "$url" || { echo "serve.sh: nginx started but $url does not answer; $state/error.log:" >&2; cat "$state/error.log" >&2; exit 1; }
    echo "$p" >"$state/port"
    echo "$url" >"$state/url"
    [ "$https" = 1 ] && echo "serve.sh: TLS: trust the CA $state/tls/ca.pem (SSL_CERT_FILE=$state/tls/ca.pem)" >&2
    echo "$url"
    ;;
  stop) do_stop ;;
  url) [ -f "$state/url" ] && running_pid >/dev/null || { echo "serve.sh: not running (state $state)" >&2; exit 1; }; cat "$state/url" ;;
  ca) [ -f "$state/tls/ca.pem" ] || { echo "serve.sh: no CA (start with --https)" >&2; exit 1; }; echo "$state/tls/ca.pem" ;;
  status) if pid=$(running_pid); then echo "running pid $pid $(cat "$state/url" 2>/dev/null)"; else echo "stopped"; exit 1; fi ;;
  -h|--help|"") usage; [ -n "$cmd" ] ;;
  *) echo "serve.sh: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
