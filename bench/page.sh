#!/usr/bin/env bash
# What ddm's page costs the browser and the wire at 64 connections and 5 jobs: `ddm serve`
# works 5 jobs with `-c 64` each (320 connections) from a loopback nginx that throttles
# every request (so the connections stay open and busy), the page is open in headless
# Chromium on one job's lanes (64 of them), and for SECS seconds it measures the page's CPU
# (Chromium's Performance metrics: TaskDuration, ScriptDuration, LayoutDuration,
# RecalcStyleDuration, as a share of the wall time) and what the WebSocket brings (messages
# and bytes per second). Then the same with only the queue shown (no job open).
#
#   bench/page.sh [SECS=60]
#
# Env: DDM (ddm binary, default target/release/ddm), PORT (nginx, default 18083), RATE
#      (per request, default 16k), BENCH_DIR (default /tmp/ddm-page).
# Needs nginx (nginx-light from Debian's packages, installed when missing, as root), and
# Chromium with playwright-core (tests/page/setup.sh installs them).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECS=${1:-60}
case $SECS in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;; esac
DDM=${DDM:-target/release/ddm}; PORT=${PORT:-18083}; RATE=${RATE:-16k}
DIR=${BENCH_DIR:-/tmp/ddm-page}
JOBS=5; CONNS=64; SIZE=256M

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx; then
  echo "installing nginx-light (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
fi
bash tests/page/setup.sh >&2
[ -x "$DDM" ] || { echo "no ddm binary at $DDM (cargo build --release first)" >&2; exit 2; }
DDM=$(cd "$(dirname "$DDM")" && pwd)/$(basename "$DDM")

rm -rf "$DIR/home" "$DIR/out"
mkdir -p "$DIR/www" "$DIR/tmp" "$DIR/home" "$DIR/out"
for i in $(seq 1 $JOBS); do truncate -s "$SIZE" "$DIR/www/j$i.bin"; done
sed -e "s#@DIR@#$DIR#g" -e "s#@PORT@#$PORT#g" -e "s#@RATE@#$RATE#g" \
    -e "s#@ACCESS_LOG@#off#g" bench/nginx.conf.in > "$DIR/nginx.conf"
[ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null && sleep 0.5
nginx -c "$DIR/nginx.conf"
cat > "$DIR/home/config.toml" <<TOML
max_total_connections = $((JOBS * CONNS))
max_connections_per_host = $((JOBS * CONNS))
[serve]
secret = "bench-page-token"
TOML
"$DDM" --home "$DIR/home" serve --port 0 -d "$DIR/out" 2>"$DIR/serve.log" &
SERVE=$!
# ddm serve first (its jobs checkpoint), then nginx: the other order fails their connections.
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null; kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "JSON-RPC at" "$DIR/serve.log" && break; sleep 0.1; done
ADDR=$(sed -n 's#.*JSON-RPC at http://\([^/]*\)/.*#\1#p' "$DIR/serve.log")
call() {
  curl -s -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":[\"token:bench-page-token\"$2]}" \
    "http://$ADDR/jsonrpc"
}
for i in $(seq 1 $JOBS); do
  call aria2.addUri ",[\"http://127.0.0.1:$PORT/slow/j$i.bin\"],{\"split\":\"$CONNS\"}" >/dev/null
done
echo "waiting for $JOBS jobs x $CONNS connections" >&2
for _ in $(seq 120); do
  open=$(call ddm.listJobs "" | python3 -c 'import json,sys; print(sum(j["connections"] for j in json.load(sys.stdin)["result"]))')
  [ "$open" -ge $((JOBS * CONNS)) ] && break
  sleep 0.5
done
echo "open connections: $open" >&2
PAGE_TOOLS=${DDM_PAGE_TOOLS_DIR:-$ROOT/target/page-tools} PAGE_URL="http://$ADDR/" \
  TOKEN=bench-page-token SECS=$SECS node bench/page.js
