#!/usr/bin/env bats
# forward --proxy-server: SOCKS5, SOCKS4/4a and HTTP on one port (design
# section 7, issue 16).

bats_require_minimum_version 1.5.0

load helper

# pfwd NAME ARGS...: start "sockt forward -v --proxy-server --port-file
# ... ARGS" in the background; sets $FPORT and $FWD.
pfwd() {
	local name=$1
	shift
	spawn "$name" "$SOCKT" forward -v --proxy-server --port-file \
	    "$T/$name.port" "$@"
	FWD=$BG_PID
	FPORT=$(wait_port "$T/$name.port")
}

# pyc CODE ARGS...: run python3 CODE (after the helpers) in the foreground.
pyc() {
	local code=$1
	shift
	timeout "$DEADLINE" python3 -c "$PY_PRELUDE
$code" "$@"
}

@test "proxy-server: exact bytes both ways, sockt connect --proxy through it to sockt listen" {
	random_file "$T/a" 2000000
	random_file "$T/b" 3000000
	spawn_listen dst 127.0.0.1 0 <"$T/b"
	local dst=$BG_PID
	pfwd px 0
	run_out "$T/a.got" sockt connect --proxy "127.0.0.1:$FPORT" localhost "$PORT" <"$T/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$dst"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/dst.out"
	same_bytes "$T/b" "$T/a.got"
	wait_until -- grep -q 'bytes up' "$T/px.err"
	run grep -E "^sockt: #1 127\.0\.0\.1:[0-9]+ -> localhost:$PORT: 2000000 bytes up, 3000000 down, [0-9]+\.[0-9]{3} s$" "$T/px.err"
	assert_success
}

@test "proxy-server: the same through --proxy-type http and socks4 (a name: 4a)" {
	random_file "$T/a" 500000
	pfwd px 0
	local type
	for type in http socks4; do
		spawn_listen "dst-$type" 127.0.0.1 0 <"$T/a"
		run_out "$T/got-$type" sockt connect --proxy "127.0.0.1:$FPORT" --proxy-type "$type" localhost "$PORT" <"$T/a"
		assert_equal "$status" 0
		same_bytes "$T/a" "$T/got-$type"
	done
}

@test "proxy-server: curl --socks5-hostname, --socks5, --socks4, --socks4a, -x http:// and -p -x fetch exact bytes" {
	needs curl
	web
	pfwd px 0
	local how
	for how in --socks5-hostname --socks5 --socks4 --socks4a; do
		run curl -sS -o "$T/got$how" "$how" "127.0.0.1:$FPORT" "http://localhost:$WPORT/f"
		assert_success
		same_bytes "$T/www/f" "$T/got$how"
	done
	run curl -sS -o "$T/got-x" -x "http://127.0.0.1:$FPORT" "http://localhost:$WPORT/f?q=1"
	assert_success
	same_bytes "$T/www/f" "$T/got-x"
	# passed on in origin form, as proxies do
	run grep -c '"GET /f?q=1 HTTP/1.1" 200' "$T/web.err"
	assert_output 1
	run curl -sS -o "$T/got-p" -p -x "http://127.0.0.1:$FPORT" "http://localhost:$WPORT/f"
	assert_success
	same_bytes "$T/www/f" "$T/got-p"
}

