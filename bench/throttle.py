#!/usr/bin/env python3
"""A TCP relay that throttles each connection (bench/h2.sh, scenario `conn`).

    bench/throttle.py LISTEN_PORT UPSTREAM_PORT RATE_BYTES_PER_SEC

Listens on 127.0.0.1:LISTEN_PORT and relays every accepted connection to
127.0.0.1:UPSTREAM_PORT, passing the bytes through untouched (TLS and HTTP/2 stay end to
end). The server-to-client direction of each TCP connection is held to RATE bytes/s (a
token bucket with 50 ms of burst), whatever it carries: one HTTP/1.1 response at a time or
many multiplexed HTTP/2 streams. This is "a server that throttles per connection" (per-flow
shaping, per-connection caps of mirrors and CDNs), which nginx's limit_rate is not: that
one limits each request, i.e. each HTTP/2 stream separately.
"""
import asyncio
import sys
import time

CHUNK = 16 * 1024
BURST = 0.05


async def pump(reader, writer, rate):
    due = time.monotonic()
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
            if rate:
                now = time.monotonic()
                due = max(due, now - BURST) + len(data) / rate
                if due > now:
                    await asyncio.sleep(due - now)
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def main():
    listen, upstream, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])

    async def serve(cr, cw):
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pump(cr, uw, 0), pump(ur, cw, rate))

    server = await asyncio.start_server(serve, "127.0.0.1", listen, backlog=256)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
