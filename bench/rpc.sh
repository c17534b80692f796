#!/usr/bin/env bash
# "Front-end polling" benchmark (issue 16): `ddm serve` answering aria2 JSON-RPC clients that
# poll like AriaNg while downloads run at full speed on loopback, side by side with
# `aria2c --enable-rpc` under the same load.
#
#   bench/rpc.sh [ddm] [aria2c]        (default: both)
#
# Each server holds 1,000 downloads, as AriaNg's lists would show them: 100 complete and
# 20 failed (404) ones in the stopped list, 876 paused ones in the waiting list, and 4 large
# paused ones (BIG_MIB MiB each from ddm-faultserver's /big/f.bin, unthrottled, written to
# OUT_DIR) that are unpaused by RPC (`aria2.unpause`, one multicall) to run at full speed.
# The data directory for ddm is made once (`ddm add` + `ddm run` + `ddm pause --all`) and
# copied for every run; aria2c gets the same entries from an input file each run.
#
# A "polled" run: the server starts; rpcload (bench/rpcload.rs, built with rustc) starts
# CLIENTS clients, each on its own kept-alive connection calling every INTERVAL_MS ms
# aria2.tellActive, aria2.tellWaiting(0,1000), aria2.tellStopped(-1,1000) and
# aria2.getGlobalStat with the token, for DURATION s; LEAD s later the 4 downloads are
# unpaused. An "unpolled" run does the same without rpcload. RUNS of each, alternating.
# Throughput = 4 x BIG_MIB / (last file's ctime - the unpause call): ddm renames a finished
# `.part` (ctime moves with the rename), aria2c's last write moves it; completion is seen
# from the files (ddm: final name there, `.part` gone) or aria2c's --on-download-complete
# hook. Every downloaded file is compared with the server's body (cmp).
#
# Reports per server: latency p50/p95/p99/max per method and in all, over the calls made
# while the downloads ran (all runs pooled) and over whole runs; failed calls; the lists'
# sizes; throughput polled vs unpolled (medians); the server's CPU (cores) while the
# downloads ran, and the machine's load average before each run (on a shared machine other
# work moves throughput by tens of percent: compare runs with similar load). Targets
# (issue 16): ddm's p99 under 20 ms, its downloads' throughput within 5% of the unpolled runs.
#
# Env: DDM (default target/release/ddm), FAULTSERVER (default: built with cargo, release),
#      RUNS (3), DURATION (20), LEAD (2), CLIENTS (10), INTERVAL_MS (100), BIG_MIB (1024),
#      PORT (loopback file server, 18092), RPC_PORT (16800), BENCH_DIR (/tmp/ddm-rpc),
#      OUT_DIR (where the 4 downloads go: default /dev/shm/ddm-rpc-bench, a tmpfs, so the
#      disk does not decide; 4 x BIG_MIB MiB must fit), TIMEOUT (s per run, 300).
# Needs curl, python3, rustc, cmp; installs aria2 from Debian's packages (apt-get) when
# aria2c is missing, saying so. Logs and the raw call records: BENCH_DIR/log, BENCH_DIR/calls.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DDM=${DDM:-target/release/ddm}; RUNS=${RUNS:-3}; DURATION=${DURATION:-20}; LEAD=${LEAD:-2}
CLIENTS=${CLIENTS:-10}; INTERVAL_MS=${INTERVAL_MS:-100}; BIG_MIB=${BIG_MIB:-1024}
PORT=${PORT:-18092}; RPC_PORT=${RPC_PORT:-16800}; DIR=${BENCH_DIR:-/tmp/ddm-rpc}
OUT_DIR=${OUT_DIR:-/dev/shm/ddm-rpc-bench}; TIMEOUT=${TIMEOUT:-300}
SECRET=bench-rpc-secret; NDONE=100; NFAIL=20; NIDLE=876; NBIG=4

SERVERS=()
for a in "$@"; do
  case $a in
    ddm|aria2c) SERVERS+=("$a") ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown server '$a' (ddm or aria2c)" >&2; exit 2 ;;
  esac
