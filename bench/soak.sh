#!/usr/bin/env bash
# Soak of the store, runner and engine together: N small files (random sizes up to 300 KB)
# queued from a loopback nginx that throttles each request, 8 processes looping `status`,
# `pause ID`, `resume ID` and `status --json` on random jobs beside `ddm run`, and the runner
# killed with `kill -9` at random moments (every 0.1-0.9 s) for SECS seconds. Then every
# job is resumed and one last `ddm run` finishes the queue. It passes when every job is
# done, every file is byte-exact, and nothing else was left in the directory (no `.part`,
# no `name (1)`); it prints the kills, the states and the CLIs' distinct error lines.
#
#   bench/soak.sh [N_FILES=300] [SECS=60]
#
# Env: DDM (ddm binary, default target/release/ddm), PORT (default 18084), RATE (per
#      request, default 256k), BENCH_DIR (default /tmp/ddm-soak).
# Needs nginx (nginx-light from Debian's packages, installed with apt-get as root when
# missing), python3, cmp.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
N=${1:-300}; SECS=${2:-60}
case $N in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;; esac
DDM=${DDM:-target/release/ddm}; PORT=${PORT:-18084}; RATE=${RATE:-256k}
DIR=${BENCH_DIR:-/tmp/ddm-soak}

command -v nginx >/dev/null 2>&1 || {
  echo "installing nginx-light (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
}
[ -x "$DDM" ] || { echo "no ddm binary at $DDM (cargo build --release first)" >&2; exit 2; }
DDM=$(cd "$(dirname "$DDM")" && pwd)/$(basename "$DDM")

rm -rf "$DIR/home" "$DIR/out" "$DIR/err"
mkdir -p "$DIR/www" "$DIR/tmp" "$DIR/home" "$DIR/out" "$DIR/err"
python3 - "$DIR/www" "$N" <<'EOF'
import os, random, sys
random.seed(7)
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], f"f{i:04d}.bin"), "wb") as f:
        f.write(os.urandom(random.randint(1000, 300000)))
EOF
sed -e "s#@DIR@#$DIR#g" -e "s#@PORT@#$PORT#g" -e "s#@RATE@#$RATE#g" -e "s#@ACCESS_LOG@#off#g" \
  bench/nginx.conf.in >"$DIR/nginx.conf"
[ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null && sleep 0.5
nginx -c "$DIR/nginx.conf"
trap 'kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true' EXIT

ddm() { "$DDM" --home "$DIR/home" "$@"; }
for i in $(seq 0 $((N - 1))); do printf 'http://127.0.0.1:%s/slow/f%04d.bin\n' "$PORT" "$i"; done >"$DIR/urls.txt"
ddm add -i "$DIR/urls.txt" -d "$DIR/out" >/dev/null

end=$((SECONDS + SECS))
for p in $(seq 8); do
  (
    while [ $SECONDS -lt $end ]; do
      id=$((RANDOM % N + 1))
      case $((RANDOM % 4)) in
        0) ddm status ;;
        1) ddm pause "$id" ;;
        2) ddm resume "$id" ;;
        3) ddm status --json ;;
      esac >/dev/null 2>>"$DIR/err/cli.$p" || true
    done
  ) &
done
kills=0
while [ $SECONDS -lt $end ]; do
  # The binary itself in the background (not the shell function): `kill -9` must hit ddm.
  "$DDM" --home "$DIR/home" run -q >/dev/null 2>>"$DIR/err/run" &
  r=$!
  sleep "0.$((RANDOM % 9 + 1))"
  if kill -9 "$r" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$r" 2>/dev/null || true
done
wait
echo "runner killed with kill -9: $kills times in ${SECS} s, 8 CLIs beside it"
ddm resume --all >/dev/null 2>&1 || true
ddm run -q 2>>"$DIR/err/final" || echo "the last run exited $?"
ddm status --json | python3 -c '
import collections, json, sys
print("states:", dict(collections.Counter(j["state"] for j in json.load(sys.stdin))))'
bad=0
for i in $(seq 0 $((N - 1))); do
  f=$(printf 'f%04d.bin' "$i")
  cmp -s "$DIR/www/$f" "$DIR/out/$f" || { bad=$((bad + 1)); echo "not byte-exact: $f"; }
done
extra=$(find "$DIR/out" -type f ! -name 'f[0-9][0-9][0-9][0-9].bin' | wc -l)
echo "files not byte-exact: $bad; other files left: $extra"
echo "the CLIs' distinct messages on stderr:"
cat "$DIR"/err/* 2>/dev/null | sort | uniq -c | sort -rn | head -10
[ "$bad" -eq 0 ] && [ "$extra" -eq 0 ]
