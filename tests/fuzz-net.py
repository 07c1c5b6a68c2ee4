#!/usr/bin/env python3
"""tests/fuzz-net.py - network-level fuzzer for sockt's servers (make fuzz-net).

The libFuzzer harnesses in tests/fuzz/ feed one parser at a time.  This
driver feeds whole servers over loopback: it starts each target of TARGETS
(a sockt built with ASan+UBSan, on port 0 with --port-file) and throws
randomised sessions at it, hundreds at once: valid and broken requests,
random bytes, random splits and delays between writes, pipelining,
half-closes (SHUT_WR), resets (SO_LINGER 0) at random moments, bytes sent
while the server is busy (hashing a 256 MiB file), slow readers and
clients that never read.

It fails (exit 1, with the seed and how to replay) on:
  - the server exiting, or any sanitizer report on its stderr;
  - an fd not returned: the work runs in rounds, and after each round,
    once every session is closed, the server's /proc/PID/fd count must come
    back to what it was before the first round (polled, with a deadline);
    exec's children must all have been reaped;
  - a stall: every second a probe (a fresh connection doing a small round
    trip: GET, echo, or a token that must reach the server's stdout) must
    be answered within --probe-deadline seconds (twice in a row: one miss
    is retried at once, with new sessions paused);
  - a wrong answer to a "checked" session: one that only speaks valid
    requests, reads everything and waits for the end (the file's bytes and
    the right status from serve-file, every byte echoed by exec -- cat).

Every random choice comes from --seed: session I of round R of target T
draws from Random("SEED/T/R/I"), so a run replays the same sessions in the
same order (timing differs).  The seed is printed first.
Standard library only.
"""
import argparse
import asyncio
import base64
import collections
import ctypes
import errno
import hashlib
import os
import random
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

# ---- the targets -------------------------------------------------------
#
# One row per server.  argv follows "sockt"; {root} is the served tree,
# {upstream} the port of an echo server the driver runs (for a relay).
# stdin: "pipe" keeps a pipe open and writes random bytes to it now and
# then (listen broadcasts them), "null" gives /dev/null.  stdout: "scan"
# reads it and looks for probe tokens, "null" discards it.  probe: how the
# stall probe gets its answer.  sessions: the session generator.
# max_conc: the most sessions at once (exec's loop waits for each new
# child's execve(): with 50 at once, a probe waited up to 5 s on 2 cores).
# pipe_pool: forward's relay keeps up to 64 idle pipes (128 fds) pooled
# for its next splice(); those may remain once sessions are gone.
#
# forward --proxy-server runs with -n: every target a client can name is
# a loopback literal (the generator draws addresses from a loopback pool
# and never mutates them), and names are refused without any lookup, so
# no session can make it connect or resolve beyond this machine.

class Target:
    def __init__(self, name, argv, stdin="null", stdout="null", probe="echo",
                 sessions="stream", max_conc=400, upstream=False,
                 touch=False, pipe_pool=0):
        self.name = name
        self.argv = argv
        self.stdin = stdin
        self.stdout = stdout
        self.probe = probe
        self.sessions = sessions
        self.max_conc = max_conc
        self.upstream = upstream
        self.touch = touch
        self.pipe_pool = pipe_pool


TARGETS = [
    Target("serve-file", ["serve-file", "127.0.0.1", "0", "{root}"],
           probe="http", sessions="http", max_conc=400, touch=True),
    Target("serve-upload", ["serve-file", "--upload", "--max-size", "1000000",
                            "127.0.0.1", "0", "{upload}"],
           probe="http", sessions="upload", max_conc=200),
    Target("listen-k", ["listen", "-k", "127.0.0.1", "0"],
           stdin="pipe", stdout="scan", probe="stdout", sessions="stream",
           max_conc=400),
    Target("broker", ["listen", "--broker", "127.0.0.1", "0"],
           stdin="pipe", stdout="scan", probe="stdout", sessions="broker",
           max_conc=120),
    Target("exec-cat", ["exec", "-k", "127.0.0.1", "0", "--", "/bin/cat"],
           probe="echo", sessions="stream-echo", max_conc=25),
    Target("forward", ["forward", "127.0.0.1", "0", "127.0.0.1:{upstream}"],
           upstream=True, probe="echo", sessions="stream-echo", pipe_pool=128),
    Target("proxy-server", ["forward", "--proxy-server", "-n", "127.0.0.1",
                            "0"],
           upstream=True, probe="proxy", sessions="proxy", pipe_pool=128),
    Target("proxy-auth", ["forward", "--proxy-server", "-n", "--proxy-auth",
                          "fz:pw", "127.0.0.1", "0"],
           upstream=True, probe="proxy-auth", sessions="proxy-auth",
           pipe_pool=128),
    # TLS handshakes: broken, truncated and stalled ClientHellos, valid
    # ones followed by garbage, resets; the probe is a real TLS client
    # whose token must reach stdout.  (No -w: it would also end the
    # server if the first client came late.)
    Target("listen-tls", ["listen", "-k", "--tls", "127.0.0.1", "0"],
           stdin="pipe", stdout="scan", probe="tls-stdout",
           sessions="tls-hello", max_conc=200),
]

SANITIZER = re.compile(
    rb"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|"
    rb"SUMMARY: \w+Sanitizer|AddressSanitizer:DEADLYSIGNAL")


class Finding(Exception):
    """A defect: KIND (crash, sanitizer, fd-leak, stall, wrong-answer...)."""

    def __init__(self, kind, detail):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def log(msg):
    print(f"fuzz-net: {msg}", flush=True)


# ---- the served tree ---------------------------------------------------

SMALL = {
    "small.txt": b"hello, fuzz\n",
    "sub/a.txt": b"a" * 1000 + b"\n",
    "sub/deeper/b.txt": bytes(range(256)) * 17,
    "sp ace.txt": b"space\n",
    "\u00e9t\u00e9.txt": b"summer\n",
    "sub/empty": b"",
}
# URL path -> (status, body) for checked requests: what serve-file must say.
CHECKED = {
    "/small.txt": (200, SMALL["small.txt"]),
    "/sub/a.txt": (200, SMALL["sub/a.txt"]),
    "/sub/deeper/b.txt": (200, SMALL["sub/deeper/b.txt"]),
    "/sp%20ace.txt": (200, SMALL["sp ace.txt"]),
    "/%C3%A9t%C3%A9.txt": (200, SMALL["\u00e9t\u00e9.txt"]),
    "/sub/empty": (200, b""),
    "/nope": (404, None),
    "/sub/nope.txt": (404, None),
}
OTHER_PATHS = [
    "/", "/sub/", "/sub", "/sub/deeper/", "/emptydir/", "/medium.bin",
    "/link-out", "/link-in", "/../small.txt", "/%2e%2e/small.txt",
    "/sub/..%2f..%2fsmall.txt", "/%00", "/small.txt%00", "/small.txt?x=1",
    "//small.txt", "/./small.txt", "/%", "/%zz", "/sub/%2e", "*",
    "http://127.0.0.1/small.txt", "small.txt", "/" + "a" * 300,
    "/" + "/".join(["sub"] * 200), "/%ff%fe", "/sub/deeper/b.txt/",
]


def upload_root(root):
    return os.path.join(os.path.dirname(root), "upload-root")


def make_tree(root, big_mb):
    """The directory serve-file serves (kept between runs)."""
    for rel, data in SMALL.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.makedirs(os.path.join(root, "emptydir"), exist_ok=True)
    # serve-upload's own tree, new for each run: uploads never touch the
    # tree the other targets check
    up = upload_root(root)
    if os.path.isdir(up):
        shutil.rmtree(up)
    os.makedirs(os.path.join(up, "up"))
    os.makedirs(os.path.join(up, "sub"))
    with open(os.path.join(up, "small.txt"), "wb") as f:
        f.write(SMALL["small.txt"])     # for the probe
    med = os.path.join(root, "medium.bin")
    if not os.path.exists(med) or os.path.getsize(med) != 4 << 20:
        with open(med, "wb") as f:
            f.write(random.Random(1).randbytes(4 << 20))
    big = os.path.join(root, "big")
    fd = os.open(big, os.O_WRONLY | os.O_CREAT, 0o644)
    os.ftruncate(fd, big_mb << 20)      # sparse: instant, no disk
    for off in (0, 12345678 % (big_mb << 20), (big_mb << 20) - 6):
        os.pwrite(fd, b"sockt!", off)
    os.close(fd)
    for name, dest in (("link-out", "/etc/hostname"), ("link-in", "small.txt")):
        p = os.path.join(root, name)
        if not os.path.islink(p):
            os.symlink(dest, p)
    return big, med


