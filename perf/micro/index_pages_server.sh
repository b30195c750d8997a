#!/usr/bin/env bash
# Serves 300 small generated PEP 503 project pages (simple/p0/ … simple/p299/, ~20 links each)
# from Debian's nginx on loopback, over HTTP and HTTPS, for perf/micro/bench_index_pages.cpp.
#
#   perf/micro/index_pages_server.sh start [DIR] [HTTP_PORT] [HTTPS_PORT]   (default
#       /dev/shm/pkg-bench-index, 18491, 18492): generates the pages, a throwaway CA and a
#       localhost certificate, starts nginx in the background and prints the two base URLs and
#       the CA file to pass to the benchmark.
#   perf/micro/index_pages_server.sh stop [DIR]: stops that nginx and removes DIR.
#
# nginx keeps its defaults for persistent connections (keepalive_timeout 75s raised to 30s as
# the tests use; keepalive_requests 1000), so a pooled client never sees a server-side close
# within one 300-page run.
set -euo pipefail
action=${1:-}
dir=${2:-/dev/shm/pkg-bench-index}
http_port=${3:-18491}
https_port=${4:-18492}
pages=300

case "$action" in
start)
    rm -rf "$dir"
    mkdir -p "$dir/root/simple" "$dir/tmp"
    cd "$dir"
    for ((i = 0; i < pages; i++)); do
        mkdir -p "root/simple/p$i"
        {
            echo '<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.1">'
            echo "<title>Links for p$i</title></head><body><h1>Links for p$i</h1>"
            for ((v = 0; v < 20; v++)); do
                hash=$(printf '%064x' $((i * 100 + v)))
                echo "<a href=\"../../files/p$i-1.$v-py3-none-any.whl#sha256=$hash\"" \
                    "data-requires-python=\"&gt;=3.8\">p$i-1.$v-py3-none-any.whl</a><br/>"
            done
            echo '</body></html>'
        } > "root/simple/p$i/index.html"
    done
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign 2> /dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
        -subj /CN=localhost 2> /dev/null
    echo "subjectAltName=DNS:localhost,IP:127.0.0.1" > ext
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext \
        -out srv.pem 2> /dev/null
    cat > nginx.conf << CONF
daemon off; master_process off; user root; worker_processes 1;
error_log $dir/error.log; pid $dir/nginx.pid;
events { worker_connections 256; }
http { access_log off; client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
  fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  default_type text/html; keepalive_timeout 30s; keepalive_requests 1000;
  server { listen 127.0.0.1:$http_port; root $dir/root;
           location = /nginx_status { stub_status; } }
  server { listen 127.0.0.1:$https_port ssl; root $dir/root; ssl_certificate $dir/srv.pem;
           ssl_certificate_key $dir/srv.key; ssl_protocols TLSv1.2 TLSv1.3; } }
CONF
    nohup /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" > "$dir/nginx.out" 2>&1 &
    for _ in $(seq 50); do
        [ -s "$dir/nginx.pid" ] && break
        sleep 0.1
    done
    [ -s "$dir/nginx.pid" ] || { cat "$dir/error.log" "$dir/nginx.out" >&2; exit 1; }
    echo "http://127.0.0.1:$http_port/simple/ (status: http://127.0.0.1:$http_port/nginx_status)"
    echo "https://localhost:$https_port/simple/ (CA: $dir/ca.pem)"
    ;;
stop)
    if [ -s "$dir/nginx.pid" ]; then
        kill "$(cat "$dir/nginx.pid")" || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start [DIR] [HTTP_PORT] [HTTPS_PORT] | stop [DIR]" >&2
    exit 2
    ;;
esac