@test "proxy-server: --proxy-auth: curl with the right credentials gets through, wrong ones get 407 or the SOCKS failure" {
	needs curl
	web
	pfwd px --proxy-auth 'ann:s3cret' 0
	run curl -sS -o "$T/g1" --socks5-hostname "ann:s3cret@127.0.0.1:$FPORT" "http://localhost:$WPORT/f"
	assert_success
	same_bytes "$T/www/f" "$T/g1"
	run curl -sS -o "$T/g2" -x "http://ann:s3cret@127.0.0.1:$FPORT" "http://localhost:$WPORT/f"
	assert_success
	same_bytes "$T/www/f" "$T/g2"
	run curl -sS -o "$T/g3" -p -x "http://ann:s3cret@127.0.0.1:$FPORT" "http://localhost:$WPORT/f"
	assert_success
	same_bytes "$T/www/f" "$T/g3"
	run curl -sS -o /dev/null --socks5-hostname "ann:wrong@127.0.0.1:$FPORT" "http://localhost:$WPORT/f"
	assert_equal "$status" 97
	assert_output --partial "User was rejected by the SOCKS5 server (1 1)"
	run curl -sS -o /dev/null -D - -x "http://ann:wrong@127.0.0.1:$FPORT" "http://localhost:$WPORT/f"
	assert_success
	assert_line --index 0 $'HTTP/1.1 407 Proxy Authentication Required\r'
	assert_line $'Proxy-Authenticate: Basic realm="sockt"\r'
	run curl -sS -o /dev/null -p -x "http://127.0.0.1:$FPORT" "http://localhost:$WPORT/f"
	assert_equal "$status" 56
	assert_output --partial "CONNECT tunnel failed, response 407"
	# SOCKS4 cannot send a password: refused (0x5b), no target connection
	run pyc '
s = tcp_connect(sys.argv[1])
s.sendall(b"\x04\x01" + struct.pack("!H", int(sys.argv[2])) + b"\x7f\x00\x00\x01ann\x00")
print(recv_all(s).hex())' "$FPORT" "$WPORT"
	assert_output "005b000000000000"
	run grep -c '"GET /f HTTP/1.1"' "$T/web.err"
	assert_output 3
}

@test "proxy-server: a refused target is answered with SOCKS5 reply 5, SOCKS4 0x5b, HTTP 502; bad requests with their codes" {
	pfwd px 0
	local dead
	dead=$(free_port)
	run pyc '
port, dead = int(sys.argv[1]), int(sys.argv[2])
def ask(greeting, request):
    s = tcp_connect(port)
    if greeting:
        s.sendall(greeting)
        assert s.recv(2) == b"\x05\x00"
    s.sendall(request)
    return recv_all(s)
v4 = b"\x01\x7f\x00\x00\x01" + struct.pack("!H", dead)
print(ask(b"\x05\x01\x00", b"\x05\x01\x00" + v4).hex())
print(ask(b"\x05\x01\x00", b"\x05\x02\x00" + v4).hex())
print(ask(b"\x05\x01\x00", b"\x05\x01\x00\x09\x7f\x00\x00\x01\x00\x00").hex())
print(ask(None, b"\x04\x01" + struct.pack("!H", dead) + b"\x7f\x00\x00\x01\x00").hex())
print(ask(None, b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % dead).split(b"\r\n")[0].decode())
print(ask(None, b"POST http://127.0.0.1:%d/ HTTP/1.1\r\n\r\n" % dead).split(b"\r\n")[0].decode())
print(ask(None, b"GET /relative HTTP/1.1\r\n\r\n").split(b"\r\n")[0].decode())
s = tcp_connect(port)
s.sendall(b"\x05\x01\x02")
print(recv_all(s).hex())' "$FPORT" "$dead"
	assert_success
	assert_line --index 0 "05050001000000000000"
	assert_line --index 1 "05070001000000000000"
	assert_line --index 2 "05080001000000000000"
	assert_line --index 3 "005b000000000000"
	assert_line --index 4 "HTTP/1.1 502 Bad Gateway"
	assert_line --index 5 "HTTP/1.1 405 Method Not Allowed"
	assert_line --index 6 "HTTP/1.1 400 Bad Request"
	assert_line --index 7 "05ff"
	wait_until -- grep -q "#1 127.0.0.1:[0-9]* -> 127.0.0.1:$dead: connect 127.0.0.1:$dead: Connection refused" "$T/px.err"
}

@test "proxy-server: SOCKS5 to an IPv6 literal, and sockt connect's error names the proxy and the reply" {
	random_file "$T/a" 100000
	spawn_listen dst ::1 0 </dev/null
	pfwd px 0
	run pyc '
s = tcp_connect(sys.argv[1])
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x04" + socket.inet_pton(socket.AF_INET6, "::1") + struct.pack("!H", int(sys.argv[2])))
r = s.recv(22)
s.sendall(open(tpath("a"), "rb").read())
s.shutdown(socket.SHUT_WR)
recv_all(s)
print(r[:4].hex())' "$FPORT" "$PORT"
	assert_success
	assert_output "05000004"
	wait_file "$T/dst.out"
	wait_until -- test "$(wc -c <"$T/dst.out")" -eq 100000
	same_bytes "$T/a" "$T/dst.out"
	local dead
	dead=$(free_port)
	run --separate-stderr sockt connect --proxy "127.0.0.1:$FPORT" 127.0.0.1 "$dead" </dev/null
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:$FPORT: connection to target refused \(SOCKS5 reply 5\)$"
	run --separate-stderr sockt connect --proxy "127.0.0.1:$FPORT" --proxy-type http 127.0.0.1 "$dead" </dev/null
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:$FPORT: HTTP 502 Bad Gateway$"
}

