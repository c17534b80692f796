#!/usr/bin/env bash
# "Hostile link" benchmark on loopback: ddm against aria2c and axel on a server that
# behaves like a slow, latent, picky WAN origin (ddm-faultserver, tests/server/bin/).
#
#   bench/faults.sh [scenario...]      (default: all, in this order)
#
# Scenarios (64 MiB file, 4 MiB/s per response, 40 ms before every status line, unless said):
#   plain     ranges + ETag, nothing else
#   nohead    HEAD answered 405
#   slow4     every 4th TCP connection (server-wide accept order) runs at 1/40 of the rate
#   cap6      more than 6 GETs in flight: 503 + Retry-After: 1
#   cap6-429  same with 429
#   fast      256 MiB, unthrottled, no delay: body bytes sent / file size per tool (one run;
#             "sent" is what the server wrote to its sockets, so bytes still in kernel buffers
#             when a client drops a connection count too)
#   cost      256 MiB, unthrottled, but every range answer costs the server 120 ms (an object
#             store); ddm with its defaults vs curl (one stream) and aria2c -x16 -s16
#   reqs      the fast file again: requests and TCP connections of ddm with its defaults and
#             with -c 16 (target: requests <= connections + 8), and its time vs curl
#   closing   256 MiB, unthrottled, every response closes its connection (a proxy that keeps
#             no client connection alive): requests, connections and time, ddm vs curl, aria2c
#   q         queue: 100 files x 256 KiB, unthrottled, 40 ms first-byte delay
#   q0        the same queue without the delay
#   queue     = q q0
# For plain..cap6-429: `ddm get URL -o OUT -c 16` vs `aria2c -x16 -s16 -k1M` vs `axel -n 16`,
# each checked once (sha256 of the bytes, and the server's request/connection counts for
# that run), then timed with hyperfine. For q/q0: `ddm add` all + `ddm run` (defaults) vs
# `aria2c -j16 -i`. ddm always gets a fresh --home, so nothing is resumed.
#
# Env: DDM (ddm binary, default target/release/ddm), RUNS (hyperfine runs, default 5),
#      PORT (default 18090), BENCH_DIR (default /tmp/ddm-faults), TIMEOUT (seconds allowed
#      for each check run, default 300), FAULTSERVER (a ddm-faultserver binary to use instead
#      of building target/release/ddm-faultserver with `cargo build --release`).
# Needs curl, python3, sha256sum; installs aria2, axel and hyperfine from Debian's packages
# when missing. Results are in $BENCH_DIR/result-*.json; tool output of the check runs in
# $BENCH_DIR/log/.
#
# Commands are kept as strings (hyperfine -N splits them on whitespace): word splitting of
# them is intended, so no path involved may contain whitespace.
# shellcheck disable=SC2086
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DDM=${DDM:-target/release/ddm}; RUNS=${RUNS:-5}; PORT=${PORT:-18090}
DIR=${BENCH_DIR:-/tmp/ddm-faults}; TIMEOUT=${TIMEOUT:-300}; CONN=16
FAST_SIZE=$((256 << 20)); NQ=100
ALL=(plain nohead slow4 cap6 cap6-429 fast cost reqs closing q q0)

[ $# -gt 0 ] || set -- "${ALL[@]}"
SCEN=()
for a in "$@"; do
  case $a in
    plain|nohead|slow4|cap6|cap6-429|fast|cost|reqs|closing|q|q0) SCEN+=("$a") ;;
    queue) SCEN+=(q q0) ;;
    all) SCEN+=("${ALL[@]}") ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^# shellcheck/d' -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown scenario '$a' (one of: ${ALL[*]} queue all)" >&2; exit 2 ;;
  esac
done