# ---- sessions ----------------------------------------------------------
#
# A session is a script of ops run by one client socket:
#   ("send", BYTES)  ("sleep", SECS)  ("shut",)  ("reset",)
#   ("wait_rx", N, SECS)   wait until N more bytes came (or EOF, or SECS)
#   ("wait_eof", SECS)
# and a reader that runs beside it: ("fast",), ("slow", CHUNK, SECS),
# ("limit", N) (reads N bytes, then stops reading) or ("none",).
# A session ends after its last op with END ("close" or "reset"), or when
# CAP seconds have passed (then with CAP_END).

class Spec:
    def __init__(self):
        self.ops = []
        self.read = ("fast",)
        self.rcvbuf = 0
        self.end = "close"
        self.cap = 5.0
        self.cap_end = "close"
        self.check = None       # ("http", [(method, path)]) or ("echo", DATA)
        self.note = ""

    def describe(self):
        parts = []
        for op in self.ops:
            if op[0] == "send":
                b = op[1]
                shown = repr(b[:60])[2:-1] + ("..." if len(b) > 60 else "")
                parts.append(f"send[{len(b)}]'{shown}'")
            elif op[0] == "sleep":
                parts.append(f"sleep {op[1] * 1000:.0f}ms")
            else:
                parts.append(" ".join(str(x) for x in op))
        return (f"{self.note} read={self.read} rcvbuf={self.rcvbuf} "
                f"end={self.end} cap={self.cap:.1f}s/{self.cap_end}"
                f"{' checked' if self.check else ''}: " + "; ".join(parts))


def pick_delay(rng):
    r = rng.random()
    if r < 0.55:
        return 0.0
    if r < 0.80:
        return rng.uniform(0, 0.002)
    if r < 0.95:
        return rng.uniform(0.002, 0.03)
    return rng.uniform(0.03, 0.3)


def add_split(rng, ops, data, max_pieces=12):
    """DATA sent in random pieces with random delays between them."""
    if not data:
        return
    mode = rng.random()
    if mode < 0.35:
        cuts = []
    elif mode < 0.9:
        k = rng.randint(1, max_pieces)
        cuts = sorted(rng.randrange(1, len(data) + 1) for _ in range(k))
    else:
        cuts = list(range(1, min(len(data), 64)))  # byte at a time
    prev = 0
    for c in cuts + [len(data)]:
        if c > prev:
            ops.append(("send", data[prev:c]))
            d = pick_delay(rng) if c < len(data) else 0
            if d:
                ops.append(("sleep", d))
            prev = c


def pick_reader(rng, spec, weights=(60, 12, 14, 14)):
    kind = rng.choices(["fast", "slow", "limit", "none"], weights)[0]
    if kind == "slow":
        spec.read = ("slow", rng.choice([1, 16, 512, 4096]),
                     rng.uniform(0.001, 0.05))
        spec.rcvbuf = rng.choice([0, 2048, 4096])
    elif kind == "limit":
        spec.read = ("limit", rng.choice([1, 100, 5000, 70000, 1 << 20]))
        spec.rcvbuf = rng.choice([0, 0, 4096])
    elif kind == "none":
        spec.read = ("none",)
        spec.rcvbuf = rng.choice([0, 2048])
    else:
        spec.read = ("fast",)


def pick_ending(rng, spec, wait_eof):
    """How the session ends after its script: wait, close, or reset."""
    r = rng.random()
    if r < 0.35 and wait_eof:
        if rng.random() < 0.4:
            spec.ops.append(("shut",))
        spec.ops.append(("wait_eof", rng.choice([0.2, 1, 3])))
    elif r < 0.55:
        spec.ops.append(("sleep", pick_delay(rng)))
    elif r < 0.65:
        spec.ops.append(("shut",))
        spec.ops.append(("sleep", rng.uniform(0, 0.5)))
    elif r < 0.80:
        spec.ops.append(("wait_rx", rng.choice([1, 100, 10000]),
                         rng.uniform(0, 1)))
    spec.end = "reset" if rng.random() < 0.4 else "close"
    spec.cap = rng.choice([0.3, 1, 2, 5])
    spec.cap_end = "reset" if rng.random() < 0.5 else "close"


def cut_with_reset(rng, spec):
    """Sometimes a reset at a random moment in the middle of the script."""
    if spec.ops and rng.random() < 0.15:
        i = rng.randrange(len(spec.ops))
        del spec.ops[i:]
        if rng.random() < 0.5:
            spec.ops.append(("sleep", pick_delay(rng)))
        spec.ops.append(("reset",))


