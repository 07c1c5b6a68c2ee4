#!/usr/bin/env python3
"""tests/soak.py - N short connections through one long-running server.

Starts SERVER ({port} is replaced by a free port), warms it up with a few
hundred connections, records its open fd count and RSS, runs N more
short connections (connect, send a line, half-close, read the answer to
EOF, close; CONCURRENCY at a time), and records them again.  Every answer
must match what the server is expected to send back (--expect: 'echo' for
a server that sends each line back, 'eof' for one that sends nothing).
Prints one result line; exit 0 when every connection was answered right
and fds and RSS ended where they started (RSS within --rss-slack KiB).
"""
import argparse
import os
import selectors
import shlex
import socket
import subprocess
import sys
import time


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return len(f.read().split())
    except OSError:
        return 0


def settle(pid, end):
    """The server's fd count once it has stopped changing (with a deadline):
    the last sessions finish their side after the client saw EOF."""
    prev, stable = -1, 0
    while time.monotonic() < end:
        cur = fds(pid)
        stable = stable + 1 if cur == prev and children(pid) == 0 else 0
        if stable >= 5:
            return cur
        prev = cur
        time.sleep(0.01)
    return fds(pid)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_batch(port, n, concurrency, expect, deadline):
    """N connections, CONCURRENCY at once; returns how many were right."""
    sel = selectors.DefaultSelector()
    started = good = 0
    live = {}

    def start(i):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        live[s] = [i, b"", False]
        sel.register(s, selectors.EVENT_WRITE)

    while (started < n or live) and time.monotonic() < deadline:
        while started < n and len(live) < concurrency:
            start(started)
            started += 1
        for key, ev in sel.select(1):
            s = key.fileobj
            i, buf, sent = live[s]
            if not sent:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    sel.unregister(s)
                    s.close()
                    del live[s]
                    continue
                s.sendall(b"line %d\n" % i)
                s.shutdown(socket.SHUT_WR)
                live[s][2] = True
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = None
            if data:
                live[s][1] += data
                continue
            want = b"line %d\n" % i if expect == "echo" else b""
            if data is not None and buf == want:
                good += 1
            sel.unregister(s)
            s.close()
            del live[s]
    return good


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--connections", type=int, default=100000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--expect", choices=["echo", "eof"], default="eof")
    ap.add_argument("--rss-slack", type=int, default=1024)
    ap.add_argument("--deadline", type=float, default=600)
    a = ap.parse_args()

    end = time.monotonic() + a.deadline
    port = free_port()
    srv = subprocess.Popen(shlex.split(a.server.format(port=port)),
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > end or srv.poll() is not None:
                    sys.exit("server never listened")
                time.sleep(0.01)
        warm = run_batch(port, 500, a.concurrency, a.expect, end)
        fd0, rss0 = settle(srv.pid, end), rss_kib(srv.pid)
        t0 = time.monotonic()
        good = run_batch(port, a.connections, a.concurrency, a.expect, end)
        secs = time.monotonic() - t0
        fd1, rss1 = settle(srv.pid, end), rss_kib(srv.pid)
        alive = srv.poll() is None
    finally:
        try:
            os.killpg(srv.pid, 9)
        except ProcessLookupError:
            pass
        srv.wait()
    ok = (warm == 500 and good == a.connections and alive and fd1 == fd0
          and rss1 - rss0 <= a.rss_slack)
    print(f"connections={a.connections} answered={good} "
          f"conn/s={a.connections / secs:.0f} fds={fd0}->{fd1} "
          f"rss_kib={rss0}->{rss1} alive={alive}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
