#!/usr/bin/env python3
# proxypeer.py - a small SOCKS5 / SOCKS4 / HTTP CONNECT proxy that is not
# sockt, for tests of sockt's proxy client.  Loopback only: it listens on
# 127.0.0.1 and refuses any target that is not loopback.
#
#   proxypeer.py TYPE PORT_FILE [USER:PASS]
#
# TYPE is socks5, socks4 or http.  Each line of PORT_FILE.log names a
# request as the proxy saw it ("socks5 CONNECT host:port", "auth ok").
import base64
import ipaddress
import os
import socket
import struct
import sys
import threading


def log(line):
    with open(LOGFILE, "a") as f:
        f.write(line + "\n")


def recvn(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dial(host, port):
    if not loopback(host):
        return None, "not loopback"
    try:
        return socket.create_connection((host, port), timeout=10), None
    except ConnectionRefusedError:
        return None, "refused"
    except OSError as e:
        return None, str(e)


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def relay(a, b):
    t = threading.Thread(target=pipe, args=(b, a), daemon=True)
    t.start()
    pipe(a, b)
    t.join()
    a.close()
    b.close()


def socks5(c):
    ver, n = recvn(c, 2)
    methods = recvn(c, n)
    want = 2 if AUTH else 0
    if want not in methods:
        c.sendall(b"\x05\xff")
        return
    c.sendall(bytes([5, want]))
    if AUTH:
        recvn(c, 1)
        user = recvn(c, recvn(c, 1)[0]).decode()
        pw = recvn(c, recvn(c, 1)[0]).decode()
        if user + ":" + pw != AUTH:
            log("auth failed")
            c.sendall(b"\x01\x01")
            return
        log("auth ok")
        c.sendall(b"\x01\x00")
    ver, cmd, _, atyp = recvn(c, 4)
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, recvn(c, 4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, recvn(c, 16))
    else:
        host = recvn(c, recvn(c, 1)[0]).decode()
    port = struct.unpack("!H", recvn(c, 2))[0]
    log("socks5 CONNECT %s:%d" % (host, port))
    t, err = dial(host, port)
    if t is None:
        c.sendall(bytes([5, 5 if err == "refused" else 2, 0, 1]) +
                  b"\0" * 6)
        return
    c.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")
    relay(c, t)


def socks4(c):
    ver, cmd = recvn(c, 2)
    port = struct.unpack("!H", recvn(c, 2))[0]
    ip = recvn(c, 4)
    while recvn(c, 1) != b"\0":
        pass
    host = socket.inet_ntop(socket.AF_INET, ip)
    if ip[:3] == b"\0\0\0" and ip[3] != 0:
        name = b""
        while True:
            ch = recvn(c, 1)
            if ch == b"\0":
                break
            name += ch
        host = name.decode()
    log("socks4 CONNECT %s:%d" % (host, port))
    t, err = dial(host, port)
    if t is None:
        c.sendall(b"\x00\x5b" + b"\0" * 6)
        return
    c.sendall(b"\x00\x5a" + b"\0" * 6)
    relay(c, t)


def http(c):
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += recvn(c, 1)
    lines = head.decode().split("\r\n")
    method, target, _ = lines[0].split(" ")
    if AUTH:
        want = "Basic " + base64.b64encode(AUTH.encode()).decode()
        got = [line.split(":", 1)[1].strip() for line in lines[1:]
               if line.lower().startswith("proxy-authorization:")]
        if got != [want]:
            log("auth failed")
            c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                      b"Proxy-Authenticate: Basic realm=\"t\"\r\n"
                      b"Content-Length: 0\r\n\r\n")
            return
        log("auth ok")
    host, port = target.rsplit(":", 1)
    host = host.strip("[]")
    log("http %s %s:%s" % (method, host, port))
    t, err = dial(host, int(port))
    if t is None:
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        return
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    relay(c, t)


def serve(c):
    try:
        {"socks5": socks5, "socks4": socks4, "http": http}[TYPE](c)
    except (EOFError, OSError, ValueError):
        pass
    finally:
        c.close()


TYPE = sys.argv[1]
AUTH = sys.argv[3] if len(sys.argv) > 3 else None
LOGFILE = sys.argv[2] + ".log"
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
tmp = sys.argv[2] + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % srv.getsockname()[1])
os.rename(tmp, sys.argv[2])
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
