#!/usr/bin/env python3
"""bench/exec-burst.py - does a burst of new clients stall established ones?

Starts "SOCKT exec -k 127.0.0.1 0 -- nice -n 19 PROGRAM" (default
/bin/cat), opens one established session that echoes a line back and
forth without pause (a ping), then connects N new clients at once
(default 200), each sending one line and waiting for its echo.  Prints
the ping's round trips before and during the burst (median and worst) and
how long the burst took to be answered in full.  A loop that waits for
each new program's execve() stalls the ping for the whole burst; one that
learns it on the loop does not.

So that the figures show sockt's loop rather than a CPU shared with 200
programs starting, the server, the ping's program and this script are
reniced to -20, with their autogroups (as root; otherwise it says so),
and the burst's programs run under nice 19.  Prints one line per run; exit 0.
"""
import argparse
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def start_server(sockt, program):
    d = tempfile.mkdtemp()
    pf = os.path.join(d, "port")
    p = subprocess.Popen([sockt, "exec", "-k", "--port-file", pf,
                          "127.0.0.1", "0", "--", "nice", "-n", "19"] +
                         program,
                         stdin=subprocess.DEVNULL)
    end = time.time() + 10
    while not os.path.exists(pf):
        if time.time() > end or p.poll() is not None:
            sys.exit("exec-burst: the server did not start")
        time.sleep(0.01)
    with open(pf) as f:
        return p, int(f.read())


def ping(port, stop, rtts, phase):
    """Echo one line back and forth until STOP; RTTS[phase[0]] gets each."""
    favour([0])     # this thread (Linux: PRIO_PROCESS 0 is the caller)
    c = socket.create_connection(("127.0.0.1", port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while not stop.is_set():
        t = time.monotonic()
        c.sendall(b"p\n")
        got = b""
        while not got.endswith(b"\n"):
            chunk = c.recv(100)
            if not chunk:
                return
            got += chunk
        rtts[phase[0]].append(time.monotonic() - t)
    c.close()


def burst(port, n):
    """N clients at once; returns the seconds until every one had its echo."""
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    left = 0
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_WRITE, [b"", b"c%d\n" % i])
        left += 1
    deadline = t0 + 60
    while left and time.monotonic() < deadline:
        for key, ev in sel.select(1):
            s, st = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE:
                s.send(st[1])
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            chunk = s.recv(100)
            st[0] += chunk
            if not chunk or st[0].endswith(b"\n"):
                sel.unregister(s)
                s.close()
                left -= 1
    return time.monotonic() - t0, left


def children(pid):
    """The pids of PID's children (the ping's program, so far)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def favour(pids):
    """Renice PIDS to -20, and their scheduling autogroups (each program
    leads a session of its own, and with kernel.sched_autogroup_enabled
    every session shares the CPU equally, whatever its nice value);
    returns True, or the reason it could not."""
    try:
        for pid in pids:
            os.setpriority(os.PRIO_PROCESS, pid, -20)
            path = "/proc/%d/autogroup" % (pid or os.getpid())
            if os.path.exists(path):
                with open(path, "w") as f:
                    f.write("-20")
    except OSError as e:
        return e.strerror
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockt", required=True)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("program", nargs="*", default=["/bin/cat"])
    a = ap.parse_args()
    for run in range(a.runs):
        p, port = start_server(a.sockt, a.program)
        stop = threading.Event()
        rtts = {"before": [], "during": []}
        phase = ["before"]
        t = threading.Thread(target=ping, args=(port, stop, rtts, phase))
        t.start()
        time.sleep(0.3)
        favoured = favour([p.pid, os.getpid()] + children(p.pid))
        phase[0] = "during"
        took, missing = burst(port, a.clients)
        stop.set()
        t.join()
        p.terminate()
        p.wait()
        b, d = rtts["before"], rtts["during"]
        print("run %d: ping before %.2f ms median, %.2f ms worst; during "
              "the burst %.2f ms median, %.1f ms worst (%d pings); %d "
              "clients answered in %.0f ms%s" % (
                  run + 1, statistics.median(b) * 1e3, max(b) * 1e3,
                  statistics.median(d) * 1e3 if d else 0,
                  max(d) * 1e3 if d else 0, len(d), a.clients - missing,
                  took * 1e3, ", %d unanswered" % missing if missing else "")
              + ("" if favoured is True else " (not reniced: %s)" % favoured))


if __name__ == "__main__":
    main()