def rand_payload(rng, small=False):
    r = rng.random()
    if r < 0.1:
        n = 0
    elif r < 0.5:
        n = rng.randint(1, 100)
    elif r < 0.8 or small:
        n = rng.randint(100, 16384)
    elif r < 0.97:
        n = rng.randint(16384, 1 << 20)
    else:
        n = rng.randint(1 << 20, 8 << 20)
    if n > 65536:           # random bytes are slow to draw; repeat a block
        block = rng.randbytes(65536)
        return (block * (n // 65536 + 1))[:n]
    return rng.randbytes(n)


def gen_stream(rng, ctx, echo=False, broker=False):
    """listen -k, --broker, exec -k -- cat: bytes in, bytes out."""
    spec = Spec()
    if echo and rng.random() < 0.2:
        # checked: every byte sent comes back, then EOF after our SHUT_WR
        spec.note = "checked echo"
        data = rand_payload(rng, small=True)
        add_split(rng, spec.ops, data)
        spec.ops += [("shut",), ("wait_eof", 30)]
        spec.check = ("echo", data)
        spec.cap = 30
        return spec
    pick_reader(rng, spec, (30, 20, 25, 25) if broker else (60, 12, 14, 14))
    data = rand_payload(rng, small=broker and rng.random() < 0.9)
    add_split(rng, spec.ops, data)
    if rng.random() < 0.3:
        spec.ops.append(("sleep", pick_delay(rng)))
        add_split(rng, spec.ops, rand_payload(rng, small=True))
    cut_with_reset(rng, spec)
    pick_ending(rng, spec, wait_eof=echo)
    return spec


# -- HTTP (serve-file) --

RANGES = ["bytes=0-0", "bytes=0-99", "bytes=-5", "bytes=5-", "bytes=100-1",
          "bytes=0-1,3-4", "bytes=99999999999-", "bytes=-0", "bytes= 1-2",
          "items=1-2", "bytes=18446744073709551615-", "bytes=1-+2",
          "bytes=0x10-", "bytes=", "bytes=-99999999999999999999",
          "bytes=268435455-268435456"]
HEADERS = [
    "User-Agent: fuzz-net", "Accept: */*", "Accept-Encoding: gzip",
    "If-None-Match: *", 'If-None-Match: "x", "y"', "If-Range: \"x\"",
    "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
    "Expect: 100-continue", "Transfer-Encoding: chunked",
    "Content-Length: 5", "Content-Length: -1", "Content-Length: 1, 2",
    "Content-Length: 99999999999999999999", "Host: second",
    "X-Folded: a\r\n continued", "NoColonHere", ": empty name",
    "X-Nul: a\x00b", "X-High: \xff\xfe", "Connection: keep-alive",
    "Connection: close, upgrade", "Upgrade: websocket", "Range: bytes=0-1",
    "X-Long: " + "v" * 9000, "Cookie: " + "c=1; " * 400,
]


def http_valid(path, method="GET", close=False, extra=()):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += list(extra)
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


def http_mutate(rng, data):
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if not b:
            break
        i = rng.randrange(len(b))
        op = rng.randrange(7)
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            b[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 2:
            del b[i:i + rng.randint(1, 16)]
        elif op == 3:
            j = rng.randrange(len(b))
            b[i:i] = b[min(i, j):max(i, j)][:200]
        elif op == 4:
            b = bytearray(bytes(b).replace(b"\r\n", b"\n", rng.randint(1, 3)))
        elif op == 5:
            b[i:i] = rng.choice([b"\r", b"\n", b"\r\n", b" ", b"\t", b":",
                                 b"%", b"\x00", b"\r\n\r\n"])
        else:
            del b[i:]
    return bytes(b)


def http_request(rng):
    """One request of some kind, valid or not."""
    kind = rng.choices(["valid", "mutated", "junk", "overlong", "body"],
                       [58, 18, 10, 5, 9])[0]
    r = rng.random()
    if r < 0.3:
        path = "/big"
    elif r < 0.65:
        path = rng.choice(list(CHECKED))
    else:
        path = rng.choice(OTHER_PATHS)
    method = rng.choices(["GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE",
                          "get", "G\x01T", "CONNECT"],
                         [70, 15, 3, 3, 2, 2, 2, 1, 2])[0]
    extra = []
    if rng.random() < 0.3:
        extra.append("Range: " + rng.choice(RANGES))
    if rng.random() < 0.3:
        extra += rng.sample(HEADERS, rng.randint(1, 3))
    close = rng.random() < 0.2
    if kind == "valid":
        data = http_valid(path, method, close, extra)
        if rng.random() < 0.05:
            data = data.replace(b"HTTP/1.1", rng.choice(
                [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.10", b"HTTP/0.9", b""]), 1)
        return data
    if kind == "mutated":
        return http_mutate(rng, http_valid(path, method, close, extra))
    if kind == "junk":
        j = rng.randrange(5)
        if j == 0:
            return rng.randbytes(rng.randint(1, 4096))
        if j == 1:
            return b"\r\n" * rng.randint(1, 2000)
        if j == 2:
            return b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + \
                rng.randbytes(200)
        if j == 3:
            return bytes(rng.choice(b"GET /\r\n :%") for _ in range(
                rng.randint(1, 3000)))
        return b"GET " + b"/" * rng.randint(1, 20000)
    if kind == "overlong":
        j = rng.randrange(3)
        if j == 0:
            return http_valid("/" + "x" * rng.randint(8000, 9000))
        if j == 1:
            return http_valid(path, extra=["X-A: " + "y" * 17000])
        return http_valid(path, extra=[f"X-{i}: {i}" for i in range(
            rng.randint(95, 130))])
    # a request with a body: Content-Length or chunked, honest or not
    body = rng.randbytes(rng.randint(0, 3000))
    if rng.random() < 0.5:
        n = len(body) + rng.choice([0, 0, -1, 1, 100])
        head = http_valid(path, rng.choice(["POST", "PUT", "GET"]),
                          close, extra + [f"Content-Length: {max(n, 0)}"])
    else:
        chunks = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        if rng.random() < 0.3:
            chunks = http_mutate(rng, chunks)
        head = http_valid(path, rng.choice(["POST", "PUT"]), close,
                          extra + ["Transfer-Encoding: chunked"])
        body = chunks
    return head + body


def gen_http(rng, ctx):
    """serve-file sessions."""
    spec = Spec()
    n = rng.choices([1, rng.randint(2, 4), rng.randint(5, 20)], [50, 35, 15])[0]
    if rng.random() < 0.2:
        # checked: valid requests of known paths, everything read
        spec.note = "checked http"
        want = []
        stream = b""
        for i in range(n):
            method = "HEAD" if rng.random() < 0.2 else "GET"
            path = rng.choice(list(CHECKED))
            if rng.random() < 0.1:
                method, path = "HEAD", "/big"   # waits for the digest
            stream += http_valid(path, method, close=(i == n - 1))
            want.append((method, path))
        if rng.random() < 0.5:
            add_split(rng, spec.ops, stream)
        else:           # one at a time, each after the previous answer
            for i, (method, path) in enumerate(want):
                add_split(rng, spec.ops, http_valid(
                    path, method, close=(i == n - 1)))
                spec.ops.append(("wait_rx", 1, 5))
        if rng.random() < 0.3:
            spec.ops.append(("shut",))
        spec.ops.append(("wait_eof", 30))
        spec.check = ("http", want)
        spec.cap = 30
        return spec
    spec.note = "http"
    pick_reader(rng, spec)
    if spec.read[0] == "fast" and rng.random() < 0.8:
        spec.read = ("limit", 32 << 20)     # fewer whole 256 MiB reads
    for _ in range(n):
        data = http_request(rng)
        add_split(rng, spec.ops, data)
        r = rng.random()
        if r < 0.25:
            # bytes at the wrong moment: a few more, spaced, while the
            # server works on this request (e.g. hashes the file)
            for _ in range(rng.randint(1, 5)):
                spec.ops.append(("sleep", rng.uniform(0.001, 0.05)))
                spec.ops.append(("send", rng.choice(
                    [b"x", b"\r\n", b"G", rng.randbytes(rng.randint(1, 8)),
                     b"GET /small.txt HTTP/1.1\r\n"])))
        elif r < 0.45:
            spec.ops.append(("wait_rx", 1, rng.choice([0.05, 0.5, 2])))
        elif r < 0.55:
            spec.ops.append(("sleep", pick_delay(rng)))
    cut_with_reset(rng, spec)
    pick_ending(rng, spec, wait_eof=True)
    return spec


# -- proxies (forward --proxy-server) --
#
# Requests are built from fields, never by flipping bytes: a flipped
# address byte could name a host beyond loopback.  Addresses come from
# LOOP4/LOOP6 only; names are refused by -n without a lookup.

LOOP4 = [b"\x7f\x00\x00\x01", b"\x7f\x00\x00\x02", b"\x7f\xff\xff\xfe"]
LOOP6 = [socket.inet_pton(socket.AF_INET6, "::1")]
NAMES = [b"localhost", b"x", b"\x00", b"a" * 255, b"", b"\xff\r\n"]
CREDS = b"Zno6cHc="     # fz:pw


def proxy_port(rng, ctx, ok):
    if ok or rng.random() < 0.6:
        return ctx.srv.upstream_port
    return rng.choice([1, 0, 65535, ctx.srv.port])


def socks5_bytes(rng, ctx, auth, ok):
    """Greeting, credentials and request: valid (OK), or broken somewhere."""
    port = struct.pack("!H", proxy_port(rng, ctx, ok))
    want = 2 if auth else 0
    methods = bytes([want]) if ok else rng.choice(
        [bytes([want]), b"", b"\x00\x02", b"\x01", bytes(range(255))])
    out = bytes([5, len(methods) if ok or rng.random() < 0.8 else 255]) + methods
    if auth:
        user, pw = (b"fz", b"pw") if ok or rng.random() < 0.5 else \
            rng.choice([(b"fz", b"no"), (b"", b""), (b"a" * 255, b"b" * 255)])
        ver = 1 if ok or rng.random() < 0.8 else rng.randrange(256)
        out += bytes([ver, len(user)]) + user + bytes([len(pw)]) + pw
    atyp = 1 if ok else rng.choice([1, 1, 3, 4, 0, 2, 5, 255])
    if atyp == 1:
        addr = LOOP4[0] if ok else rng.choice(LOOP4)
    elif atyp == 4:
        addr = LOOP6[0]
    elif atyp == 3:
        name = rng.choice(NAMES)
        addr = bytes([len(name)]) + name
    else:
        addr = b"\x7f\x00\x00\x01"
    cmd = 1 if ok or rng.random() < 0.7 else rng.choice([0, 2, 3, 9])
    ver = 5 if ok or rng.random() < 0.9 else rng.choice([4, 0, 6])
    return out + bytes([ver, cmd, 0, atyp]) + addr + port


def socks4_bytes(rng, ctx, ok):
    port = struct.pack("!H", proxy_port(rng, ctx, ok))
    cmd = 1 if ok or rng.random() < 0.8 else rng.choice([2, 0, 255])
    user = rng.choice([b"", b"u", b"x" * 300])
    if not ok and rng.random() < 0.4:       # 4a: a name, refused by -n
        return bytes([4, cmd]) + port + b"\x00\x00\x00\x07" + user + \
            b"\x00" + rng.choice(NAMES[:4]) + b"\x00"
    return bytes([4, cmd]) + port + (LOOP4[0] if ok else rng.choice(LOOP4)) + \
        user + b"\x00"


def http_proxy_bytes(rng, ctx, auth, ok):
    port = proxy_port(rng, ctx, ok)
    host = "127.0.0.1" if ok else rng.choice(
        ["127.0.0.1", "[::1]", "localhost", "127.0.0.2", "[::1", "::1"])
    method = "CONNECT" if ok else rng.choice(
        ["CONNECT", "CONNECT", "GET", "HEAD", "POST", "connect", "BREW"])
    if method == "CONNECT" or method == "connect":
        target = f"{host}:{port}" if ok or rng.random() < 0.8 else \
            rng.choice([host, f"{host}:", f"{host}:x", f"{host}:99999", ""])
    else:
        target = f"http://{host}:{port}" + rng.choice(
            ["/", "/a?b=c", "", "?q", "/" + "p" * 3000])
        if rng.random() < 0.1:
            target = rng.choice(["/relative", "https://127.0.0.1/", "*"])
    version = "HTTP/1.1" if ok or rng.random() < 0.9 else \
        rng.choice(["HTTP/2.0", "HTTP/1", ""])
    lines = [f"{method} {target} {version}", "Host: x"]
    if auth and (ok or rng.random() < 0.7):
        cred = CREDS if ok or rng.random() < 0.6 else rng.choice(
            [b"Zno6bm8=", b"!!!", b"", b"Zno6cHc"])
        lines.append("Proxy-Authorization: Basic " + cred.decode())
    if not ok:
        for _ in range(rng.choice([0, 0, 1, 3])):
            lines.append(rng.choice(HEADERS))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def gen_proxy(rng, ctx, auth=False):
    """forward --proxy-server sessions: a handshake, then echoed bytes."""
    spec = Spec()
    kind = rng.choice(["socks5", "socks5", "http", "socks4"])
    if auth and kind == "socks4":
        kind = "socks5"
    if rng.random() < 0.25:
        spec.note = f"checked {kind}"
        hs = (socks5_bytes(rng, ctx, auth, True) if kind == "socks5" else
              socks4_bytes(rng, ctx, True) if kind == "socks4" else
              http_proxy_bytes(rng, ctx, auth, True))
        data = rand_payload(rng, small=True)
        add_split(rng, spec.ops, hs + data)
        spec.ops += [("shut",), ("wait_eof", 30)]
        spec.check = ("proxy", kind, auth, data)
        spec.cap = 30
        return spec
    spec.note = kind
    ok = rng.random() < 0.3
    hs = (socks5_bytes(rng, ctx, auth, ok) if kind == "socks5" else
          socks4_bytes(rng, ctx, ok) if kind == "socks4" else
          http_proxy_bytes(rng, ctx, auth, ok))
    if rng.random() < 0.15:
        hs = hs[:rng.randrange(len(hs) + 1)]      # cut short
    elif rng.random() < 0.05:
        hs = b"\x00" + rng.randbytes(rng.randint(0, 100))  # no protocol
    pick_reader(rng, spec)
    add_split(rng, spec.ops, hs)
    if rng.random() < 0.6:
        if rng.random() < 0.5:
            spec.ops.append(("wait_rx", 1, rng.uniform(0, 1)))
        add_split(rng, spec.ops, rand_payload(rng))
    cut_with_reset(rng, spec)
    pick_ending(rng, spec, wait_eof=True)
    return spec


# -- uploads (serve-file --upload, --max-size 1000000) --

UPLOAD_PATHS = ["/up/x", "/up/", "/up/../x", "/up/%2e%2e/x", "/small.txt",
                "/link-out", "/up/.sockt-upload-1", "/nope/x", "/sub",
                "/up/sp%20ace", "/up/%00", "/up/%zz"]


def upload_body(rng):
    r = rng.random()
    if r < 0.1:
        return b""
    if r < 0.8:
        return rng.randbytes(rng.randint(1, 70000))
    return rng.randbytes(rng.randint(900000, 1100000))   # about --max-size


def upload_request(rng, path, body, digest="right", chunked=None,
                   expect=False, close=True):
    """A PUT of BODY to PATH: Content-Length or chunked, the digest right,
    wrong or absent, in a header or (chunked) in the trailer."""
    d = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if digest == "wrong":
        d = base64.b64encode(rng.randbytes(32)).decode()
    field = rng.choice(["Content-Digest", "Repr-Digest"])
    extra = ["Expect: 100-continue"] if expect else []
    if chunked is None:
        chunked = rng.random() < 0.5
    trailer = b""
    if chunked:
        extra.append("Transfer-Encoding: chunked")
        in_trailer = digest != "none" and rng.random() < 0.6
        if in_trailer:
            extra.append(f"Trailer: {field}")
            trailer = f"{field}: sha-256=:{d}:\r\n".encode()
        elif digest != "none":
            extra.append(f"{field}: sha-256=:{d}:")
        data = b""
        i = 0
        while i < len(body):
            n = rng.randint(1, 40000)
            data += b"%x\r\n" % len(body[i:i + n]) + body[i:i + n] + b"\r\n"
            i += n
        data += b"0\r\n" + trailer + b"\r\n"
    else:
        extra.append(f"Content-Length: {len(body)}")
        if digest != "none":
            extra.append(f"{field}: sha-256=:{d}:")
        data = body
    return http_valid(path, "PUT", close, extra), data


def gen_upload(rng, ctx):
    """serve-file --upload sessions: PUTs honest or not, cut, slow."""
    spec = Spec()
    name = "u-%d-%d" % (ctx.seed, rng.randrange(1 << 40))
    if rng.random() < 0.25:
        # checked: one honest PUT of a new name, stored exactly
        spec.note = "checked upload"
        body = rng.randbytes(rng.randint(0, 200000))
        head, data = upload_request(rng, "/up/" + name, body,
                                    rng.choice(["right", "none"]),
                                    expect=rng.random() < 0.3)
        add_split(rng, spec.ops, head + data)
        spec.ops.append(("wait_eof", 30))
        spec.check = ("upload", os.path.join(upload_root(ctx.root), "up",
                                             name), body)
        spec.cap = 30
        return spec
    spec.note = "upload"
    pick_reader(rng, spec)
    for _ in range(rng.choices([1, rng.randint(2, 4)], [70, 30])[0]):
        r = rng.random()
        if r < 0.6:
            path = "/up/" + name if rng.random() < 0.8 else \
                rng.choice(UPLOAD_PATHS)
            head, data = upload_request(
                rng, path, upload_body(rng),
                rng.choice(["right", "right", "wrong", "none"]),
                expect=rng.random() < 0.3, close=rng.random() < 0.5)
            if rng.random() < 0.2:
                data = http_mutate(rng, data)
            add_split(rng, spec.ops, head)
            if rng.random() < 0.2:
                spec.ops.append(("wait_rx", 1, 0.5))    # 100 Continue
            if rng.random() < 0.2:
                data = data[:rng.randrange(len(data) + 1)]  # cut short
            add_split(rng, spec.ops, data)
        else:
            add_split(rng, spec.ops, http_request(rng))
        if rng.random() < 0.3:
            spec.ops.append(("sleep", pick_delay(rng)))
    cut_with_reset(rng, spec)
    pick_ending(rng, spec, wait_eof=True)
    return spec


_HELLOS = []


def client_hellos():
    """Real ClientHellos (TLS 1.3 and 1.2 only, with and without SNI and
    ALPN), drawn once from an in-memory ssl client."""
    if _HELLOS:
        return _HELLOS
    import ssl
    for tls12, sni, alpn in ((False, None, None), (True, "x.example", None),
                             (False, "localhost", ["h2", "http/1.1"])):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if alpn:
            ctx.set_alpn_protocols(alpn)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname=sni)
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        _HELLOS.append(out.read())
    return _HELLOS


def gen_tls_hello(rng, ctx):
    """listen -k --tls: what a TLS server meets before any application
    data, none of which may crash it, leak, or stall other clients."""
    spec = Spec()
    hello = rng.choice(client_hellos())
    kind = rng.choice(["garbage", "truncated", "mutated", "then-garbage",
                       "stall", "plain-http", "records"])
    spec.note = "tls " + kind
    if kind == "garbage":
        data = rand_payload(rng, small=True)
    elif kind == "truncated":
        data = hello[:rng.randrange(0, len(hello))]
    elif kind == "mutated":
        b = bytearray(hello)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        data = bytes(b)
    elif kind == "then-garbage":
        data = hello + rand_payload(rng, small=True)
    elif kind == "stall":
        data = hello[:rng.choice([0, 1, 5, 9])]
    elif kind == "plain-http":
        data = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    else:
        # handshake records with random lengths and contents
        data = b""
        for _ in range(rng.randint(1, 6)):
            body = rng.randbytes(rng.randint(0, 300))
            n = rng.choice([len(body), rng.randrange(0, 1 << 16)])
            data += (bytes([rng.choice([20, 21, 22, 23, 24])]) +
                     rng.choice([b"\x03\x01", b"\x03\x03", b"\x03\x04",
                                 b"\x02\x00"]) +
                     n.to_bytes(2, "big") + body)
    pick_reader(rng, spec)
    add_split(rng, spec.ops, data)
    cut_with_reset(rng, spec)
    if kind == "stall":
        spec.ops.append(("sleep", rng.choice([0.5, 1, 3])))
    pick_ending(rng, spec, wait_eof=True)
    return spec


def proxy_verdict(buf, kind, auth, data):
    """A checked proxy session: the success reply, then DATA echoed."""
    buf = bytes(buf)
    if kind == "socks5":
        pre = b"\x05\x02\x01\x00" if auth else b"\x05\x00"
        if not buf.startswith(pre) or buf[len(pre):len(pre) + 4] != \
                b"\x05\x00\x00\x01":
            return f"socks5 reply {buf[:16].hex()}"
        rest = buf[len(pre) + 10:]
    elif kind == "socks4":
        if buf[:2] != b"\x00\x5a":
            return f"socks4 reply {buf[:8].hex()}"
        rest = buf[8:]
    else:
        end = buf.find(b"\r\n\r\n")
        if not buf.startswith(b"HTTP/1.1 200 ") or end < 0:
            return f"http reply {buf[:60]!r}"
        rest = buf[end + 4:]
    if rest != data:
        return f"sent {len(data)} bytes, got {len(rest)} back"
    return None


def upload_verdict(buf, path, body):
    """A checked upload: 201 with the body's Repr-Digest, the file exact."""
    buf = bytes(buf)
    if buf.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
        buf = buf[25:]
    head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    if not head[0].startswith("HTTP/1.1 201 "):
        return f"PUT {path}: {head[0]!r}, want 201"
    d = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if f"Repr-Digest: sha-256=:{d}:" not in head:
        return f"PUT {path}: no Repr-Digest of the body in {head!r}"
    try:
        with open(path, "rb") as f:
            got = f.read()
    except OSError as e:
        return f"PUT {path}: 201 but {e}"
    if got != body:
        return f"PUT {path}: stored {len(got)} bytes, sent {len(body)}"
    return None


def upload_leftovers(root):
    """Temporary files of uploads, once every session is closed."""
    return [os.path.join(d, n) for d, _, names in os.walk(upload_root(root))
            for n in names if n.startswith(".sockt-upload-")]


GENERATORS = {
    "proxy": lambda rng, ctx: gen_proxy(rng, ctx),
    "proxy-auth": lambda rng, ctx: gen_proxy(rng, ctx, auth=True),
    "upload": gen_upload,
    "tls-hello": gen_tls_hello,
    "http": gen_http,
    "stream": lambda rng, ctx: gen_stream(rng, ctx),
    "stream-echo": lambda rng, ctx: gen_stream(rng, ctx, echo=True),
    "broker": lambda rng, ctx: gen_stream(rng, ctx, broker=True),
}


def parse_responses(buf, want):
    """Check serve-file's answers to WANT [(method, path)]; None if right,
    else what is wrong."""
    pos = 0
    for i, (method, path) in enumerate(want):
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            return (f"response {i + 1} of {len(want)} ({method} {path}) "
                    f"missing; got {len(buf) - pos} bytes: "
                    f"{bytes(buf[pos:pos + 80])!r}")
        head = bytes(buf[pos:end]).decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ", head[0] + " ")
        status = int(m.group(1)) if m else None
        length = None
        for h in head[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        if path == "/big":
            # the digest of a file that keeps changing: 503 is right too
            wstatus, wbody = (status if status == 503 else 200), None
        else:
            wstatus, wbody = CHECKED[path]
        if status != wstatus:
            return f"{method} {path}: status {head[0]!r}, want {wstatus}"
        if length is None:
            return f"{method} {path}: no Content-Length"
        pos = end + 4
        if method == "HEAD":
            if wbody is not None and length != len(wbody):
                return f"HEAD {path}: Content-Length {length}"
            continue
        body = bytes(buf[pos:pos + length])
        if len(body) < length:
            return f"{method} {path}: body cut at {len(body)} of {length}"
        if wbody is not None and body != wbody:
            return f"{method} {path}: wrong body {body[:60]!r}"
        pos += length
    if pos != len(buf):
        return f"{len(buf) - pos} bytes after the last response"
    return None


class Session:
    """One client connection running a Spec."""

    def __init__(self, sid, spec):
        self.sid = sid
        self.spec = spec
        self.tx = 0
        self.rx = 0
        self.buf = bytearray()
        self.eof = False
        self.outcome = "ok"
        self.started = self.ended = None
        self.reader = None
        self.event = asyncio.Event()

    async def run(self, port, clock):
        spec = self.spec
        loop = asyncio.get_running_loop()
        self.started = clock()
        end = spec.end
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if spec.rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, spec.rcvbuf)
        try:
            end = await asyncio.wait_for(self.script(s, loop, port), spec.cap)
        except asyncio.TimeoutError:
            self.outcome = "capped"
            end = spec.cap_end
        except OSError as e:
            self.outcome = errno.errorcode.get(e.errno, str(e))
        finally:
            if self.reader is not None:
                self.reader.cancel()
                await asyncio.gather(self.reader, return_exceptions=True)
            if end == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            s.close()
            self.ended = clock()

    async def script(self, s, loop, port):
        await loop.sock_connect(s, ("127.0.0.1", port))
        self.reader = asyncio.ensure_future(self.read(s, loop))
        for op in self.spec.ops:
            if op[0] == "send":
                await loop.sock_sendall(s, op[1])
                self.tx += len(op[1])
            elif op[0] == "sleep":
                await asyncio.sleep(op[1])
            elif op[0] == "shut":
                s.shutdown(socket.SHUT_WR)
            elif op[0] == "reset":
                return "reset"
            elif op[0] == "wait_rx":
                want = self.rx + op[1]
                await self.wait(lambda: self.rx >= want, op[2])
            elif op[0] == "wait_eof":
                await self.wait(lambda: False, op[1])
        return self.spec.end

    async def wait(self, pred, secs):
        deadline = time.monotonic() + secs
        while not pred() and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.event.clear()
            try:
                await asyncio.wait_for(self.event.wait(), left)
            except asyncio.TimeoutError:
                return

    async def read(self, s, loop):
        mode = self.spec.read
        keep = self.spec.check is not None
        try:
            while True:
                if mode[0] == "none" or (mode[0] == "limit" and
                                         self.rx >= mode[1]):
                    return
                n = 65536
                if mode[0] == "slow":
                    await asyncio.sleep(mode[2])
                    n = mode[1]
                data = await loop.sock_recv(s, n)
                if not data:
                    break
                self.rx += len(data)
                if keep:
                    self.buf += data
                self.event.set()
        except OSError as e:
            if self.outcome == "ok":
                self.outcome = "rx-" + errno.errorcode.get(e.errno, str(e))
        self.eof = True
        self.event.set()

    def verdict(self):
        """What is wrong with a checked session's answer, or None."""
        check = self.spec.check
        if check is None:
            return None
        if self.outcome != "ok" or not self.eof:
            return (f"no end of stream within {self.spec.cap:.0f} s "
                    f"({self.outcome}; {self.rx} bytes received)")
        if check[0] == "proxy":
            return proxy_verdict(self.buf, *check[1:])
        if check[0] == "upload":
            return upload_verdict(self.buf, check[1], check[2])
        if check[0] == "echo":
            if bytes(self.buf) != check[1]:
                same = 0
                while (same < min(len(self.buf), len(check[1])) and
                       self.buf[same] == check[1][same]):
                    same += 1
                return (f"sent {len(check[1])} bytes, got {len(self.buf)} "
                        f"back, first difference at byte {same}")
            return None
        return parse_responses(self.buf, check[1])


# ---- the server --------------------------------------------------------

def fd_table(pid):
    out = {}
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                pass
    except OSError:
        pass
    return out


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return len(f.read().split())
    except OSError:
        return 0


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


async def echo_server():
    """An upstream for relays: echoes every byte, half-closes at EOF."""
    async def serve(r, w):
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                w.write(data)
                await w.drain()
            w.write_eof()
            await w.drain()
        except OSError:
            pass
        finally:
            w.close()
    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


class Server:
    def __init__(self, t, sockt, work, root):
        self.t = t
        self.sockt = sockt
        self.work = work
        self.root = root
        self.proc = None
        self.port = None
        self.errpath = os.path.join(work, f"{t.name}.stderr")
        self.tail = b""
        self.tokens = {}
        self.stdout_bytes = 0
        self.stdin_bytes = 0
        self.scanned = 0
        self.upstream = None
        self.upstream_port = None

    async def start(self):
        t = self.t
        pf = os.path.join(self.work, f"{t.name}.port")
        if os.path.exists(pf):
            os.unlink(pf)
        fmt = {"root": self.root, "upload": upload_root(self.root),
               "upstream": 0}
        if t.upstream:
            self.upstream, fmt["upstream"] = await echo_server()
            self.upstream_port = fmt["upstream"]
        argv = [a.format(**fmt) for a in t.argv]
        argv = [self.sockt, argv[0], "--port-file", pf] + argv[1:]
        self.cmd = " ".join(argv)
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.err = open(self.errpath, "wb")
        self.proc = subprocess.Popen(
            argv, env=env, stderr=self.err, start_new_session=True,
            preexec_fn=die_with_parent,
            stdin=subprocess.PIPE if t.stdin == "pipe" else subprocess.DEVNULL,
            stdout=subprocess.PIPE if t.stdout == "scan" else
            subprocess.DEVNULL)
        self.pid = self.proc.pid
        if t.stdin == "pipe":
            os.set_blocking(self.proc.stdin.fileno(), False)
        if t.stdout == "scan":
            fd = self.proc.stdout.fileno()
            os.set_blocking(fd, False)
            asyncio.get_running_loop().add_reader(fd, self.scan_stdout)
        deadline = time.monotonic() + 20
        while True:
            try:
                with open(pf) as f:
                    text = f.read()
                if text.endswith("\n"):
                    self.port = int(text)
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise Finding("exit", f"server exited with status "
                              f"{self.proc.returncode} at start:\n" +
                              self.stderr_text()[-3000:])
            if time.monotonic() > deadline:
                raise Finding("start", "no --port-file within 20 s")
            await asyncio.sleep(0.02)

    def scan_stdout(self):
        try:
            data = os.read(self.proc.stdout.fileno(), 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.proc.stdout.fileno())
            return
        self.stdout_bytes += len(data)
        window = self.tail + data
        for tok, fut in list(self.tokens.items()):
            if tok in window and not fut.done():
                fut.set_result(True)
        self.tail = window[-64:]

    def feed_stdin(self, data):
        try:
            self.stdin_bytes += os.write(self.proc.stdin.fileno(), data)
        except (BlockingIOError, BrokenPipeError):
            pass

    def stderr_text(self):
        try:
            with open(self.errpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def check_alive(self):
        """Raise a Finding if the server died or a sanitizer spoke."""
        try:
            with open(self.errpath, "rb") as f:
                f.seek(max(self.scanned - 256, 0))
                raw = f.read()
                self.scanned = f.tell()
        except OSError:
            raw = b""
        if SANITIZER.search(raw):
            time.sleep(0.5)             # let the report finish
            text = self.stderr_text()
            m = re.search(SANITIZER.pattern.decode(), text)
            start = text.rfind("\n=====", 0, m.start() if m else 0)
            raise Finding("sanitizer", short_report(text[max(start, 0):]))
        rc = self.proc.poll()
        if rc is not None:
            raise Finding("exit", f"server exited with status {rc}"
                          f" ({describe_status(rc)}); stderr ends:\n" +
                          self.stderr_text()[-3000:])

    async def stop(self):
        """SIGTERM; it must exit (by that signal) within 10 s."""
        if self.upstream is not None:
            self.upstream.close()
        if self.t.stdout == "scan" and self.proc.stdout:
            try:
                asyncio.get_running_loop().remove_reader(
                    self.proc.stdout.fileno())
            except (ValueError, OSError):
                pass
        if self.proc.poll() is not None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            return "did not exit within 10 s of SIGTERM"
        return None

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc and self.proc.stdin, self.proc and self.proc.stdout,
                  getattr(self, "err", None)):
            if f:
                try:
                    f.close()
                except OSError:
                    pass


def cpu_ticks(pid):
    """(state, utime + stime in clock ticks) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[11]) + int(fields[12])


def stall_evidence(pid):
    """What a stalled server is doing: busy or blocked, and where (gdb)."""
    out = []
    try:
        state, t1 = cpu_ticks(pid)
        time.sleep(1)
        state, t2 = cpu_ticks(pid)
        hz = os.sysconf("SC_CLK_TCK")
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read().strip() or "-"
        out.append(f"server state {state}, {(t2 - t1) / hz:.2f} s of CPU "
                   f"in 1 s, wchan {wchan}")
    except OSError as e:
        out.append(f"no /proc state: {e}")
    try:
        bt = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                             "-ex", "bt 25"], capture_output=True, text=True,
                            timeout=60).stdout
        frames = [l for l in bt.splitlines() if l.startswith("#")]
        out.append("its stack (gdb):" if frames else "gdb gave no stack")
        out += ["  " + l[:200] for l in frames]
    except (OSError, subprocess.TimeoutExpired):
        out.append("no stack (gdb missing or timed out)")
    return "\n".join(out)


def short_report(text):
    """A sanitizer report without its shadow-byte map."""
    cut = text.find("Shadow bytes around")
    if cut > 0:
        text = text[:cut] + "(shadow bytes: see the stderr file)\n"
    return text[:8000]


def die_with_parent():
    """In the server's child, before exec: SIGKILL when the driver dies,
    so that no server outlives an interrupted run."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PDEATHSIG
    except (OSError, AttributeError):
        pass


def describe_status(rc):
    if rc < 0:
        try:
            return "killed by " + signal.Signals(-rc).name
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit {rc}"


# ---- the run of one target ---------------------------------------------

class Run:
    def __init__(self, t, a, seed, work, root, big, med):
        self.t = t
        self.a = a
        self.seed = seed
        self.work = work
        self.root = root
        self.big = big
        self.med = med
        self.srv = Server(t, a.sockt, work, root)
        self.t0 = time.monotonic()
        self.round = 0
        self.rounds_run = 0
        self.sessions = 0
        self.checked = 0
        self.tx = self.rx = 0
        self.outcomes = collections.Counter()
        self.inflight = {}
        self.recent = collections.deque(maxlen=400)
        self.probes = 0
        self.probe_lat = []
        self.probe_retries = 0
        self.max_conc = 0
        self.paused = False
        self.failed = None
        self.fd0 = self.fd1 = None
        self.rss0 = self.rss1 = 0
        self.table0 = {}
        self.failure = asyncio.Event()
        self.tasks = set()

    def clock(self):
        return time.monotonic() - self.t0

    def report(self, finding):
        """The first finding ends the run of this target."""
        if self.failed is None:
            self.failed = finding
            self.fail_time = self.clock()
            self.fail_round = self.round
            self.failure.set()

    # -- the probe: a fresh connection, a small round trip --
    async def probe_once(self, n):
        t, srv = self.t, self.srv
        loop = asyncio.get_running_loop()
        token = b"\n.probe-%d-%d.\n" % (self.seed, n)
        if t.probe == "tls-stdout":
            return await self.probe_tls(token)
        s = socket.socket()
        s.setblocking(False)
        got = bytearray()
        fut = None
        try:
            await loop.sock_connect(s, ("127.0.0.1", srv.port))
            if t.probe == "http":
                await loop.sock_sendall(s, http_valid("/small.txt",
                                                      close=True))
                while True:
                    data = await loop.sock_recv(s, 65536)
                    if not data:
                        break
                    got += data
                ok = (got.startswith(b"HTTP/1.1 200 ") and
                      got.endswith(SMALL["small.txt"]))
                return ok, bytes(got[:100])
            if t.probe.startswith("proxy"):
                # CONNECT to the echo upstream, then the token both ways
                cred = (b"Proxy-Authorization: Basic " + CREDS + b"\r\n"
                        if t.probe == "proxy-auth" else b"")
                await loop.sock_sendall(
                    s, b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n%s\r\n" %
                    (srv.upstream_port, cred) + token)
                while token not in got:
                    data = await loop.sock_recv(s, 65536)
                    if not data:
                        return False, b"EOF before the echo: " + bytes(got[:80])
                    got += data
                return got.startswith(b"HTTP/1.1 200 "), bytes(got[:80])
            if t.probe == "echo":
                await loop.sock_sendall(s, token)
                while token not in got:
                    data = await loop.sock_recv(s, 65536)
                    if not data:
                        return False, b"EOF before the echo: " + bytes(got[:80])
                    got += data
                return True, b""
            # "stdout": the token must reach the server's stdout
            fut = loop.create_future()
            srv.tokens[token] = fut
            await loop.sock_sendall(s, token)
            await fut
            return True, b""
        finally:
            if fut is not None:
                srv.tokens.pop(token, None)
            s.close()

    async def probe_tls(self, token):
        """A real TLS client (no verification): the token must reach the
        server's stdout."""
        import ssl
        srv = self.srv
        loop = asyncio.get_running_loop()
        tctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tctx.check_hostname = False
        tctx.verify_mode = ssl.CERT_NONE
        fut = loop.create_future()
        srv.tokens[token] = fut
        w = None
        try:
            _, w = await asyncio.open_connection("127.0.0.1", srv.port,
                                                 ssl=tctx)
            w.write(token)
            await w.drain()
            await fut
            return True, b""
        finally:
            srv.tokens.pop(token, None)
            if w is not None:
                w.close()
                try:
                    await w.wait_closed()
                except (OSError, ssl.SSLError):
                    pass

    async def prober(self):
        try:
            await self.probe_loop()
        except Finding as f:
            self.report(f)

    async def probe_loop(self):
        n = 0
        while True:
            await asyncio.sleep(1)
            for attempt in (1, 2):
                n += 1
                t1 = time.monotonic()
                try:
                    ok, what = await asyncio.wait_for(
                        self.probe_once(n), self.a.probe_deadline)
                except asyncio.TimeoutError:
                    ok, what = False, b"no answer"
                except OSError as e:
                    ok, what = False, str(e).encode()
                dt = time.monotonic() - t1
                self.probes += 1
                if ok:
                    self.probe_lat.append(dt)
                    self.paused = False
                    break
                if attempt == 1:
                    self.paused = True      # maybe overload: retry once
                    self.probe_retries += 1
                    continue
                self.srv.check_alive()
                raise Finding("stall", f"two probes in a row failed "
                              f"({self.a.probe_deadline:.0f} s each): "
                              f"{what[:200]!r}; {len(self.inflight)} sessions "
                              f"open\n" + stall_evidence(self.srv.pid))

    async def watcher(self):
        try:
            while True:
                self.srv.check_alive()
                await asyncio.sleep(0.1)
        except Finding as f:
            self.report(f)

    async def toucher(self):
        """serve-file: change the big files' mtime now and then, so their
        digest is not cached and the next GET waits while it is hashed."""
        rng = random.Random(f"{self.seed}/{self.t.name}/touch")
        while True:
            await asyncio.sleep(rng.uniform(0.05, 1.2))
            when = time.time() - rng.uniform(10, 1e6)
            path = self.big if rng.random() < 0.8 else self.med
            os.utime(path, (when, when))
            if path == self.med and rng.random() < 0.3:
                with open(path, "r+b") as f:
                    os.pwrite(f.fileno(), rng.randbytes(16),
                              rng.randrange(4 << 20))

    async def feeder(self):
        """listen: bytes on the server's stdin, broadcast to its clients;
        now and then a burst as fast as the pipe takes it, so that
        clients that do not read fall behind by more than the limit."""
        rng = random.Random(f"{self.seed}/{self.t.name}/feed")
        block = rng.randbytes(65536)
        while True:
            await asyncio.sleep(rng.uniform(0.02, 0.5))
            if rng.random() < 0.1:
                end = time.monotonic() + rng.uniform(0.1, 0.5)
                while time.monotonic() < end:
                    self.srv.feed_stdin(block)
                    await asyncio.sleep(0.002)
            else:
                self.srv.feed_stdin(rng.randbytes(rng.choice([1, 100,
                                                              4096])))

    def pooled_only(self, pid):
        """Are the fds beyond the first count only pipes the relay keeps
        pooled for the next splice (at most T.pipe_pool of them)?"""
        if not self.t.pipe_pool:
            return False
        def split(table):
            pipes = sum(1 for p in table.values() if p.startswith("pipe:"))
            return pipes, {fd: p for fd, p in table.items()
                           if not p.startswith("pipe:")}
        pipes, others = split(fd_table(pid))
        pipes0, others0 = split(self.table0)
        return others == others0 and pipes <= pipes0 + self.t.pipe_pool

    async def settle(self, deadline, what):
        """Poll until the server's fds are back to the first count and no
        child is left, within DEADLINE seconds.  The first time, wait for
        a count that holds still for 0.2 s instead, and return it."""
        end = time.monotonic() + deadline
        pid = self.srv.pid
        last, steady = None, 0
        while True:
            n = len(os.listdir(f"/proc/{pid}/fd"))
            kids = children(pid)
            if self.fd0 is None:
                steady = steady + 1 if kids == 0 and n == last else 0
                if steady >= 10:
                    return n
                last = n
            elif kids == 0 and (n == self.fd0 or self.pooled_only(pid)):
                return n
            if time.monotonic() > end:
                table = fd_table(pid)
                extra = {fd: p for fd, p in table.items()
                         if self.table0.get(fd) != p}
                gone = {fd: p for fd, p in self.table0.items()
                        if table.get(fd) != p}
                raise Finding("fd-leak", f"{what}: the server holds {n} fds, "
                              f"{self.fd0} before, {kids} children left, "
                              f"{deadline:.0f} s after every session closed;"
                              f" new: {describe_fds(extra)}; gone: "
                              f"{describe_fds(gone)}")
            await asyncio.sleep(0.02)

    def session_done(self, sess):
        self.inflight.pop(sess.sid, None)
        self.recent.append(sess)
        self.sessions += 1
        self.tx += sess.tx
        self.rx += sess.rx
        self.outcomes[sess.outcome] += 1
        if sess.spec.check is not None:
            self.checked += 1
            bad = sess.verdict()
            if bad:
                try:
                    self.srv.check_alive()      # a crash explains it
                except Finding as f:
                    self.report(f)
                self.report(Finding("wrong-answer", f"session {sess.sid}: "
                                    f"{bad}"))

    async def run_session(self, sess):
        self.inflight[sess.sid] = sess
        await sess.run(self.srv.port, self.clock)
        self.session_done(sess)

    async def rounds(self, secs):
        gen = GENERATORS[self.t.sessions]
        end = time.monotonic() + secs
        r = self.a.round if self.a.round is not None else 0
        while time.monotonic() < end:
            self.round = r
            rr = random.Random(f"{self.seed}/{self.t.name}/{r}")
            conc = min(rr.choice([2, 8, 32, 100, 250, 400]), self.t.max_conc,
                       self.a.max_conc)
            rend = min(end, time.monotonic() + rr.uniform(1.5, 6))
            active = set()
            i = 0
            while time.monotonic() < rend:
                while (len(active) < conc and not self.paused and
                       time.monotonic() < rend):
                    rng = random.Random(f"{self.seed}/{self.t.name}/{r}/{i}")
                    sess = Session(f"{r}.{i}", gen(rng, self))
                    task = asyncio.ensure_future(self.run_session(sess))
                    active.add(task)
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                    i += 1
                    if i % 50 == 0:
                        await asyncio.sleep(0)
                self.max_conc = max(self.max_conc, len(active))
                _, active = await asyncio.wait(
                    active, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
            if active:
                await asyncio.wait(active)
            await self.settle(self.a.settle_deadline, f"after round {r}")
            if self.t.sessions == "upload" and upload_leftovers(self.root):
                raise Finding("leftover", f"after round {r}: temporary "
                              f"files {upload_leftovers(self.root)[:5]}")
            self.rounds_run += 1
            if self.a.round is not None:
                return
            r += 1

    async def main(self, secs):
        srv = self.srv
        await srv.start()
        log(f"{self.t.name}: {srv.cmd} (pid {srv.pid}, port {srv.port})")
        helpers = [asyncio.ensure_future(self.watcher())]
        for i in range(3):      # warm up with the probe alone
            ok, what = await asyncio.wait_for(self.probe_once(-1 - i),
                                              self.a.probe_deadline)
            if not ok:
                raise Finding("probe", f"the first probe failed: {what!r}")
        self.fd0 = await self.settle(10, "at start")
        self.table0 = fd_table(srv.pid)
        self.rss0 = rss_kib(srv.pid)
        helpers.append(asyncio.ensure_future(self.prober()))
        if self.t.touch:
            helpers.append(asyncio.ensure_future(self.toucher()))
        if self.t.stdin == "pipe":
            helpers.append(asyncio.ensure_future(self.feeder()))
        work = asyncio.ensure_future(self.rounds(secs))
        failed = asyncio.ensure_future(self.failure.wait())
        try:
            await asyncio.wait([work, failed],
                               return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                work.result()           # a settle Finding raises here
            if self.failed is not None:
                return
            srv.check_alive()
            self.fd1 = len(os.listdir(f"/proc/{srv.pid}/fd"))
            self.rss1 = rss_kib(srv.pid)
        finally:
            rest = helpers + [work, failed] + list(self.tasks)
            for h in rest:
                h.cancel()
            await asyncio.gather(*rest, return_exceptions=True)
        msg = await srv.stop()
        if msg:
            raise Finding("stop", msg)
        rc = srv.proc.returncode
        if rc not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
            raise Finding("exit", f"at SIGTERM the server exited with {rc} "
                          f"({describe_status(rc)}):\n" +
                          srv.stderr_text()[-3000:])
        if SANITIZER.search(srv.stderr_text().encode()):
            raise Finding("sanitizer", short_report(srv.stderr_text()))

    def dump(self):
        """The sessions open at the failure and the last ones closed."""
        path = os.path.join(self.work, f"{self.t.name}-sessions.txt")
        with open(path, "w") as f:
            f.write(f"# seed {self.seed} target {self.t.name}: failure at "
                    f"{self.fail_time:.3f} s in round {self.fail_round}\n"
                    f"# server: {getattr(self.srv, 'cmd', '?')}\n")
            f.write("# open at the failure:\n")
            for s in sorted(self.inflight.values(), key=lambda s: s.started):
                f.write(f"{s.sid} from {s.started:.3f} s, sent {s.tx}, "
                        f"got {s.rx}: {s.spec.describe()}\n")
            f.write("# the last closed, oldest first:\n")
            for s in self.recent:
                f.write(f"{s.sid} {s.started:.3f}-{s.ended:.3f} s "
                        f"{s.outcome}, sent {s.tx}, got {s.rx}: "
                        f"{s.spec.describe()}\n")
        return path


def describe_fds(d):
    if not d:
        return "none"
    items = sorted(d.items())
    text = ", ".join(f"{fd}->{p}" for fd, p in items[:12])
    return text + (f" and {len(items) - 12} more" if len(items) > 12 else "")


def probe_figures(run):
    lat = sorted(run.probe_lat)
    if not lat:
        return "none answered"
    return (f"median {lat[len(lat) // 2]:.2f} s, slowest {lat[-1]:.2f} s, "
            f"{run.probe_retries} retried")


def human(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


async def run_target(t, a, seed, secs, work, root, big, med):
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):     # stop the server first
        loop.add_signal_handler(sig, asyncio.current_task().cancel)
    run = Run(t, a, seed, work, root, big, med)
    log(f"{t.name}: {secs:.0f} s")
    try:
        await run.main(secs)
    except Finding as f:
        run.report(f)
    finally:
        if run.failed is not None and run.srv.proc is not None:
            # stop it; a report at SIGTERM says more about the state
            before = run.srv.stderr_text()
            await run.srv.stop()
            after = run.srv.stderr_text()[len(before):]
            if SANITIZER.search(after.encode()):
                run.failed.detail += ("\n(and when stopped by SIGTERM "
                                      "afterwards:)\n" + short_report(after))
        run.srv.close()
    took = run.clock()
    figures = (f"{run.sessions} sessions ({run.checked} checked), "
               f"{run.rounds_run} rounds, up to {run.max_conc} at once, "
               f"sent {human(run.tx)}, received {human(run.rx)}, "
               f"{run.probes} probes ({probe_figures(run)}), "
               + (f"fds {run.fd0} -> {run.fd1}, RSS {run.rss0} -> {run.rss1} "
                  "KiB" if run.fd1 is not None else
                  f"fds {run.fd0} at the start"))
    ends = ", ".join(f"{k} {v}" for k, v in run.outcomes.most_common())
    lines = run.srv.stderr_text().splitlines()
    if lines and run.failed is None:
        log(f"{t.name}: the server wrote {len(lines)} lines on stderr "
            f"({run.srv.errpath}), the first: {lines[0][:200]}")
    if run.failed is None:
        log(f"{t.name}: {took:.0f} s, {figures}; session ends: {ends}; "
            f"no finding")
        return run, None
    f = run.failed
    log(f"{t.name}: FAIL after {run.fail_time:.1f} s (round "
        f"{run.fail_round}): {f.kind}")
    for line in f.detail.rstrip().splitlines()[:80]:
        print("    " + line)
    log(f"{t.name}: {figures}")
    log(f"{t.name}: sessions open at the failure and the last closed: "
        f"{run.dump()}; server stderr: {run.srv.errpath}")
    log(f"{t.name}: replay: make fuzz-net FUZZNET_ARGS='--seed {seed} "
        f"--target {t.name}'   (or: python3 tests/fuzz-net.py --sockt "
        f"{a.sockt} --seed {seed} --target {t.name} --secs {secs:.0f}; "
        f"add --round {run.fail_round} to run only that round)")
    return run, f


def main():
    ap = argparse.ArgumentParser(
        description="network-level fuzzer for sockt servers (make fuzz-net)")
    ap.add_argument("--sockt", default=os.environ.get("SOCKT_ASAN"),
                    help="the sockt to run, built with ASan+UBSan "
                    "(default: $SOCKT_ASAN)")
    ap.add_argument("--secs", type=float, default=60,
                    help="total duration, shared by the targets (60)")
    ap.add_argument("--seed", type=int, help="replay this seed")
    ap.add_argument("--target", action="append",
                    choices=[t.name for t in TARGETS],
                    help="run only this target (repeatable)")
    ap.add_argument("--round", type=int,
                    help="run only round N of the seed (to replay)")
    ap.add_argument("--work", default="fuzz-work/net",
                    help="files, logs and the served tree (fuzz-work/net)")
    ap.add_argument("--max-conc", type=int, default=400,
                    help="most sessions at once (400)")
    ap.add_argument("--probe-deadline", type=float, default=5,
                    help="seconds a probe may take (5)")
    ap.add_argument("--settle-deadline", type=float, default=10,
                    help="seconds for fds to come back after a round (10)")
    ap.add_argument("--big-mb", type=int, default=256,
                    help="size of the big (sparse) file (256)")
    a = ap.parse_args()
    if not a.sockt:
        ap.error("no sockt: give --sockt PATH or set SOCKT_ASAN")
    a.sockt = os.path.abspath(a.sockt)
    with open(a.sockt, "rb") as f:
        if b"__asan_init" not in f.read():
            log(f"warning: {a.sockt} is not built with ASan")

    seed = a.seed if a.seed is not None else \
        random.SystemRandom().randrange(1, 1 << 31)
    log(f"seed {seed}")
    targets = [t for t in TARGETS if not a.target or t.name in a.target]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    work = os.path.abspath(a.work)
    root = os.path.join(work, "root")
    os.makedirs(root, exist_ok=True)
    big, med = make_tree(root, a.big_mb)

    findings = []
    total = collections.Counter()
    for t in targets:
        try:
            run, f = asyncio.run(run_target(t, a, seed, a.secs / len(targets),
                                            work, root, big, med))
        except asyncio.CancelledError:
            log(f"interrupted (seed {seed})")
            sys.exit(130)
        total["sessions"] += run.sessions
        if f is not None:
            findings.append((t.name, f))
    log(f"total: {total['sessions']} sessions on {len(targets)} targets, "
        f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
        + "".join(f"; {n}: {f.kind}" for n, f in findings)
        + f" (seed {seed})")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
