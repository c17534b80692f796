#!/usr/bin/env bash
# HTTP/2 benchmark on loopback (issue 10): is one HTTP/2 connection carrying N range
# requests as streams faster than N connections (ddm's design: one connection per worker)?
# Server: nginx with TLS (self-signed certificate made here), HTTP/2 offered by ALPN on one
# port and only HTTP/1.1 on another.
#
#   bench/h2.sh [scenario...]        (default: fast stream conn)
#
# Scenarios:
#   fast    256 MiB, unthrottled: CPU, copies and TLS are the limit
#   stream  64 MiB, nginx `limit_rate RATE` (per request = per HTTP/2 stream)
#   conn    64 MiB, RATE per TCP connection (bench/throttle.py relays each connection to
#           nginx and holds it to RATE, whatever it carries: one response or many streams)
# Clients, each with N ranges/connections for N in $NS (default "4 8 16):
#   ddm-h2    ddm get URL -c N            against the h2 port: N connections, HTTP/2
#   ddm-h1    ddm get URL -c N            against the HTTP/1.1-only port (ALPN fallback)
#   mux       h2mux mux N URL             N ranges as streams of ONE HTTP/2 connection
#   conns-h2  h2mux conns N URL           N ranges over N HTTP/2 connections
#   conns-h1  h2mux conns N URL           the same against the HTTP/1.1-only port
# h2mux (bench/h2mux.rs, built as ddm-core's example) uses the same static libcurl as ddm;
# its two modes differ only in sharing the connection. Each client runs once as a check
# (bytes compared, nginx's access log read for protocol and connections used), then
# hyperfine times it (-N, a fresh output file and ddm home before each run).
#
# Prints per client the median wall time of the runs and (min-max).
#
# Env: RUNS (hyperfine runs for fast, default 5), SLOW_RUNS (for stream/conn, default 3),
#      NS (default "4 8 16"), RATE (default 2m; nginx syntax: k/m suffix), PORT (first of
#      six ports, default 18443), BENCH_DIR (default /tmp/ddm-h2), DDM and H2MUX (binaries;
#      default: `cargo build --release` and target/release/{ddm,examples/h2mux}).
# Needs nginx with http_v2 (nginx-light), openssl, python3, hyperfine, sha256sum.
#
# Commands are kept as strings (hyperfine -N splits them on whitespace): no path involved
# may contain whitespace.
# shellcheck disable=SC2086
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-5}; SLOW_RUNS=${SLOW_RUNS:-3}; NS=${NS:-"4 8 16"}; RATE=${RATE:-2m}
PORT=${PORT:-18443}; DIR=${BENCH_DIR:-/tmp/ddm-h2}
SCENARIOS=("$@"); [ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(fast stream conn)

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need hyperfine; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light hyperfine >/dev/null
fi
nginx -V 2>&1 | grep -q http_v2_module || { echo "this nginx has no http_v2 module"; exit 2; }
if [ -z "${DDM:-}" ] || [ -z "${H2MUX:-}" ]; then
  cargo build --release -q -p ddm-cli
  cargo build --release -q -p ddm-core --example h2mux
fi
DDM=${DDM:-target/release/ddm}; H2MUX=${H2MUX:-target/release/examples/h2mux}

rate_bytes() {
  case $1 in
    *k) echo $(( ${1%k} * 1024 )) ;; *m) echo $(( ${1%m} * 1024 * 1024 )) ;; *) echo "$1" ;;
  esac
}
H2=$PORT; H1=$((PORT + 1)); H2_SLOW=$((PORT + 2)); H1_SLOW=$((PORT + 3))
H2_CONN=$((PORT + 4)); H1_CONN=$((PORT + 5))

