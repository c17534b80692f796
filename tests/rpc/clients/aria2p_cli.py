"""Drives an aria2 JSON-RPC server through aria2p's command line, as a user at a terminal
would: `aria2p -p PORT -s SECRET add URL`, `show`, `pause`, `resume`, `remove`, and a wrong
secret. Reads only what the commands print and their exit codes.

Run with the venv's python (tests/rpc/setup.sh installs it); the `aria2p` beside it is used:

    aria2p_cli.py --port P --secret S --dir D --url URL --slow-url URL

Prints one JSON object per line on stdout, each with a "step"; "paused" and "resumed" are
printed the moment they happen (flushed). Exits 1 with "error: ..." on stderr on any failure.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

WAIT = 20.0  # seconds any one wait may take
HOLD = 1.5  # seconds a download stays paused (the test samples the HTTP server meanwhile)
ARIA2P = os.path.join(os.path.dirname(sys.executable), "aria2p")


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def fail(msg):
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


class Cli:
    def __init__(self, port, secret):
        self.base = [ARIA2P, "-H", "http://127.0.0.1", "-p", str(port), "-s", secret, "-T", "10"]

    def run(self, *args, ok=True):
        cmd = self.base + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        if ok and p.returncode != 0:
            fail(f"`aria2p {' '.join(args)}` exited {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
        return p

    def show(self):
        """The rows of `aria2p show`: {gid: (status, name)}."""
        out = self.run("show").stdout.splitlines()
        if not out or not out[0].startswith("GID"):
            fail(f"`aria2p show` printed no table header: {out[:1]}")
        rows = {}
        for line in out[1:]:
            cols = line.split()
            if len(cols) < 7 or not re.fullmatch(r"[0-9a-f]{16}", cols[0]):
                fail(f"`aria2p show` printed a row that is not GID STATUS ...: {line!r}")
            rows[cols[0]] = (cols[1], line.rsplit("  ", 1)[-1].strip())
        return rows

    def add(self, url, options):
        out = self.run("add", url, "-o", options).stdout
        m = re.fullmatch(r"Created download ([0-9a-f]{16})\n", out)
        if not m:
            fail(f"`aria2p add` printed {out!r}, want 'Created download GID'")
        return m.group(1)


def wait_status(cli, gid, want):
    start = time.monotonic()
    while True:
        row = cli.show().get(gid)
        if row and row[0] == want:
            return row
        if row and row[0] == "error":
            fail(f"`aria2p show` says {gid} failed")
        if time.monotonic() - start > WAIT:
            fail(f"timed out after {WAIT:.0f} s waiting for {gid} to be {want} (last: {row})")
        time.sleep(0.1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--slow-url", required=True)
    a = p.parse_args()
    cli = Cli(a.port, a.secret)

    gid = cli.add(a.url, f"dir={a.dir};out=cli.bin")
    emit("added", gid=gid)
    status, name = wait_status(cli, gid, "complete")
    emit("complete", gid=gid, status=status, name=name)

    slow = cli.add(a.slow_url, f"dir={a.dir};out=cli-slow.bin")
    emit("added", gid=slow)
    wait_status(cli, slow, "active")
    cli.run("pause", slow)
    status, _ = wait_status(cli, slow, "paused")
    emit("paused", gid=slow, status=status)
    time.sleep(HOLD)
    if cli.show().get(slow, ("gone",))[0] != "paused":
        fail(f"{slow} did not stay paused")
    cli.run("resume", slow)
    emit("resumed", gid=slow)
    status, name = wait_status(cli, slow, "complete")
    emit("complete", gid=slow, status=status, name=name)

    cli.run("remove", gid)
    rows = cli.show()
    if gid in rows:
        fail(f"`aria2p show` still lists {gid} after `aria2p remove`: {rows[gid]}")
    emit("removed", gid=gid, left=sorted(rows))

    bad = Cli(a.port, a.secret + "-wrong").run("show", ok=False)
    said = (bad.stdout + bad.stderr).strip()
    if bad.returncode == 0 or "Unauthorized" not in said:
        fail(f"a wrong secret: `aria2p show` exited {bad.returncode} saying {said[-300:]!r}")
    emit("unauthorized", exit=bad.returncode)
    emit("ok")


if __name__ == "__main__":
    main()