@test "proxy-server: a client's half-close reaches the target, whose reply still comes back" {
	py_listen_bg dst '
c = accept_one(PORTFILE)
got = recv_all(c)
c.sendall(b"target saw %d bytes and end of file\n" % len(got))
c.close()'
	pfwd px 0
	run pyc '
s = tcp_connect(sys.argv[1])
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x03\x09localhost" + struct.pack("!H", int(sys.argv[2])))
assert s.recv(10)[:2] == b"\x05\x00"
s.sendall(b"x" * 100000)
s.shutdown(socket.SHUT_WR)
sys.stdout.write(recv_all(s).decode())' "$FPORT" "$PORT"
	assert_success
	assert_output "target saw 100000 bytes and end of file"
}

@test "proxy-server: bytes a client sends right behind its request reach the target, and count in -v and -x" {
	py_listen_bg dst '
c = accept_one(PORTFILE)
c.sendall(recv_all(c))
c.close()'
	pfwd px -x "$T/dump" 0
	run pyc '
s = tcp_connect(sys.argv[1])
s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\nearly bytes" % int(sys.argv[2]))
s.shutdown(socket.SHUT_WR)
sys.stdout.write(recv_all(s).decode())' "$FPORT" "$PORT"
	assert_success
	assert_output $'HTTP/1.1 200 Connection established\r\n\r\nearly bytes'
	wait_until -- grep -q 'bytes up' "$T/px.err"
	run grep -E "^sockt: #1 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$PORT: 11 bytes up, 11 down, " "$T/px.err"
	assert_success
	run cat "$T/dump"
	assert_line --regexp '^#1 > 00000000  65 61 72 6c 79 20 62 79  74 65 73 +\|early bytes\|$'
	assert_line --regexp '^#1 < 00000000  65 61 72 6c 79 20 62 79  74 65 73 +\|early bytes\|$'
}

@test "proxy-server: socat's SOCKS4A and PROXY client modes through it" {
	needs socat
	random_file "$T/a" 300000
	pfwd px 0
	spawn_listen d1 127.0.0.1 0 </dev/null
	run_out "$T/o1" socat -u "OPEN:$T/a" "SOCKS4A:127.0.0.1:localhost:$PORT,socksport=$FPORT"
	assert_equal "$status" 0
	wait_until -- test "$(wc -c <"$T/d1.out")" -eq 300000
	same_bytes "$T/a" "$T/d1.out"
	spawn_listen d2 127.0.0.1 0 </dev/null
	run_out "$T/o2" socat -u "OPEN:$T/a" "PROXY:127.0.0.1:localhost:$PORT,proxyport=$FPORT"
	assert_equal "$status" 0
	wait_until -- test "$(wc -c <"$T/d2.out")" -eq 300000
	same_bytes "$T/a" "$T/d2.out"
}

@test "proxy-server: a client refused by --deny or --max-conns never causes a target connection" {
	py_listen_bg dst '
s = tcp_listen(PORTFILE)
while True:
    c, _ = s.accept()
    with open(tpath("dst.log"), "a") as f:
        f.write(c.recv(100).decode() + "\n")
    c.close()'
	pfwd px --deny 127.0.0.1 --max-conns 1 0
	run pyc '
port, dport = int(sys.argv[1]), int(sys.argv[2])
req = b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % dport
def refused(host, what):
    s = socket.create_connection((host, port))
    try:
        s.sendall(req + what)
        return len(recv_all(s))
    except (ConnectionResetError, BrokenPipeError):
        return 0
print(refused("127.0.0.1", b"denied"))
hold = socket.create_connection(("::1", port))
print(refused("::1", b"over"))
hold.sendall(req + b"admitted")
print(hold.recv(100).split(b"\r\n")[0].decode())' "$FPORT" "$PORT"
	assert_success
	assert_output $'0\n0\nHTTP/1.1 200 Connection established'
	wait_file "$T/dst.log"
	run cat "$T/dst.log"
	assert_output "admitted"
}

