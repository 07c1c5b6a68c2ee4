#!/usr/bin/env bats
# forward: port forwarding on one loop (design section 7, issue 16).

bats_require_minimum_version 1.5.0

load helper

# fwd NAME ARGS...: start "sockt forward -v --port-file ... ARGS" in the
# background; sets $FPORT and $FWD.
fwd() {
	local name=$1
	shift
	spawn "$name" "$SOCKT" forward -v --port-file "$T/$name.port" "$@"
	FWD=$BG_PID
	FPORT=$(wait_port "$T/$name.port")
}

# echo_server NAME: a python3 echo server on 127.0.0.1 (every client
# gets back every byte it sent, then end of file after its own); $PORT.
echo_server() {
	py_listen_bg "$1" '
import threading
s = tcp_listen(PORTFILE, backlog=512)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()'
}

@test "forward: exact bytes both ways between connect and listen, and one -v line per connection" {
	random_file "$T/a" 3000000
	random_file "$T/b" 2000000
	spawn_listen dst 127.0.0.1 0 <"$T/b"
	local dst=$BG_PID
	fwd fw 127.0.0.1 0 "127.0.0.1:$PORT"
	run_out "$T/a.got" sockt connect 127.0.0.1 "$FPORT" <"$T/a"
	assert_success
	wait_exit "$dst"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/dst.out"
	same_bytes "$T/b" "$T/a.got"
	wait_until -- grep -q 'bytes up' "$T/fw.err"
	run grep -E "^sockt: #1 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$PORT: 3000000 bytes up, 2000000 down, [0-9]+\.[0-9]{3} s$" "$T/fw.err"
	assert_success
}

@test "forward: a client's half-close reaches the target, whose reply still comes back" {
	py_listen_bg dst '
c = accept_one(PORTFILE)
got = recv_all(c)
c.sendall(b"target saw %d bytes and end of file\n" % len(got))
c.close()'
	fwd fw 127.0.0.1 0 "127.0.0.1:$PORT"
	run python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x" * 100000)
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
sys.stdout.write(data.decode())' "$FPORT"
	assert_success
	assert_output "target saw 100000 bytes and end of file"
}

@test "forward: a target's half-close reaches the client, which can still send" {
	py_listen_bg dst '
c = accept_one(PORTFILE)
c.sendall(b"hello\n")
c.shutdown(socket.SHUT_WR)
got = recv_all(c)
save("dst.got", got)'
	fwd fw 127.0.0.1 0 "127.0.0.1:$PORT"
	run python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
s.sendall(b"after your end of file\n")
s.close()
sys.stdout.write(data.decode())' "$FPORT"
	assert_success
	assert_output "hello"
	wait_file "$T/dst.got"
	assert_equal "$(cat "$T/dst.got")" "after your end of file"
}

@test "forward: a reset by the target resets the client, and a reset by the client resets the target" {
	py_listen_bg dst '
s = tcp_listen(PORTFILE)
c, _ = s.accept()
c.recv(10)
reset(c)
c, _ = s.accept()
try:
    while c.recv(65536):
        pass
    save("dst.second", b"eof")
except ConnectionResetError:
    save("dst.second", b"reset")'
	fwd fw 127.0.0.1 0 "127.0.0.1:$PORT"
	run python3 -c '
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"0123456789")
try:
    while s.recv(65536):
        pass
    print("end of file")
except ConnectionResetError:
    print("reset")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"hi")
time.sleep(0.2)  # let the forward connect to the target first
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$FPORT"
	assert_success
	assert_output "reset"
	wait_file "$T/dst.second"
	assert_equal "$(cat "$T/dst.second")" "reset"
}

@test "forward: 200 concurrent clients each get exactly their own bytes back" {
	echo_server dst
	fwd fw 127.0.0.1 0 "127.0.0.1:$PORT"
	run python3 -c '
import hashlib, os, socket, sys, threading
port = int(sys.argv[1])
bad = []
def client(i):
    data = os.urandom(20000 + i)
    s = socket.create_connection(("127.0.0.1", port))
    def send():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send)
    t.start()
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    t.join()
    if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
        bad.append(i)
ts = [threading.Thread(target=client, args=(i,)) for i in range(200)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("bad", len(bad))' "$FPORT"
	assert_success
	assert_output "bad 0"
	alive "$FWD"
}

@test "forward: to a Unix socket target, and from a Unix socket listener" {
	random_file "$T/a" 500000
	spawn "dst" "$SOCKT" listen -U --port-file "$T/dst.port" "$T/dst.sock"
	local dst=$BG_PID
	wait_file "$T/dst.port"
	fwd fw 127.0.0.1 0 "$T/dst.sock"
	run sockt connect 127.0.0.1 "$FPORT" <"$T/a"
	assert_success
	wait_exit "$dst"
	same_bytes "$T/a" "$T/dst.out"
	# a Unix listener in front of a TCP target
	spawn_listen dst2 127.0.0.1 0
	local dst2=$BG_PID
	spawn fw2 "$SOCKT" forward -U --port-file "$T/fw2.port" "$T/fw.sock" \
	    "127.0.0.1:$PORT"
	wait_file "$T/fw2.port"
	assert_equal "$(cat "$T/fw2.port")" "$T/fw.sock"
	run sockt connect -U "$T/fw.sock" <"$T/a"
	assert_success
	wait_exit "$dst2"
	same_bytes "$T/a" "$T/dst2.out"
}

