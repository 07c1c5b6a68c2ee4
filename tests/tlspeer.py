#!/usr/bin/env python3
"""tests/tlspeer.py - a python3 ssl peer for tests/tls.bats.

  server CERT KEY PORTFILE OUT REPLY   accept one client; read until its
        close_notify (a TCP end of file without one is an error, exit 3)
        into OUT; then send REPLY, close_notify, and close.
  truncate CERT KEY PORTFILE DATA      accept one client; send DATA, then
        end the TCP stream without close_notify; wait for the client's end.
  client CA HOST PORT IN OUT           connect (verifying against CA), send
        IN, read until close_notify into OUT, send close_notify, close.
A port file is written once listening.  Standard library only.
"""
import os
import socket
import ssl
import sys


def listen(portfile):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, portfile)
    return s


def server_ctx(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def read_all(ss, out):
    with open(out, "wb") as f:
        while True:
            try:
                b = ss.recv(65536)
            except ssl.SSLEOFError:
                sys.exit(3)
            if not b:
                return
            f.write(b)


def main():
    mode = sys.argv[1]
    if mode == "server":
        cert, key, portfile, out, reply = sys.argv[2:7]
        ls = listen(portfile)
        c, _ = ls.accept()
        ss = server_ctx(cert, key).wrap_socket(c, server_side=True,
                                              suppress_ragged_eofs=False)
        read_all(ss, out)
        with open(reply, "rb") as f:
            ss.sendall(f.read())
        ss.unwrap().close()
    elif mode == "truncate":
        cert, key, portfile, data = sys.argv[2:6]
        ls = listen(portfile)
        c, _ = ls.accept()
        ss = server_ctx(cert, key).wrap_socket(c, server_side=True)
        with open(data, "rb") as f:
            ss.sendall(f.read())
        # below TLS: a TCP end of file, no close_notify
        socket.socket.shutdown(ss, socket.SHUT_WR)
        while socket.socket.recv(ss, 65536):
            pass
        socket.socket.close(ss)
    elif mode == "client":
        ca, host, port, inp, out = sys.argv[2:7]
        ctx = ssl.create_default_context(cafile=ca)
        c = socket.create_connection((host, int(port)))
        ss = ctx.wrap_socket(c, server_hostname=host,
                             suppress_ragged_eofs=False)
        with open(inp, "rb") as f:
            ss.sendall(f.read())
        read_all(ss, out)
        ss.unwrap().close()
    else:
        sys.exit(2)


if __name__ == "__main__":
    main()