@test "proxy-server: -w ends a client that never finishes its handshake; loopback only without ADDRESS" {
	pfwd px -w 1 0
	run grep '^sockt: listening on ' "$T/px.err"
	assert_output $'sockt: listening on 127.0.0.1:'"$FPORT"$'\nsockt: listening on [::1]:'"$FPORT"
	run pyc '
s = tcp_connect(sys.argv[1])
s.sendall(b"\x05\x01")
print(len(recv_all(s)))' "$FPORT"
	assert_success
	assert_output 0
	wait_until -- grep -q '#1 127.0.0.1:[0-9]*: the handshake did not finish in time' "$T/px.err"
}

@test "proxy-server: -x dumps the relayed bytes of each connection with its #id" {
	py_listen_bg dst '
c = accept_one(PORTFILE)
got = recv_all(c)
c.sendall(b"pong")
c.close()'
	pfwd px -x "$T/dump" 0
	run sockt connect --proxy "127.0.0.1:$FPORT" 127.0.0.1 "$PORT" <<<"ping"
	assert_success
	assert_output "pong"
	wait_until -- grep -q 'bytes up' "$T/px.err"
	run cat "$T/dump"
	assert_line --regexp '^#1 > 00000000  70 69 6e 67 0a +\|ping\.\|$'
	assert_line --regexp '^#1 < 00000000  70 6f 6e 67 +\|pong\|$'
	assert_equal "${#lines[@]}" 2
}

@test "proxy-server: usage errors exit 2 with one line" {
	run --separate-stderr sockt forward --proxy-server 127.0.0.1 0 127.0.0.1:1
	one_line_error 2 "^sockt: too many arguments: '127.0.0.1:1' \(--proxy-server takes no TARGET\) "
	run --separate-stderr sockt forward --proxy-server -U "$T/s"
	one_line_error 2 "^sockt: cannot use --proxy-server with -U "
	run --separate-stderr sockt forward --proxy-server --proxy-auth nocolon 0
	one_line_error 2 "^sockt: bad proxy credentials: expected USER:PASS "
	run --separate-stderr sockt forward --proxy-auth a:b 0 127.0.0.1:1
	one_line_error 2 "^sockt: --proxy-auth needs --proxy or --proxy-server "
	run --separate-stderr sockt forward --proxy-server --tls 0
	one_line_error 2 "^sockt: cannot use --proxy-server with --tls "
}

@test "proxy-server: with -n a name is refused without a lookup (SOCKS5 reply 4, HTTP 502), an address is served" {
	py_listen_bg dst '
c = accept_one(PORTFILE)
c.sendall(recv_all(c))
c.close()'
	pfwd px -n 0
	run pyc '
port, dport = int(sys.argv[1]), int(sys.argv[2])
s = tcp_connect(port)
s.sendall(b"\x05\x01\x00\x05\x01\x00\x03\x09localhost" + struct.pack("!H", dport))
print(recv_all(s).hex())
s = tcp_connect(port)
s.sendall(b"CONNECT localhost:%d HTTP/1.1\r\n\r\n" % dport)
print(recv_all(s).split(b"\r\n")[0].decode())
s = tcp_connect(port)
s.sendall(b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01" + struct.pack("!H", dport) + b"by address")
s.shutdown(socket.SHUT_WR)
print(recv_all(s)[12:].decode())' "$FPORT" "$PORT"
	assert_success
	assert_output $'050005040001000000000000\nHTTP/1.1 502 Bad Gateway\nby address'
	run grep -c 'resolve localhost:[0-9]*: Name or service not known' "$T/px.err"
	assert_output 2
}

@test "proxy-server: a target that does not answer within -w gets SOCKS5 reply 6 and HTTP 504" {
	# a listener whose accept queue is full: the kernel drops new SYNs
	py_listen_bg mute '
s = tcp_listen(PORTFILE, backlog=0)
held = []
for i in range(3):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", s.getsockname()[1]))
    except BlockingIOError:
        pass
    held.append(c)
wait_for("done", 60)'
	pfwd px -w 1 0
	run pyc '
port, dport = int(sys.argv[1]), int(sys.argv[2])
s = tcp_connect(port)
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + struct.pack("!H", dport))
print(recv_all(s).hex())
s = tcp_connect(port)
s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % dport)
print(recv_all(s).split(b"\r\n")[0].decode())' "$FPORT" "$PORT"
	touch "$T/done"
	assert_success
	assert_output $'05060001000000000000\nHTTP/1.1 504 Gateway Timeout'
}

