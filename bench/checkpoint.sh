#!/usr/bin/env bash
# Checkpoint cost and cadence on a large file (issue 15.5): `ddm get` of one big unthrottled
# file from ddm-faultserver (`--big`) into a tmpfs and onto a disk directory, timed with
# hyperfine; then one run with -vvv per destination, whose checkpoint trace lines give the
# bytes received between checkpoints (what a crash can cost) and each fdatasync's time.
#
#   bench/checkpoint.sh
#
# Env: DDM (ddm binary, default target/release/ddm), DDM_BASE (optional second binary to
#      compare, e.g. one built from an older commit), SIZE_MIB (default 2048), CONN
#      (connections, default 16), RUNS (hyperfine runs, default 5), PORT (default 18091),
#      TMPFS_DIR (default /dev/shm/ddm-ckpt), DISK_DIR (default /var/tmp/ddm-ckpt),
#      FAULTSERVER (a ddm-faultserver binary instead of building target/release's), DESTS
#      (which destinations, default "tmpfs disk").
# Needs python3 and hyperfine (installed from Debian's packages when missing). The server
# holds the body in memory and each destination gets a copy: SIZE_MIB x 3 of RAM with tmpfs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DDM=${DDM:-target/release/ddm}; SIZE_MIB=${SIZE_MIB:-2048}; CONN=${CONN:-16}
RUNS=${RUNS:-5}; PORT=${PORT:-18091}
TMPFS_DIR=${TMPFS_DIR:-/dev/shm/ddm-ckpt}; DISK_DIR=${DISK_DIR:-/var/tmp/ddm-ckpt}
command -v hyperfine >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
}
[ -x "$DDM" ] || { echo "no ddm binary at $DDM (cargo build --release first)" >&2; exit 2; }
if [ -z "${FAULTSERVER:-}" ]; then
  cargo build --release -q -p ddm-testserver --bin ddm-faultserver
  FAULTSERVER=target/release/ddm-faultserver
fi
BINS=("new=$DDM")
[ -n "${DDM_BASE:-}" ] && BINS+=("base=$DDM_BASE")

"$FAULTSERVER" --port "$PORT" --big "$SIZE_MIB" >/tmp/ddm-ckpt-server.out 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$TMPFS_DIR" "$DISK_DIR"' EXIT
for _ in $(seq 600); do
  grep -q '^ready' /tmp/ddm-ckpt-server.out 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat /tmp/ddm-ckpt-server.out >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' /tmp/ddm-ckpt-server.out || { echo "ddm-faultserver not ready" >&2; exit 1; }
URL=http://127.0.0.1:$PORT/big/f.bin
echo "$SIZE_MIB MiB from $URL, -c $CONN, $RUNS runs each"

for where in ${DESTS:-tmpfs disk}; do
  case $where in
    tmpfs) dir=$TMPFS_DIR ;;
    disk) dir=$DISK_DIR ;;
    *) echo "DESTS: tmpfs or disk, not $where" >&2; exit 2 ;;
  esac
  for b in "${BINS[@]}"; do
    name=${b%%=*}; bin=${b#*=}
    prep="rm -rf $dir && mkdir -p $dir/out"
    hyperfine -N --runs "$RUNS" --warmup 1 --prepare "sh -c '$prep'" \
      --export-json "/tmp/ddm-ckpt-$where-$name.json" \
      "$bin --home $dir/home get $URL -d $dir/out -c $CONN -q" >/dev/null
    sh -c "$prep"
    "$bin" -vvv --home "$dir/home" get "$URL" -d "$dir/out" -c "$CONN" 2>"/tmp/ddm-ckpt-$where-$name.log" >/dev/null
    python3 - "$where" "$name" "/tmp/ddm-ckpt-$where-$name.json" "/tmp/ddm-ckpt-$where-$name.log" "$SIZE_MIB" <<'PY'
import json, re, statistics, sys
where, name, js, log, size = sys.argv[1:6]
r = json.load(open(js))["results"][0]
rec, sync = [], []
for line in open(log, errors="replace"):
    # `received` and `sync_ms` since issue 15; older binaries log `done` (durable) only.
    m = re.search(r"checkpoint .*?(?:received|done)=(\d+)", line)
    if m and " checkpoint" in line:
        got = re.search(r"received=(\d+)", line) or re.search(r"done=(\d+)", line)
        rec.append(int(got.group(1)))
        s = re.search(r"sync_ms=([\d.]+)", line)
        if s:
            sync.append(float(s.group(1)))
gaps = [(b - a) / 2**20 for a, b in zip(rec, rec[1:]) if b > a]
mib = int(size)
print(f"{where:5} {name:4}  median {r['median']:.2f} s ({mib / r['median']:.0f} MiB/s), "
      f"min {r['min']:.2f} max {r['max']:.2f}; {len(rec)} checkpoints, received between them: "
      f"median {statistics.median(gaps) if gaps else 0:.0f} MiB, max {max(gaps) if gaps else 0:.0f} MiB; "
      f"fdatasync median {statistics.median(sync) if sync else 0:.1f} ms, max {max(sync) if sync else 0:.1f} ms")
PY
  done
  rm -rf "$dir"
done