need() { command -v "$1" >/dev/null 2>&1; }
if ! need aria2c || ! need axel || ! need hyperfine; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq aria2 axel hyperfine >/dev/null
fi
for t in curl python3 sha256sum timeout; do need "$t" || { echo "needs $t" >&2; exit 2; }; done
[ -x "$DDM" ] || { echo "no ddm binary at $DDM (cargo build --release first)" >&2; exit 2; }
DDM=$(cd "$(dirname "$DDM")" && pwd)/$(basename "$DDM")
case "$DDM$DIR" in *[[:space:]]*) echo "DDM and BENCH_DIR must not contain whitespace" >&2; exit 2 ;; esac
if [ -z "${FAULTSERVER:-}" ]; then
  cargo build --release -q -p ddm-testserver --bin ddm-faultserver
  FAULTSERVER=target/release/ddm-faultserver
fi
[ -x "$FAULTSERVER" ] || { echo "no ddm-faultserver binary at $FAULTSERVER" >&2; exit 2; }

mkdir -p "$DIR/log" "$DIR/want"
OUT_DIR=$DIR/out; HOME_DIR=$DIR/home
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

"$FAULTSERVER" --port "$PORT" --dump "$DIR/want" >"$DIR/server.out" 2>"$DIR/server.err" &
SERVER_PID=$!
for _ in $(seq 600); do
  grep -q '^ready' "$DIR/server.out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "ddm-faultserver died:" >&2; cat "$DIR/server.err" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$DIR/server.out" || { echo "ddm-faultserver not ready after 60 s" >&2; exit 1; }
BASE=http://127.0.0.1:$PORT
echo "ddm-faultserver on $BASE (pid $SERVER_PID); ddm: $DDM; runs: $RUNS"

sha() { sha256sum "$1" | cut -d' ' -f1; }
stats() { curl -sS --fail "$BASE/_stats?$1"; }
reset() { curl -sS --fail -o /dev/null "$BASE/_reset"; }
fresh() { rm -rf "$OUT_DIR" "$HOME_DIR" && mkdir -p "$OUT_DIR"; }
PREP="sh -c 'rm -rf $OUT_DIR $HOME_DIR && mkdir -p $OUT_DIR'"
SUMMARY=()

# check NAME STATS_QUERY VERIFY_FN CMD...: one run from a clean slate with the server's
# counters reset; prints the outcome and what the server saw. Fails when the command fails
# or the bytes are wrong.
check() {
  local name=$1 query=$2 verify=$3; shift 3
  fresh; reset
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  timeout "$TIMEOUT" "$@" >"$DIR/log/$SCENARIO-$name.log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  local st; st=$(stats "$query")
  LAST_STATS=$st
  local took; took=$(python3 -c "print(f'{$t1-$t0:.2f}')")
  if [ "$rc" != 0 ]; then
    printf '  %-8s check FAILED (exit %s after %s s; log %s)  server: %s\n' "$name" "$rc" "$took" "$DIR/log/$SCENARIO-$name.log" "$st"
    return 1
  fi
  if ! "$verify"; then
    printf '  %-8s check WRONG BYTES (%s s)  server: %s\n' "$name" "$took" "$st"
    return 1
  fi
  printf '  %-8s check ok in %6s s  server: %s\n' "$name" "$took" "$st"
}

# time NAME CMD: hyperfine for one tool (separately per tool, so a failing tool only loses
# its own timing); prints the median and adds it to the summary.
time_it() {
  local name=$1 cmd=$2 json=$DIR/result-$SCENARIO-$1.json
  if hyperfine -N --warmup 1 --runs "$RUNS" --prepare "$PREP" --export-json "$json" \
      -n "$name" "$cmd" >"$DIR/log/$SCENARIO-$name.hyperfine" 2>&1; then
    local m; m=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.3f s (min %.3f, max %.3f)" % (r["median"], r["min"], r["max"]))' "$json")
    printf '  %-8s median %s\n' "$name" "$m"
    SUMMARY+=("$(printf '%-9s %-8s median %s' "$SCENARIO" "$name" "$m")")
  else
    printf '  %-8s timing FAILED (see %s)\n' "$name" "$DIR/log/$SCENARIO-$name.hyperfine"
    SUMMARY+=("$(printf '%-9s %-8s timing FAILED' "$SCENARIO" "$name")")
  fi
}

