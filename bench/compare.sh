#!/usr/bin/env bash
# Side-by-side download benchmark on loopback: ddm against aria2c, axel and curl, same file,
# same nginx, same run. Prints wall-time medians and ddm's ratio to each, after a byte check
# of every tool's file.
#
#   bench/compare.sh [fast|slow] [SIZE_MIB=1024] [CONNECTIONS=16]
#
#   fast   unthrottled: CPU, memory copies and disk writes are the limit (curl, one stream,
#          is timed too)
#   slow   RATE per request (nginx limit_rate), where more connections finish sooner
#
# ddm runs as `ddm get URL -o FILE --connections N $DDM_ARGS` with a data directory of its
# own ($BENCH_DIR/home, emptied before every run: nothing is resumed or found done);
# aria2c as `-x N -s N -k1M --file-allocation=falloc`, axel as `-n N`.
#
# Env: DDM (ddm binary, default target/release/ddm), DDM_ARGS (extra ddm arguments),
#      RATE (per-request rate for slow, default 8m), RUNS (hyperfine runs, default 5),
#      PORT (default 18080), BENCH_DIR (default /tmp/ddm-compare), KEEP=1 leaves nginx
#      running.
# Needs nginx, aria2c, axel, curl, hyperfine, python3, sha256sum; installs nginx-light,
# aria2, axel and hyperfine from Debian's packages (apt-get, as root) when one is missing.
#
# Commands are kept as strings (hyperfine -N splits them on whitespace): no path involved
# may contain whitespace.
# shellcheck disable=SC2086
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HERE=$ROOT/bench
cd "$ROOT"
MODE=${1:-fast}; SIZE=${2:-1024}; CONN=${3:-16}
DDM=${DDM:-target/release/ddm}; RATE=${RATE:-8m}; RUNS=${RUNS:-5}; PORT=${PORT:-18080}
DIR=${BENCH_DIR:-/tmp/ddm-compare}
case $MODE in fast|slow) ;; -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^# shellcheck/d' -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "mode must be fast or slow, not '$MODE'" >&2; exit 2 ;; esac

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need aria2c || ! need axel || ! need hyperfine; then
  echo "installing nginx-light aria2 axel hyperfine (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light aria2 axel hyperfine >/dev/null
fi
for t in nginx aria2c axel curl hyperfine python3 sha256sum; do need "$t" || { echo "needs $t" >&2; exit 2; }; done
[ -x "$DDM" ] || { echo "no ddm binary at $DDM (cargo build --release first)" >&2; exit 2; }
DDM=$(cd "$(dirname "$DDM")" && pwd)/$(basename "$DDM")
case "$DDM$DIR" in *[[:space:]]*) echo "DDM and BENCH_DIR must not contain whitespace" >&2; exit 2 ;; esac

mkdir -p "$DIR/www" "$DIR/out" "$DIR/tmp"
FILE="blob${SIZE}m"
if [ ! -f "$DIR/www/$FILE" ]; then
  head -c $((SIZE * 1024 * 1024)) /dev/urandom > "$DIR/www/$FILE"
fi
WANT=$(sha256sum "$DIR/www/$FILE" | cut -d' ' -f1)

sed -e "s#@DIR@#$DIR#g" -e "s#@PORT@#$PORT#g" -e "s#@RATE@#$RATE#g" \
    -e "s#@ACCESS_LOG@#$DIR/access.log conn#g" "$HERE/nginx.conf.in" > "$DIR/nginx.conf"
[ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null && sleep 0.5
nginx -c "$DIR/nginx.conf"
trap '[ "${KEEP:-0}" = 1 ] || kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true' EXIT
URL="http://127.0.0.1:$PORT/$MODE/$FILE"
OUT="$DIR/out/f.bin"

# One correctness pass each: the bytes must match before any timing counts.
check() {
  local name=$1; shift
  rm -rf "$DIR/out" "$DIR/home"; mkdir -p "$DIR/out"
  : > "$DIR/access.log"
  if ! "$@" >/dev/null 2>&1; then echo "$name: FAILED (exit code)"; return 1; fi
  local got; got=$(sha256sum "$OUT" | cut -d' ' -f1)
  [ "$got" = "$WANT" ] || { echo "$name: WRONG BYTES"; return 1; }
  echo "$name: sha256 ok; $(wc -l < "$DIR/access.log") requests on $(awk '{print $1}' "$DIR/access.log" | sort -u | wc -l) connections"
}
DDM_CMD="$DDM --home $DIR/home get $URL -o $OUT --connections $CONN ${DDM_ARGS:-}"
ARIA_CMD="aria2c -q -x$((CONN>16?16:CONN)) -s$CONN -k1M --file-allocation=falloc --allow-overwrite=true -d $DIR/out -o f.bin $URL"
AXEL_CMD="axel -q -n $CONN -o $OUT $URL"
CURL_CMD="curl -sS --fail -o $OUT $URL"
check ddm $DDM_CMD
check aria2c $ARIA_CMD
check axel $AXEL_CMD
[ "$MODE" = fast ] && check curl $CURL_CMD

PREP="sh -c 'rm -rf $DIR/out $DIR/home && mkdir -p $DIR/out'"
CMDS=(-n ddm "$DDM_CMD" -n aria2c "$ARIA_CMD" -n axel "$AXEL_CMD")
[ "$MODE" = fast ] && CMDS+=(-n curl-1-stream "$CURL_CMD")
hyperfine -N --warmup 1 --runs "$RUNS" --prepare "$PREP" --export-json "$DIR/result.json" \
  "${CMDS[@]}" >/dev/null
python3 - "$DIR/result.json" "$MODE" "$SIZE" "$CONN" "$RATE" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
mode, size, conn, rate = sys.argv[2:]
med = {r["command"]: r["median"] for r in res}
print(f"mode={mode} size={size}MiB connections={conn} per-request-rate={rate if mode=='slow' else 'none'}")
for name, m in med.items():
    print(f"  {name:14s} median {m:7.3f} s   {int(size)/m:8.1f} MiB/s")
d = med["ddm"]
for name, m in med.items():
    if name != "ddm":
        print(f"  ddm/{name} wall-time ratio: {d/m:.3f}")
PY