@test "forward: a refused target closes that client only, says so under -v, and the next client is served" {
	local port
	port=$(free_port)
	fwd fw 127.0.0.1 0 "127.0.0.1:$port"
	run --separate-stderr sockt connect 127.0.0.1 "$FPORT" </dev/null
	assert_success
	assert_output ""
	wait_until -- grep -q "connect 127.0.0.1:$port: Connection refused" "$T/fw.err"
	alive "$FWD"
}

@test "forward: --deny refuses a client before any connection to the target, --max-conns 1 refuses a second" {
	py_listen_bg dst '
s = tcp_listen(PORTFILE)
n = 0
while True:
    c, _ = s.accept()
    n += 1
    save("accepts", b"%d" % n)'
	fwd fw --deny 127.0.0.1 127.0.0.1 0 "127.0.0.1:$PORT"
	run sockt connect 127.0.0.1 "$FPORT" </dev/null
	wait_until -- grep -q "refused 127.0.0.1:[0-9]*: not allowed" "$T/fw.err"
	[ ! -e "$T/accepts" ]
	kill "$FWD"
	fwd fw2 --max-conns 1 127.0.0.1 0 "127.0.0.1:$PORT"
	hold_fifo in
	spawn first "$SOCKT" connect 127.0.0.1 "$FPORT" <"$T/in"
	wait_file "$T/accepts"
	run --separate-stderr sockt connect 127.0.0.1 "$FPORT" </dev/null
	wait_until -- grep -q "refused 127.0.0.1:[0-9]*: --max-conns 1 reached" "$T/fw2.err"
	assert_equal "$(cat "$T/accepts")" "1"
}

@test "forward -x: a hex dump of each connection, every line with its #id" {
	echo_server dst
	fwd fw -x "$T/dump" 127.0.0.1 0 "127.0.0.1:$PORT"
	run sockt connect 127.0.0.1 "$FPORT" <<<"first"
	assert_output "first"
	run sockt connect 127.0.0.1 "$FPORT" <<<"second"
	assert_output "second"
	wait_until -- eval "[ \$(wc -l <'$T/dump') -ge 4 ]"
	run cat "$T/dump"
	assert_line --regexp '^#1 > 00000000  66 69 72 73 74 0a +\|first\.\|$'
	assert_line --regexp '^#1 < 00000000  66 69 72 73 74 0a +\|first\.\|$'
	assert_line --regexp '^#2 > 00000000  73 65 63 6f 6e 64 0a +\|second\.\|$'
	assert_line --regexp '^#2 < 00000000  73 65 63 6f 6e 64 0a +\|second\.\|$'
}

@test "forward --tls: terminates TLS from clients; the target gets the plain bytes" {
	random_file "$T/a" 300000
	spawn_listen dst 127.0.0.1 0 </dev/null
	local dst=$BG_PID
	fwd fw --tls 127.0.0.1 0 "127.0.0.1:$PORT"
	pin=$(sed -n 's/^sockt: tls pin //p' "$T/fw.err")
	[ -n "$pin" ]
	run sockt connect --tls --pin "$pin" 127.0.0.1 "$FPORT" <"$T/a"
	assert_success
	wait_exit "$dst"
	same_bytes "$T/a" "$T/dst.out"
}

@test "forward: without ADDRESS it listens on loopback only" {
	echo_server dst
	fwd fw 0 "127.0.0.1:$PORT"
	run grep -c '^sockt: listening on ' "$T/fw.err"
	[ "$output" -ge 1 ]
	run grep '^sockt: listening on ' "$T/fw.err"
	refute_output --regexp 'listening on (0\.0\.0\.0|\[::\]):'
	run sockt connect 127.0.0.1 "$FPORT" <<<"loop"
	assert_output "loop"
}

@test "forward: usage errors exit 2 with one line" {
	run --separate-stderr sockt forward 0
	one_line_error 2 "^sockt: missing PORT and TARGET "
	run --separate-stderr sockt forward 127.0.0.1 0
	one_line_error 2 "^sockt: bad TARGET '0': expected HOST:PORT, \[IPV6\]:PORT or a Unix socket path "
	run --separate-stderr sockt forward 0 127.0.0.1:0
	one_line_error 2 "^sockt: bad TARGET '127.0.0.1:0': port 0 "
	run --separate-stderr sockt forward 0 127.0.0.1:1 extra more
	one_line_error 2 "^sockt: too many arguments: 'more' "
}

@test "forward: curl fetches from python3 http.server through it" {
	needs curl
	web
	fwd fw 127.0.0.1 0 "127.0.0.1:$WPORT"
	run curl -sS -o "$T/got" "http://127.0.0.1:$FPORT/f"
	assert_success
	same_bytes "$T/www/f" "$T/got"
}
