"""Drives an aria2 JSON-RPC server through aria2p's Python API (aria2p.API), as a user's
script would: add a URL with dir/out/header, wait for it, pause and resume a slow one, list,
global stat, remove an active one and a finished one.

Run with the venv's python (tests/rpc/setup.sh installs it):

    aria2p_api.py --port P --secret S --dir D --url URL --slow-url URL --gone-url URL
                  [--header 'Name: value']...

Prints one JSON object per line on stdout, each with a "step"; "paused" and "resumed" are
printed the moment they happen (flushed), so a test reading the lines can look at the HTTP
server while the download is held. Exits 1 with "error: ..." on stderr on any failure.
"""

import argparse
import json
import sys
import time

import aria2p

WAIT = 20.0  # seconds any one wait may take
HOLD = 1.5  # seconds a download stays paused (the test samples the HTTP server meanwhile)


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def fail(msg):
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def wait_until(what, check, limit=WAIT):
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() - start > limit:
            fail(f"timed out after {limit:.0f} s waiting for {what}")
        time.sleep(0.05)


def refresh(download):
    download.update()
    if download.has_failed:
        fail(f"download {download.gid} failed: {download.error_code} {download.error_message}")
    return download


def wait_complete(download):
    wait_until(f"download {download.gid} to complete", lambda: refresh(download).is_complete)
    return download


def described(d):
    return {
        "gid": d.gid,
        "status": d.status,
        "total_length": d.total_length,
        "completed_length": d.completed_length,
        "path": str(d.files[0].path) if d.files else None,
    }


def expect_ok(results, what):
    if len(results) != 1 or results[0] is not True:
        fail(f"{what} answered {[str(r) for r in results]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--slow-url", required=True)
    p.add_argument("--gone-url", required=True)
    p.add_argument("--header", action="append", default=[])
    a = p.parse_args()

    api = aria2p.API(aria2p.Client(host="http://127.0.0.1", port=a.port, secret=a.secret, timeout=10))
    version = api.client.get_version()
    emit("version", version=version.get("version"))

    # 1. A URL with dir, out and header options, waited for.
    added = api.add_uris([a.url], options={"dir": a.dir, "out": "api.bin", "header": a.header})
    emit("added", gid=added.gid, status=added.status)
    done = wait_complete(added)
    emit("complete", **described(done))

    # 2. Pause and resume a slow download.
    slow = api.add_uris([a.slow_url], options={"dir": a.dir, "out": "slow.bin"})
    emit("added", gid=slow.gid, status=slow.status)
    wait_until(
        f"download {slow.gid} to receive bytes",
        lambda: refresh(slow).completed_length > 0,
    )
    if slow.is_complete:
        fail(f"download {slow.gid} completed before it could be paused: the slow URL is too fast")
    expect_ok(api.pause([slow]), f"pause {slow.gid}")
    wait_until(f"download {slow.gid} to be paused", lambda: refresh(slow).status == "paused")
    held = slow.completed_length
    emit("paused", **described(slow))
    time.sleep(HOLD)
    refresh(slow)
    if slow.status != "paused" or slow.completed_length != held:
        fail(
            f"paused download {slow.gid} moved: status {slow.status}, "
            f"{held} -> {slow.completed_length} bytes"
        )
    expect_ok(api.resume([slow]), f"resume {slow.gid}")
    emit("resumed", gid=slow.gid)
    wait_complete(slow)
    emit("complete", **described(slow))

    # 3. Remove one while it runs.
    gone = api.add_uris([a.gone_url], options={"dir": a.dir, "out": "gone.bin"})
    emit("added", gid=gone.gid, status=gone.status)
    wait_until(f"download {gone.gid} to receive bytes", lambda: refresh(gone).completed_length > 0)
    expect_ok(api.remove([gone]), f"remove {gone.gid}")

    def gone_from_list():
        listed = {d.gid: d.status for d in api.get_downloads()}
        return gone.gid not in listed or listed[gone.gid] == "removed"

    wait_until(f"download {gone.gid} to leave the list", gone_from_list)
    emit("removed-active", gid=gone.gid)

    # 4. The list and the global numbers.
    listed = api.get_downloads()
    emit("list", downloads=[{"gid": d.gid, "status": d.status, "name": d.name} for d in listed])
    statuses = {d.gid: d.status for d in listed}
    for d in (done, slow):
        if statuses.get(d.gid) != "complete":
            fail(f"get_downloads lists {d.gid} as {statuses.get(d.gid)!r}, not 'complete'")
    stats = api.get_stats()
    emit(
        "stats",
        num_active=stats.num_active,
        num_waiting=stats.num_waiting,
        num_stopped=stats.num_stopped,
        download_speed=stats.download_speed,
    )
    if stats.num_active != 0 or stats.num_stopped < 2:
        fail(f"getGlobalStat: {stats.num_active} active, {stats.num_stopped} stopped; want 0 and >= 2")

    # 5. Remove a finished download's result.
    expect_ok(api.remove([done]), f"remove {done.gid}")
    if done.gid in {d.gid for d in api.get_downloads()}:
        fail(f"{done.gid} is still listed after remove")
    emit("removed-result", gid=done.gid)
    emit("ok")


if __name__ == "__main__":
    try:
        main()
    except aria2p.ClientException as e:
        fail(f"the server answered an error: {e.code} {e.message}")
    except Exception as e:  # noqa: BLE001 - any failure is the script's failure
        fail(f"{type(e).__name__}: {e}")