field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }

# --- single 64 MiB file scenarios -------------------------------------------------------
big() {
  SCENARIO=$1
  local url=$BASE/$1/f.bin out=$OUT_DIR/f.bin want; want=$(sha "$DIR/want/$1")
  verify_big() { [ "$(sha "$OUT_DIR/f.bin")" = "$want" ]; }
  local ddm_cmd="$DDM --home $HOME_DIR get $url -o $out -c $CONN"
  local aria_cmd="aria2c -q -x$CONN -s$CONN -k1M --file-allocation=falloc --allow-overwrite=true -d $OUT_DIR -o f.bin $url"
  local axel_cmd="axel -q -n $CONN -o $out $url"
  echo "== $1: $url"
  local ok=()
  if check ddm "path=/$1/f.bin" verify_big $ddm_cmd; then ok+=(ddm); fi
  SUMMARY+=("$(printf '%-9s %-8s %s' "$1" ddm "requests=$(field requests "$LAST_STATS") connections=$(field connections "$LAST_STATS") (check run; errors=$(field errors "$LAST_STATS") heads=$(field heads "$LAST_STATS"))")")
  if check aria2c "path=/$1/f.bin" verify_big $aria_cmd; then ok+=(aria2c); fi
  if check axel "path=/$1/f.bin" verify_big $axel_cmd; then ok+=(axel); fi
  for t in "${ok[@]}"; do
    case $t in
      ddm) time_it ddm "$ddm_cmd" ;;
      aria2c) time_it aria2c "$aria_cmd" ;;
      axel) time_it axel "$axel_cmd" ;;
    esac
  done
}

# --- 256 MiB unthrottled: body bytes sent / file size ----------------------------------
fast() {
  SCENARIO=fast
  local url=$BASE/fast/f256.bin out=$OUT_DIR/f.bin want; want=$(sha "$DIR/want/fast")
  verify_fast() { [ "$(sha "$OUT_DIR/f.bin")" = "$want" ]; }
  echo "== fast: $url (one run each; sent/size = body bytes the server sent / $FAST_SIZE)"
  local name
  for name in ddm axel aria2c; do
    local cmd
    case $name in
      ddm) cmd="$DDM --home $HOME_DIR get $url -o $out -c $CONN" ;;
      axel) cmd="axel -q -n $CONN -o $out $url" ;;
      aria2c) cmd="aria2c -q -x$CONN -s$CONN -k1M --file-allocation=falloc --allow-overwrite=true -d $OUT_DIR -o f.bin $url" ;;
    esac
    check "$name" path=/fast/f256.bin verify_fast $cmd || continue
    local ratio; ratio=$(python3 -c "print(f'{$(field sent "$LAST_STATS")/$FAST_SIZE:.4f}')")
    echo "  $name sent/size = $ratio"
    SUMMARY+=("$(printf '%-9s %-8s sent/size %s (requests=%s connections=%s)' fast "$name" "$ratio" "$(field requests "$LAST_STATS")" "$(field connections "$LAST_STATS")")")
  done
}