done
[ ${#SERVERS[@]} -gt 0 ] || SERVERS=(ddm aria2c)

need() { command -v "$1" >/dev/null 2>&1; }
if ! need aria2c; then
  echo "installing aria2 (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq aria2 >/dev/null
fi
for t in aria2c curl python3 rustc cmp; do need "$t" || { echo "needs $t" >&2; exit 2; }; done
[ -x "$DDM" ] || { echo "no ddm binary at $DDM (cargo build --release -p ddm-cli first)" >&2; exit 2; }
DDM=$(cd "$(dirname "$DDM")" && pwd)/$(basename "$DDM")
if [ -z "${FAULTSERVER:-}" ]; then
  cargo build --release -q -p ddm-testserver --bin ddm-faultserver
  FAULTSERVER=target/release/ddm-faultserver
fi
[ -x "$FAULTSERVER" ] || { echo "no ddm-faultserver binary at $FAULTSERVER" >&2; exit 2; }
LOAD=target/bench/rpcload
if [ ! -x "$LOAD" ] || [ bench/rpcload.rs -nt "$LOAD" ]; then
  mkdir -p target/bench
  rustc -O --edition 2021 bench/rpcload.rs -o "$LOAD"
fi
LOAD=$ROOT/$LOAD

rm -rf "$DIR" "$OUT_DIR"
mkdir -p "$DIR/log" "$DIR/calls" "$DIR/want" "$OUT_DIR"
BASE=http://127.0.0.1:$PORT
RPC=http://127.0.0.1:$RPC_PORT/jsonrpc
FS_PID=; SERVER_PID=; LOAD_PID=
# Only the processes this script started and that still run (each is waited for and its
# variable emptied once it ends).
cleanup() {
  local p
  for p in $LOAD_PID $SERVER_PID $FS_PID; do kill "$p" 2>/dev/null || true; done
  for p in $LOAD_PID $SERVER_PID $FS_PID; do wait "$p" 2>/dev/null || true; done
  rm -rf "$OUT_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$FAULTSERVER" --port "$PORT" --big "$BIG_MIB" --dump "$DIR/want" >"$DIR/server.out" 2>"$DIR/server.err" &
FS_PID=$!
for _ in $(seq 1200); do
  grep -q '^ready' "$DIR/server.out" 2>/dev/null && break
  kill -0 "$FS_PID" 2>/dev/null || { echo "ddm-faultserver died:" >&2; cat "$DIR/server.err" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$DIR/server.out" || { echo "ddm-faultserver not ready after 120 s" >&2; exit 1; }
echo "ddm-faultserver on $BASE; $NBIG downloads of $BIG_MIB MiB into $OUT_DIR; ddm: $DDM"
echo "load: $CLIENTS clients x (tellActive, tellWaiting(0,1000), tellStopped(-1,1000), getGlobalStat) every $INTERVAL_MS ms for $DURATION s; $RUNS polled + $RUNS unpolled runs per server"

# rpc JSON: one call to whatever listens on RPC_PORT; prints the answer.
rpc() { curl -sS --max-time 10 -H 'Content-Type: application/json' -d "$1" "$RPC"; }
stat_of() { rpc "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"aria2.getGlobalStat\",\"params\":[\"token:$SECRET\"]}" 2>/dev/null || true; }
# until_stat ACTIVE WAITING STOPPED: wait (60 s at most) for the server's counts.
until_stat() {
  local want="\"numActive\":\"$1\".*\"numStopped\":\"$3\".*\"numWaiting\":\"$2\"" s=
  for _ in $(seq 600); do
    s=$(stat_of | python3 -c 'import json,sys
try: r=json.load(sys.stdin)["result"]; print(json.dumps(r, sort_keys=True, separators=(",",":")))
except Exception: pass')
    grep -q "$want" <<<"$s" && return 0
    sleep 0.1
  done
  echo "the RPC server did not reach active=$1 waiting=$2 stopped=$3 (last: ${s:-no answer})" >&2
  return 1
}
now_ns() { date +%s%N; }

# --- ddm: one data directory with 1,000 jobs, made once --------------------------------
PREP_HOME=$DIR/ddm-home-prepared
DDM_IDS=()
prepare_ddm() {
  echo "== preparing ddm's data directory (1,000 jobs)"
  local h=$PREP_HOME
  "$DDM" --home "$h" add -q -d "$DIR/done" $(for i in $(seq $NDONE); do echo "$BASE/q0/f$i.bin"; done) \
    $(for i in $(seq $NFAIL); do echo "$BASE/missing/f$i.bin"; done) >/dev/null
  "$DDM" --home "$h" run -q >"$DIR/log/ddm-prepare-run.log" 2>&1 || true
  "$DDM" --home "$h" add -q -d "$DIR/idle" $(for i in $(seq $NIDLE); do echo "$BASE/idle/f$i.bin"; done) >/dev/null
  local i
  for i in $(seq $NBIG); do
    DDM_IDS+=("$("$DDM" --home "$h" add -q -d "$OUT_DIR" -o "big$i.bin" "$BASE/big/f.bin")")
  done
  "$DDM" --home "$h" pause -q --all >/dev/null
  "$DDM" --home "$h" status --json >"$DIR/ddm-prepared.json"
  python3 - "$DIR/ddm-prepared.json" <<'PY'
import collections, json, sys
jobs = json.load(open(sys.argv[1]))
n = collections.Counter(j["state"] for j in jobs)
print(f"   {len(jobs)} jobs: " + ", ".join(f"{v} {k}" for k, v in sorted(n.items())))
assert len(jobs) == 1000 and n == {"done": 100, "failed": 20, "paused": 880}, "unexpected jobs"
PY
}

# --- aria2c: the same 1,000 entries as an input file -----------------------------------
ARIA_INPUT=$DIR/aria2-input.txt
aria_gid() { printf 'b16b0000000000%02x' "$1"; }
prepare_aria() {
  {
    for i in $(seq $NDONE); do printf '%s\n  dir=%s\n' "$BASE/q0/f$i.bin" "$DIR/aria-done"; done
    for i in $(seq $NFAIL); do printf '%s\n  dir=%s\n' "$BASE/missing/f$i.bin" "$DIR/aria-done"; done
    for i in $(seq $NIDLE); do printf '%s\n  dir=%s\n  pause=true\n' "$BASE/idle/f$i.bin" "$DIR/idle"; done
    for i in $(seq $NBIG); do
      printf '%s\n  dir=%s\n  out=big%s.bin\n  gid=%s\n  pause=true\n' "$BASE/big/f.bin" "$OUT_DIR" "$i" "$(aria_gid "$i")"
    done
  } >"$ARIA_INPUT"
  cat >"$DIR/aria-hook.sh" <<EOF
#!/bin/sh
date +%s%N > "$DIR/marks/\$1.\$(basename "\$0" .sh)"
EOF
  chmod +x "$DIR/aria-hook.sh"
  ln -sf aria-hook.sh "$DIR/complete.sh"; ln -sf aria-hook.sh "$DIR/error.sh"
}

# --- one run ---------------------------------------------------------------------------
start_server() {
  rm -rf "$OUT_DIR" "$DIR/marks" "$DIR/aria-done" && mkdir -p "$OUT_DIR" "$DIR/marks"
  case $1 in
    ddm)
      rm -rf "$DIR/ddm-home" && cp -a "$PREP_HOME" "$DIR/ddm-home"
      "$DDM" --home "$DIR/ddm-home" serve --port "$RPC_PORT" --secret "$SECRET" -d "$OUT_DIR" \
        >"$DIR/log/$RUN.serve.log" 2>&1 &
      SERVER_PID=$! ;;
    aria2c)
      aria2c --enable-rpc --rpc-listen-port="$RPC_PORT" --rpc-secret="$SECRET" -i "$ARIA_INPUT" \
        --max-concurrent-downloads=16 --split=16 --max-connection-per-server=16 --min-split-size=1M \
        --file-allocation=falloc --allow-overwrite=true --auto-file-renaming=false \
        --console-log-level=warn --summary-interval=0 \
        --on-download-complete="$DIR/complete.sh" --on-download-error="$DIR/error.sh" \
        >"$DIR/log/$RUN.aria2c.log" 2>&1 &
      SERVER_PID=$! ;;
  esac
  until_stat 0 $((NIDLE + NBIG)) $((NDONE + NFAIL))
}

# Both servers are stopped the same way, by RPC (aria2.shutdown), and waited for.
stop_server() {
  rpc "{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":\"aria2.shutdown\",\"params\":[\"token:$SECRET\"]}" >/dev/null 2>&1 || true
  local i
  for i in $(seq 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "  $1 did not stop within 30 s of aria2.shutdown: killed" >&2
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# gids SERVER: the 4 downloads' GIDs.
gids() {
  local i
  if [ "$1" = ddm ]; then for i in "${DDM_IDS[@]}"; do printf '%016x\n' "$i"; done
  else for i in $(seq $NBIG); do aria_gid "$i"; echo; done; fi
}

# wait_done SERVER T0: wait for the 4 downloads; prints "seconds MiB/s".
wait_done() {
  python3 - "$1" "$OUT_DIR" "$DIR/marks" "$2" "$NBIG" "$BIG_MIB" "$TIMEOUT" $(gids "$1") <<'PY'
import os, sys, time
server, out, marks, t0, n, mib, timeout = sys.argv[1:8]
gids = sys.argv[8:]
t0, n, mib, timeout = int(t0), int(n), int(mib), float(timeout)
files = [os.path.join(out, f"big{i}.bin") for i in range(1, n + 1)]
def done():
    if server == "ddm":
        return all(os.path.exists(f) and not os.path.exists(f + ".part") for f in files)
    for g in gids:
        if os.path.exists(os.path.join(marks, g + ".error")):
            sys.exit(f"aria2c: download {g} failed")
    return all(os.path.exists(os.path.join(marks, g + ".complete")) for g in gids)
end = time.time() + timeout
while not done():
    if time.time() > end:
        sys.exit(f"the downloads did not finish within {timeout:.0f} s")
    time.sleep(0.02)
last = max(os.stat(f).st_ctime_ns for f in files)
secs = (last - t0) / 1e9
print(f"{secs:.3f} {n * mib / secs:.1f}")
PY
}

check_files() {
  local i
  for i in $(seq $NBIG); do
    cmp -s "$OUT_DIR/big$i.bin" "$DIR/want/big" || { echo "WRONG BYTES in $OUT_DIR/big$i.bin" >&2; return 1; }
  done
}

# CPU time (clock ticks, user + system) the server process used so far.
TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }

# run_one SERVER polled|unpolled N: one run; appends "server mode n t0 t_end secs mibs cpu
# load" to DIR/runs.txt (cpu: the server's CPU seconds from the unpause to the last file;
# load: the machine's 1-minute load average before it).
run_one() {
  local server=$1 mode=$2 n=$3
  RUN=$server-$mode-$n
  start_server "$server"
  if [ "$mode" = polled ]; then
    "$LOAD" "127.0.0.1:$RPC_PORT" "$SECRET" "$CLIENTS" "$INTERVAL_MS" "$DURATION" \
      "$DIR/calls/$RUN.txt" 2>"$DIR/log/$RUN.load.log" &
    LOAD_PID=$!
    sleep "$LEAD"
  fi
  local calls="" i t0
  for g in $(gids "$server"); do
    calls+="${calls:+,}{\"methodName\":\"aria2.unpause\",\"params\":[\"token:$SECRET\",\"$g\"]}"
  done
  local load c0 c1
  load=$(cut -d' ' -f1 /proc/loadavg)
  c0=$(cpu_ticks)
  t0=$(now_ns)
  rpc "{\"jsonrpc\":\"2.0\",\"id\":\"u\",\"method\":\"system.multicall\",\"params\":[[${calls}]]}" >"$DIR/log/$RUN.unpause.json"
  local took
  took=$(wait_done "$server" "$t0") || { stop_server "$server"; return 1; }
  c1=$(cpu_ticks)
  local secs=${took% *} mibs=${took#* } cpu
  cpu=$(python3 -c "print(f'{($c1 - $c0) / $TICKS:.2f}')")
  if [ -n "$LOAD_PID" ]; then
    wait "$LOAD_PID" || true
    LOAD_PID=
  fi
  stop_server "$server"
  check_files
  local t_end; t_end=$(python3 -c "print(int($t0 + $secs * 1e9))")
  echo "$server $mode $n $t0 $t_end $secs $mibs $cpu $load" >>"$DIR/runs.txt"
  local extra=""
  [ "$mode" = polled ] && extra="; $(cat "$DIR/log/$RUN.load.log")"
  printf '  %-7s %-8s run %s: %s s, %s MiB/s, server CPU %s s (bytes ok; load %s)%s\n' \
    "$server" "$mode" "$n" "$secs" "$mibs" "$cpu" "$load" "$extra"
}

: >"$DIR/runs.txt"
for s in "${SERVERS[@]}"; do
  case $s in ddm) prepare_ddm ;; aria2c) prepare_aria ;; esac
done
for s in "${SERVERS[@]}"; do
  echo "== $s"
  for n in $(seq "$RUNS"); do
    run_one "$s" polled "$n"
    run_one "$s" unpolled "$n"
  done
done

echo
python3 - "$DIR/runs.txt" "$DIR/calls" "$CLIENTS" "$INTERVAL_MS" <<'PY'
import collections, os, statistics, sys
runs_file, calls_dir, clients, interval = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
runs = [l.split() for l in open(runs_file) if l.strip()]
METHODS = ["aria2.tellActive", "aria2.tellWaiting", "aria2.tellStopped", "aria2.getGlobalStat"]

def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(0, -(-len(xs) * p // 100) - 1)
    return xs[int(k)]

def table(rows, title):
    print(title)
    print(f"  {'method':<20} {'calls':>6} {'failed':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'listed':>6} {'KiB':>6}")
    for name in METHODS + ["all"]:
        rs = [r for r in rows if name == "all" or r[2] == name]
        if not rs:
            continue
        lat = [int(r[3]) / 1000 for r in rs]
        failed = sum(1 for r in rs if r[6] != "1")
        listed = statistics.median(int(r[5]) for r in rs) if name != "all" else ""
        kib = statistics.median(int(r[4]) for r in rs) / 1024 if name != "all" else ""
        short = name.replace("aria2.", "")
        print(f"  {short:<20} {len(rs):>6} {failed:>6} {pct(lat,50):>7.2f} {pct(lat,95):>7.2f} {pct(lat,99):>7.2f} {max(lat):>7.2f} "
              + (f"{listed:>6.0f} {kib:>6.0f}" if name != "all" else ""))

summary = {}
for server in sorted({r[0] for r in runs}, key=lambda s: s != "ddm"):
    mine = [r for r in runs if r[0] == server]
    during, whole = [], []
    for r in mine:
        if r[1] != "polled":
            continue
        t0, t1 = int(r[3]), int(r[4])
        for line in open(os.path.join(calls_dir, f"{server}-polled-{r[2]}.txt")):
            c = line.split()
            whole.append(c)
            if t0 <= int(c[0]) <= t1:
                during.append(c)
    print(f"== {server}: {clients} clients every {interval} ms")
    table(during, "  latency while the downloads ran (all polled runs):")
    table(whole, "  latency over whole polled runs:")
    polled = [float(r[6]) for r in mine if r[1] == "polled"]
    unpolled = [float(r[6]) for r in mine if r[1] == "unpolled"]
    mp, mu = statistics.median(polled), statistics.median(unpolled)
    print(f"  downloads (MiB/s, 4 together): polled {' '.join(f'{x:.0f}' for x in polled)} (median {mp:.0f}); "
          f"unpolled {' '.join(f'{x:.0f}' for x in unpolled)} (median {mu:.0f}); polled/unpolled {mp/mu:.3f}")
    cpu = {m: [float(r[7]) / float(r[5]) for r in mine if r[1] == m] for m in ("polled", "unpolled")}
    print(f"  server CPU while the downloads ran (cores): polled median {statistics.median(cpu['polled']):.2f}, "
          f"unpolled median {statistics.median(cpu['unpolled']):.2f}; machine load before the runs: "
          + " ".join(r[8] for r in mine))
    lat = [int(c[3]) / 1000 for c in during]
    summary[server] = (pct(lat, 50), pct(lat, 99), max(lat) if lat else float("nan"),
                       sum(1 for c in whole if c[6] != "1"), len(whole), mp, mu)
    print()

print("== side by side (latency while the downloads ran; throughput medians)")
print(f"  {'server':<7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'failed':>10} {'polled MiB/s':>13} {'unpolled MiB/s':>15} {'ratio':>6}")
for s, (p50, p99, mx, failed, calls, mp, mu) in summary.items():
    print(f"  {s:<7} {p50:>7.2f} {p99:>7.2f} {mx:>7.2f} {failed:>4}/{calls:<5} {mp:>13.0f} {mu:>15.0f} {mp/mu:>6.3f}")
if "ddm" in summary:
    p50, p99, mx, failed, calls, mp, mu = summary["ddm"]
    print(f"  ddm targets: p99 < 20 ms: {'met' if p99 < 20 else 'MISSED'} ({p99:.2f} ms); "
          f"throughput within 5%: {'met' if mp >= 0.95 * mu else 'MISSED'} ({(mp/mu - 1) * 100:+.1f}%); "
          f"failed calls: {failed}")
PY