# ---- fetch-file through a proxy (--proxy, and curl's variables) ---------

# origin: serve-file on 127.0.0.1 with $T/www/f (1 MB); sets $OPORT.
origin() {
	mkdir -p "$T/www"
	random_file "$T/www/f" 1000000
	spawn origin "$SOCKT" serve-file --port-file "$T/origin.port" "$@" \
	    127.0.0.1 0 "$T/www"
	OPORT=$(wait_port "$T/origin.port")
}

@test "fetch-file: http_proxy takes it through forward --proxy-server, exact bytes, verified" {
	origin
	pfwd px 0
	run_out "$T/got" env -u no_proxy -u NO_PROXY http_proxy="http://127.0.0.1:$FPORT" \
	    "$SOCKT" fetch-file -o - "http://127.0.0.1:$OPORT/f"
	assert_equal "$status" 0
	same_bytes "$T/www/f" "$T/got"
	wait_until -- grep -q 'bytes up' "$T/px.err"
	run grep -cE "^sockt: #1 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$OPORT: [0-9]+ bytes up, [0-9]+ down" "$T/px.err"
	assert_output 1
}

@test "fetch-file: --proxy socks5h:// with credentials, and https_proxy for an https:// URL with a pin" {
	origin --tls
	pin=$(sed -n 's/^sockt: tls pin //p' "$T/origin.err")
	[ -n "$pin" ]
	pfwd px --proxy-auth me:secret 0
	run_out "$T/got1" "$SOCKT" fetch-file --pin "$pin" -o - \
	    --proxy "socks5h://me:secret@127.0.0.1:$FPORT" "https://localhost:$OPORT/f"
	assert_equal "$status" 0
	same_bytes "$T/www/f" "$T/got1"
	run_out "$T/got2" env -u no_proxy -u NO_PROXY https_proxy="http://me:secret@127.0.0.1:$FPORT" \
	    "$SOCKT" fetch-file --pin "$pin" -o - "https://127.0.0.1:$OPORT/f"
	assert_equal "$status" 0
	same_bytes "$T/www/f" "$T/got2"
	run grep -c ' bytes up' "$T/px.err"
	assert_output 2
}

@test "fetch-file: no_proxy and --proxy win over http_proxy; a bad variable is exit 2 naming it" {
	origin
	pfwd px 0
	# http_proxy names a port nobody listens on: no_proxy must bypass it
	run_out "$T/got1" env no_proxy="localhost, 127.0.0.1" http_proxy="http://127.0.0.1:1" \
	    "$SOCKT" fetch-file -o - "http://127.0.0.1:$OPORT/f"
	assert_equal "$status" 0
	same_bytes "$T/www/f" "$T/got1"
	run_out "$T/got2" env -u no_proxy -u NO_PROXY http_proxy="http://127.0.0.1:1" \
	    "$SOCKT" fetch-file --proxy "127.0.0.1:$FPORT" -o - "http://127.0.0.1:$OPORT/f"
	assert_equal "$status" 0
	same_bytes "$T/www/f" "$T/got2"
	run --separate-stderr env -u no_proxy -u NO_PROXY http_proxy="ftp://127.0.0.1:1" \
	    "$SOCKT" fetch-file -o - "http://127.0.0.1:$OPORT/f"
	one_line_error 2 "http_proxy"
}

@test "fetch-file: a proxy that refuses the target is exit 1 naming the proxy, and no .part is left" {
	pfwd px 0
	run --separate-stderr env -u no_proxy -u NO_PROXY http_proxy="socks5://127.0.0.1:$FPORT" \
	    "$SOCKT" fetch-file -o "$T/out" "http://127.0.0.1:1/f"
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:$FPORT: "
	[ ! -e "$T/out" ] && [ ! -e "$T/out.part" ]
}
