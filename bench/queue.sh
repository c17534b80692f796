#!/usr/bin/env bash
# Queue benchmark on loopback: N small files, ddm's defaults (`ddm add` all, then `ddm run`)
# against `aria2c -i` (-j16) and `wget2 -i` (16 threads). Same nginx, same run; prints
# medians and ddm's ratio to each, after a byte check of every file, and (from nginx's log:
# connection id and requests on it) how many TCP connections ddm's requests came on.
#
#   bench/queue.sh [N_FILES=300] [SIZE_KIB=256] [fast|slow]
#
# Env: DDM (ddm binary, default target/release/ddm), DDM_ARGS (extra `ddm add` arguments),
#      RUNS (hyperfine runs, default 5), PORT (default 18081), RATE (slow mode, default 8m),
#      BENCH_DIR (default /tmp/ddm-queue).
# ddm gets a fresh data directory (mktemp -d) for every run. Needs nginx, aria2c, wget2,
# hyperfine, python3, sha256sum; installs nginx-light, aria2, wget2 and hyperfine from
# Debian's packages (apt-get, as root) when one is missing.
#
# Commands are kept as strings (hyperfine -N splits them on whitespace): no path involved
# may contain whitespace.
# shellcheck disable=SC2086
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HERE=$ROOT/bench
cd "$ROOT"
N=${1:-300}; KIB=${2:-256}; MODE=${3:-fast}
DDM=${DDM:-target/release/ddm}; RUNS=${RUNS:-5}; PORT=${PORT:-18081}; RATE=${RATE:-8m}
DIR=${BENCH_DIR:-/tmp/ddm-queue}
case $N in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^# shellcheck/d' -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;; esac
case $MODE in fast|slow) ;; *) echo "mode must be fast or slow, not '$MODE'" >&2; exit 2 ;; esac

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need aria2c || ! need wget2 || ! need hyperfine; then
  echo "installing nginx-light aria2 wget2 hyperfine (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light aria2 wget2 hyperfine >/dev/null
fi
for t in nginx aria2c wget2 hyperfine python3 sha256sum; do need "$t" || { echo "needs $t" >&2; exit 2; }; done
[ -x "$DDM" ] || { echo "no ddm binary at $DDM (cargo build --release first)" >&2; exit 2; }
DDM=$(cd "$(dirname "$DDM")" && pwd)/$(basename "$DDM")
case "$DDM$DIR" in *[[:space:]]*) echo "DDM and BENCH_DIR must not contain whitespace" >&2; exit 2 ;; esac

mkdir -p "$DIR/www/q" "$DIR/tmp"
for i in $(seq 1 "$N"); do
  [ -f "$DIR/www/q/f$i.bin" ] && [ "$(stat -c %s "$DIR/www/q/f$i.bin")" = $((KIB * 1024)) ] ||
    head -c $((KIB * 1024)) /dev/urandom > "$DIR/www/q/f$i.bin"
done
(cd "$DIR/www/q" && for i in $(seq 1 "$N"); do sha256sum "f$i.bin"; done | sort) > "$DIR/want.txt"
sed -e "s#@DIR@#$DIR#g" -e "s#@PORT@#$PORT#g" -e "s#@RATE@#$RATE#g" \
    -e "s#@ACCESS_LOG@#$DIR/conn.log conn#g" "$HERE/nginx.conf.in" > "$DIR/nginx.conf"
[ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null && sleep 0.5
nginx -c "$DIR/nginx.conf"
trap 'kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true' EXIT
for i in $(seq 1 "$N"); do echo "http://127.0.0.1:$PORT/$MODE/q/f$i.bin"; done > "$DIR/urls.txt"

cat > "$DIR/ddm-queue.sh" <<SH
#!/bin/sh
H=\$(mktemp -d) || exit 1
"$DDM" --home "\$H" add \$(cat "$DIR/urls.txt") -d "$DIR/out" ${DDM_ARGS:-} >/dev/null || exit 1
"$DDM" --home "\$H" run -q; rc=\$?
rm -rf "\$H"; exit \$rc
SH
chmod +x "$DIR/ddm-queue.sh"
DDM_CMD="$DIR/ddm-queue.sh"
ARIA_CMD="aria2c -q -j16 -i $DIR/urls.txt -d $DIR/out --allow-overwrite=true"
WGET_CMD="wget2 -q --max-threads=16 -i $DIR/urls.txt -P $DIR/out"
check() {
  local name=$1; shift
  rm -rf "$DIR/out"; mkdir -p "$DIR/out"
  : > "$DIR/conn.log"
  "$@" >/dev/null 2>&1 || { echo "$name: FAILED (exit code)"; return 1; }
  (cd "$DIR/out" && sha256sum f*.bin 2>/dev/null | sort) | cmp -s - "$DIR/want.txt" ||
    { echo "$name: WRONG OR MISSING FILES"; return 1; }
  echo "$name: all $N files ok; $(wc -l < "$DIR/conn.log") requests on $(awk '{print $1}' "$DIR/conn.log" | sort -u | wc -l) TCP connections"
}
check ddm $DDM_CMD
check aria2c $ARIA_CMD
check wget2 $WGET_CMD
PREP="sh -c 'rm -rf $DIR/out && mkdir -p $DIR/out'"
hyperfine -N --warmup 1 --runs "$RUNS" --prepare "$PREP" --export-json "$DIR/result.json" \
  -n ddm "$DDM_CMD" -n aria2c-j16 "$ARIA_CMD" -n wget2-t16 "$WGET_CMD" >/dev/null
python3 - "$DIR/result.json" "$N" "$KIB" "$MODE" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
n, kib, mode = sys.argv[2:]
med = {r["command"]: r["median"] for r in res}
print(f"queue: {n} files x {kib} KiB, mode={mode}")
for name, m in med.items():
    print(f"  {name:12s} median {m:7.3f} s   {int(n)/m:8.1f} files/s")
for name, m in med.items():
    if name != "ddm":
        print(f"  ddm/{name} wall-time ratio: {med['ddm']/m:.3f}")
PY
