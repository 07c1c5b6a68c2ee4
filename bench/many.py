#!/usr/bin/env python3
"""bench/many.py - N concurrent connections, each echoed back whole.

    many.py echo PORTFILE              an asyncio echo server on 127.0.0.1
    many.py clients PORT N BYTES [DIR] N connections held open at once, each
                                       sending BYTES random bytes and
                                       checking it gets exactly them back;
                                       with DIR, once all are open it
                                       creates DIR/held and waits for DIR/go

The client prints "connected=N ok=M seconds=S" (ok counts connections
whose echo matched); exit 0 only when every one did.  Standard library.
"""
import asyncio
import hashlib
import os
import resource
import sys
import time


async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def serve(portfile):
    srv = await asyncio.start_server(echo, "127.0.0.1", 0, backlog=4096)
    port = srv.sockets[0].getsockname()[1]
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(portfile + ".tmp", portfile)
    async with srv:
        await srv.serve_forever()


async def one(port, nbytes, gate, held):
    data = os.urandom(nbytes)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    held.append(1)
    await gate.wait()            # every connection is open before any talks
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    got = bytearray()
    while True:
        d = await reader.read(65536)
        if not d:
            break
        got += d
    writer.close()
    return hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


async def clients(port, n, nbytes, sync):
    gate = asyncio.Event()
    held = []
    tasks = []
    for i in range(n):
        tasks.append(asyncio.ensure_future(one(port, nbytes, gate, held)))
        if i % 500 == 499:
            await asyncio.sleep(0)   # let the connects go out
    while len(held) < n and not all(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    if sync:
        open(os.path.join(sync, "held"), "w").close()
        while not os.path.exists(os.path.join(sync, "go")):
            await asyncio.sleep(0.05)
    t0 = time.time()
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    ok = sum(1 for r in results if r is True)
    print("connected=%d ok=%d seconds=%.2f" % (len(held), ok, time.time() - t0))
    return ok == n


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if sys.argv[1] == "echo":
        asyncio.run(serve(sys.argv[2]))
    else:
        ok = asyncio.run(clients(int(sys.argv[2]), int(sys.argv[3]),
                                 int(sys.argv[4]),
                                 sys.argv[5] if len(sys.argv) > 5 else None))
        sys.exit(0 if ok else 1)


main()
