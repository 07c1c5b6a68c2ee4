#!/usr/bin/env python3
"""tests/manyclients.py - drive a "listen -k" server with many clients.

Starts SERVER (a command line that listens on PORT, substituted for
{port}), connects N clients at once, has each send its own line, checks
that the server's stdout carries every line exactly once and whole, then
writes a broadcast to the server's stdin and checks that every client
receives it byte for byte, then closes stdin and checks every client sees
end of file.  Prints one result line; exit 0 when every check passed.
"""
import argparse
import os
import shlex
import selectors
import socket
import subprocess
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True,
                    help="command with {port}, e.g. 'sockt listen -k {port}'")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--broadcast-bytes", type=int, default=4096)
    ap.add_argument("--deadline", type=float, default=120.0)
    ap.add_argument("--no-eof-check", action="store_true",
                    help="the server does not half-close at stdin EOF")
    a = ap.parse_args()

    end = time.monotonic() + a.deadline
    port = free_port()
    out_path = f"/tmp/manyclients.{os.getpid()}.out"
    out = open(out_path, "wb")
    srv = subprocess.Popen(shlex.split(a.server.format(port=port)),
                           stdin=subprocess.PIPE, stdout=out,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    result = {"clients": a.clients}
    try:
        # readiness: the port accepts
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > end or srv.poll() is not None:
                    raise SystemExit("server never listened")
                time.sleep(0.01)
        # the probe connection above was a client too; ignore it

        sel = selectors.DefaultSelector()
        socks = []
        for i in range(a.clients):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE, i)
        pending = set(range(a.clients))
        while pending and time.monotonic() < end:
            for key, _ in sel.select(1):
                i = key.data
                err = socks[i].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise SystemExit(f"client {i}: connect: {os.strerror(err)}")
                sel.unregister(socks[i])
                socks[i].sendall(b"client %07d %s\n" % (i, b"x" * 40))
                pending.discard(i)
        result["connected"] = a.clients - len(pending)
        if pending:
            print(f"clients={a.clients} connected={a.clients - len(pending)}"
                  f" (server alive: {srv.poll() is None})")
            sys.exit(1)

        # every client's line reaches stdout whole
        want = a.clients
        while time.monotonic() < end:
            out.flush()
            with open(out_path, "rb") as f:
                lines = f.read().split(b"\n")
            if len([l for l in lines if l.startswith(b"client ")]) >= want:
                break
            time.sleep(0.05)
        got = [l for l in lines if l]
        ids = sorted(int(l.split()[1]) for l in got)
        whole = all(l == b"client %07d %s" % (int(l.split()[1]), b"x" * 40)
                    for l in got)
        result["lines_ok"] = ids == list(range(a.clients)) and whole

        # the broadcast reaches every client, byte for byte
        payload = (b"broadcast-%d " % a.broadcast_bytes) * a.broadcast_bytes
        payload = payload[:a.broadcast_bytes]
        srv.stdin.write(payload)
        srv.stdin.flush()
        bufs = [b""] * a.clients
        for i, s in enumerate(socks):
            sel.register(s, selectors.EVENT_READ, i)
        waiting = set(range(a.clients))
        while waiting and time.monotonic() < end:
            for key, _ in sel.select(1):
                i = key.data
                data = socks[i].recv(65536)
                bufs[i] += data
                if len(bufs[i]) >= len(payload) or not data:
                    waiting.discard(i)
                    sel.unregister(socks[i])
        for s in socks:
            if s.fileno() in sel.get_map():
                sel.unregister(s)
        result["broadcast_ok"] = sum(1 for b in bufs if b == payload)
        result["rss_kib"] = rss_kib(srv.pid)

        # stdin EOF half-closes every client
        if not a.no_eof_check:
            srv.stdin.close()
            for i, s in enumerate(socks):
                sel.register(s, selectors.EVENT_READ, i)
            waiting = set(range(a.clients))
            while waiting and time.monotonic() < end:
                for key, _ in sel.select(1):
                    i = key.data
                    if not socks[i].recv(65536):
                        waiting.discard(i)
                        sel.unregister(socks[i])
            result["eof_ok"] = a.clients - len(waiting)
            for s in socks:
                if s.fileno() in sel.get_map():
                    sel.unregister(s)
        for s in socks:
            s.close()
    finally:
        try:
            os.killpg(srv.pid, 9)
        except ProcessLookupError:
            pass
        srv.wait()
        out.close()
        os.unlink(out_path)

    ok = (result["lines_ok"] and result["broadcast_ok"] == a.clients and
          (a.no_eof_check or result["eof_ok"] == a.clients))
    print(" ".join(f"{k}={v}" for k, v in result.items()))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