# --- 256 MiB where requests cost: requests, connections, time ---------------------------
# per_request NAME PATH TOOL...: TOOL is ddm (defaults), ddm16 (-c 16), curl or aria2c.
per_request() {
  SCENARIO=$1
  local url=$BASE$2 out=$OUT_DIR/f.bin want; want=$(sha "$DIR/want/fast")
  verify_one() { [ "$(sha "$OUT_DIR/f.bin")" = "$want" ]; }
  shift 2
  echo "== $SCENARIO: $url"
  local ok=() t cmd
  for t in "$@"; do
    case $t in
      ddm) cmd="$DDM --home $HOME_DIR get $url -o $out" ;;
      ddm16) cmd="$DDM --home $HOME_DIR get $url -o $out -c $CONN" ;;
      curl) cmd="curl -sS --fail -o $out $url" ;;
      aria2c) cmd="aria2c -q -x$CONN -s$CONN -k1M --file-allocation=falloc --allow-overwrite=true -d $OUT_DIR -o f.bin $url" ;;
    esac
    if check "$t" "path=$(sed 's#^http://[^/]*##' <<<"$url")" verify_one $cmd; then
      ok+=("$t|$cmd")
      local ratio; ratio=$(python3 -c "print(f'{$(field sent "$LAST_STATS")/$FAST_SIZE:.4f}')")
      SUMMARY+=("$(printf '%-9s %-8s requests=%s connections=%s sent/size %s (check run)' "$SCENARIO" "$t" "$(field requests "$LAST_STATS")" "$(field connections "$LAST_STATS")" "$ratio")")
    fi
  done
  local pair
  for pair in "${ok[@]}"; do time_it "${pair%%|*}" "${pair#*|}"; done
}

# --- queue of 100 small files ------------------------------------------------------------
queue() {
  SCENARIO=$1
  local qname=$1 urls=$DIR/urls-$1.txt
  for i in $(seq 1 $NQ); do echo "$BASE/$1/f$i.bin"; done >"$urls"
  (cd "$DIR/want/$1" && for i in $(seq 1 $NQ); do sha256sum "f$i.bin"; done | sort) >"$DIR/want-$1.txt"
  verify_queue() { (cd "$OUT_DIR" && sha256sum f*.bin 2>/dev/null | sort) | cmp -s - "$DIR/want-$qname.txt"; }
  # `ddm add` + `ddm run` need a script; its home is removed by the prepare step.
  cat >"$DIR/ddm-queue-$1.sh" <<EOF
#!/bin/sh
"$DDM" --home "$HOME_DIR" add \$(cat "$urls") -d "$OUT_DIR" >/dev/null || exit 1
exec "$DDM" --home "$HOME_DIR" run -q
EOF
  chmod +x "$DIR/ddm-queue-$1.sh"
  local ddm_cmd=$DIR/ddm-queue-$1.sh
  local aria_cmd="aria2c -q -j16 -i $urls -d $OUT_DIR --allow-overwrite=true"
  local what="no delay"; [ "$1" = q ] && what="40 ms first-byte delay"
  echo "== $1: $NQ files x 256 KiB, $what"
  local ok=()
  if check ddm "prefix=/$1/" verify_queue "$ddm_cmd"; then ok+=(ddm); fi
  SUMMARY+=("$(printf '%-9s %-8s %s' "$1" ddm "requests=$(field requests "$LAST_STATS") connections=$(field connections "$LAST_STATS") heads=$(field heads "$LAST_STATS") (check run)")")
  if check aria2c "prefix=/$1/" verify_queue $aria_cmd; then ok+=(aria2c); fi
  for t in "${ok[@]}"; do
    case $t in
      ddm) time_it ddm "$ddm_cmd" ;;
      aria2c) time_it aria2c-j16 "$aria_cmd" ;;
    esac
  done
}

for s in "${SCEN[@]}"; do
  case $s in
    fast) fast ;;
    cost) per_request cost /cost/f256.bin ddm curl aria2c ;;
    reqs) per_request reqs /fast/f256.bin ddm ddm16 curl ;;
    closing) per_request closing /closing/f256.bin ddm curl aria2c ;;
    q|q0) queue "$s" ;;
    *) big "$s" ;;
  esac
done

echo
echo "== summary (runs=$RUNS, hyperfine medians; request/connection counts from ddm-faultserver's /_stats)"
printf '%s\n' "${SUMMARY[@]}"
