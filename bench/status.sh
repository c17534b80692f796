#!/usr/bin/env bash
# `ddm status` of a big store: N jobs (default 100,000) added with `ddm add -i` into a fresh
# data directory, then spread over the states a long-lived queue has (mostly done, some
# failed, paused, queued with priorities, a few marked running), and timed with hyperfine:
# `ddm status` (the table), `ddm status --json`, and `ddm status --state running,queued`.
# The target (issue 18.4) is under 0.2 s for the table and the filtered table.
#
#   bench/status.sh [N_JOBS=100000]
#
# Env: DDM (ddm binary, default target/release/ddm), RUNS (hyperfine runs, default 10),
#      BENCH_DIR (default /tmp/ddm-status; the store is made again when N changes).
# Needs hyperfine and sqlite3 (installs them from Debian's packages with apt-get, as root,
# when missing). No network: the URLs point at 127.0.0.1:9 and nothing runs them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
N=${1:-100000}
DDM=${DDM:-target/release/ddm}; RUNS=${RUNS:-10}; DIR=${BENCH_DIR:-/tmp/ddm-status}
case $N in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;; esac
case $N in ''|*[!0-9]*) echo "N_JOBS must be a number, not '$N'" >&2; exit 2 ;; esac

need() { command -v "$1" >/dev/null 2>&1; }
if ! need hyperfine || ! need sqlite3; then
  echo "installing hyperfine sqlite3 (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine sqlite3 >/dev/null
fi
[ -x "$DDM" ] || { echo "no ddm binary at $DDM (cargo build --release first)" >&2; exit 2; }
DDM=$(cd "$(dirname "$DDM")" && pwd)/$(basename "$DDM")
case "$DDM$DIR" in *[[:space:]]*) echo "DDM and BENCH_DIR must not contain whitespace" >&2; exit 2 ;; esac

HOME_DIR=$DIR/home-$N
if [ ! -f "$HOME_DIR/jobs.db" ]; then
  rm -rf "$DIR" && mkdir -p "$DIR/out"
  # 50 hosts, so the connection ceilings read some host policies.
  awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "http://h%d.example:9/dir/file-%d.bin\n", i % 50, i }' > "$DIR/urls.txt"
  echo "adding $N jobs" >&2
  "$DDM" --home "$HOME_DIR" add -q -d "$DIR/out" -i "$DIR/urls.txt" >/dev/null
  # A long-lived store: 80% done, 5% failed, 5% paused, a few running, the rest queued
  # (some with a priority). Sizes and progress so every column has something to show.
  sqlite3 "$HOME_DIR/jobs.db" <<'SQL'
UPDATE jobs SET size = 1048576 * (1 + id % 300), file_name = 'file-' || id || '.bin';
UPDATE jobs SET state = 'done', bytes_done = size WHERE id % 100 < 80;
UPDATE jobs SET state = 'failed', error = 'HTTP 404 Not Found', error_kind = 'http'
  WHERE id % 100 BETWEEN 80 AND 84;
UPDATE jobs SET state = 'paused', bytes_done = size / 3 WHERE id % 100 BETWEEN 85 AND 89;
UPDATE jobs SET state = 'running', bytes_done = size / 2, speed = 1000000, conns = 4
  WHERE id % 1000 = 999;
UPDATE jobs SET priority = 10 WHERE state = 'queued' AND id % 7 = 0;
SQL
fi
sqlite3 "$HOME_DIR/jobs.db" "SELECT state, count(*) FROM jobs GROUP BY state ORDER BY state" | tr '\n' ' ' >&2
echo >&2
lines=$("$DDM" --home "$HOME_DIR" status | wc -l)
echo "ddm status prints $lines lines" >&2
hyperfine -N --warmup 2 --runs "$RUNS" \
  -n "status" "$DDM --home $HOME_DIR status" \
  -n "status --json" "$DDM --home $HOME_DIR status --json" \
  -n "status --state running,queued" "$DDM --home $HOME_DIR status --state running,queued" \
  --output=null