mkdir -p "$DIR/www" "$DIR/tmp" "$DIR/log"
[ -f "$DIR/cert.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -nodes -keyout "$DIR/key.pem" -out "$DIR/cert.pem" -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
for m in 64 256; do
  [ -f "$DIR/www/f${m}m.bin" ] || head -c $((m << 20)) /dev/urandom > "$DIR/www/f${m}m.bin"
done

# One server block per port; nginx 1.22 (Debian 12) spells HTTP/2 `listen ... ssl http2`.
block() { # PORT LISTEN-FLAGS EXTRA
  cat <<EOF
    server {
        listen 127.0.0.1:$1 ssl $2;
        ssl_certificate $DIR/cert.pem;
        ssl_certificate_key $DIR/key.pem;
        root $DIR/www;
        $3
    }
EOF
}
cat > "$DIR/nginx.conf" <<EOF
daemon on;
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log warn;
events { worker_connections 1024; }
http {
    log_format h2 '\$server_port \$connection \$connection_requests \$server_protocol \$request_method \$status \$body_bytes_sent';
    access_log $DIR/access.log h2;
    sendfile on;
    keepalive_requests 100000;
    default_type application/octet-stream;
    client_body_temp_path $DIR/tmp;
    proxy_temp_path $DIR/tmp;
    fastcgi_temp_path $DIR/tmp;
    uwsgi_temp_path $DIR/tmp;
    scgi_temp_path $DIR/tmp;
$(block $H2 http2 "")
$(block $H1 "" "")
$(block $H2_SLOW http2 "limit_rate $RATE;")
$(block $H1_SLOW "" "limit_rate $RATE;")
}
EOF
[ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null && sleep 0.5
nginx -c "$DIR/nginx.conf"
python3 bench/throttle.py "$H2_CONN" "$H2" "$(rate_bytes "$RATE")" & RELAY1=$!
python3 bench/throttle.py "$H1_CONN" "$H1" "$(rate_bytes "$RATE")" & RELAY2=$!
trap 'kill $RELAY1 $RELAY2 2>/dev/null; kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true' EXIT
sleep 0.5

OUT=$DIR/out/f.bin; HOME_DIR=$DIR/home; CA=$DIR/cert.pem
PREP="sh -c 'rm -rf $DIR/out $HOME_DIR && mkdir -p $DIR/out'"
SUMMARY=$DIR/summary.txt; : > "$SUMMARY"

# cmd CLIENT N H2PORT H1PORT FILE: the command line of one client.
cmd() {
  local h2url="https://localhost:$3/$5" h1url="https://localhost:$4/$5"
  case $1 in
    ddm-h2) echo "$DDM --home $HOME_DIR get $h2url -o $OUT -c $2 --cacert $CA" ;;
    ddm-h1) echo "$DDM --home $HOME_DIR get $h1url -o $OUT -c $2 --cacert $CA" ;;
    mux) echo "$H2MUX mux $2 $h2url $OUT --cacert $CA" ;;
    conns-h2) echo "$H2MUX conns $2 $h2url $OUT --cacert $CA" ;;
    conns-h1) echo "$H2MUX conns $2 $h1url $OUT --cacert $CA --http1.1" ;;
  esac
}

for sc in "${SCENARIOS[@]}"; do
  case $sc in
    fast) P2=$H2; P1=$H1; FILE=f256m.bin; R=$RUNS; WARM=1 ;;
    stream) P2=$H2_SLOW; P1=$H1_SLOW; FILE=f64m.bin; R=$SLOW_RUNS; WARM=0 ;;
    conn) P2=$H2_CONN; P1=$H1_CONN; FILE=f64m.bin; R=$SLOW_RUNS; WARM=0 ;;
    *) echo "unknown scenario $sc"; exit 2 ;;
  esac
  WANT=$(sha256sum "$DIR/www/$FILE" | cut -d' ' -f1)
  echo "== $sc ($FILE$( [ $sc = fast ] || echo ", rate $RATE" ))" | tee -a "$SUMMARY"
  for n in $NS; do
    for c in ddm-h2 ddm-h1 mux conns-h2 conns-h1; do
      line=$(cmd $c $n $P2 $P1 $FILE)
      sh -c "rm -rf $DIR/out $HOME_DIR && mkdir -p $DIR/out"
      : > "$DIR/access.log"
      if ! $line > "$DIR/log/$sc-$c-$n.out" 2>&1; then
        echo "  $c N=$n: FAILED (see $DIR/log/$sc-$c-$n.out)"; continue
      fi
      [ "$(sha256sum "$OUT" | cut -d' ' -f1)" = "$WANT" ] || { echo "  $c N=$n: WRONG BYTES"; continue; }
      sleep 0.2  # nginx writes the log line when a request ends
      # The server's view of the check run: protocol, connections and GET requests.
      seen=$(awk '$5 == "GET" { c[$2] = 1; p[$4] = 1; g++ }
                  END { n = 0; for (k in c) n++; s = ""; for (k in p) s = s k " ";
                        printf "%s%d connections, %d GETs", s, n, g }' "$DIR/access.log")
      json=$DIR/log/$sc-$c-$n.json
      if hyperfine -N --warmup $WARM --runs "$R" --prepare "$PREP" --export-json "$json" \
          -n "$c" "$line" > "$DIR/log/$sc-$c-$n.hyperfine" 2>&1; then
        med=$(python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["results"][0]
print("%.3f s (%.3f-%.3f)" % (r["median"], r["min"], r["max"]))' "$json")
      else
        med=FAILED
      fi
      printf '  %-6s N=%-2s %-9s median %-22s (check run: %s)\n' "$sc" "$n" "$c" "$med" "$seen" | tee -a "$SUMMARY"
    done
  done
done
echo "summary in $SUMMARY"
