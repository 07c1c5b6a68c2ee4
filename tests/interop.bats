#!/usr/bin/env bats
# tests/interop.bats - sockt listen and connect against the real peers
# (OpenBSD nc, ncat, socat, python3) in both roles, every byte checksummed,
# every exit status checked.  Both directions move at once where the peer
# supports a half-closed connection (socat, python3, an ncat client); with
# nc and ncat -l, which quit at the network's end of file, one at a time.

bats_require_minimum_version 1.5.0
load helper

# Every run of sockt has a deadline: a hang fails its test, not the suite.
sockt() {
	timeout "$DEADLINE" "$SOCKT" "$@"
}


SIZE=8000000

setup() {
	T=$BATS_TEST_TMPDIR
	export T
	random_file "$T/a" "$SIZE"
	random_file "$T/b" "$SIZE"
}

# sockt_connects ARGS...: sockt connect ARGS with a as stdin; wait for the
# peer job $PEER; both must exit 0, sockt got b and the peer got a.
sockt_connects() {
	run_out "$T/b.got" sockt connect "$@" <"$T/a"
	assert_equal "$stderr" ""
	assert_equal "$status" 0
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/b.got"
	same_bytes "$T/a" "$T/peer.out"
}

# peer_connects CMD...: run the client CMD with b as stdin against the
# sockt listener $SRV (which sends a); both exit 0, both got every byte.
peer_connects() {
	run_out "$T/a.got" "$@" <"$T/b"
	assert_equal "$status" 0
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/a.got"
	same_bytes "$T/b" "$T/srv.out"
}

# OpenBSD nc quits as soon as the network side reaches end of file, even
# with its own stdin unsent, so with nc each test moves one direction:
# the nc side that only receives runs with -d, or sockt runs with -d.

# nc_listen_port: the port of the nc -l -n -v job whose stderr is
# $T/peer.err ("Listening on 127.0.0.1 PORT").
nc_listen_port() {
	wait_until -- grep -q '^Listening on' "$T/peer.err" || return 1
	awk '/^Listening on/ { print $NF }' "$T/peer.err"
}

@test "interop: sockt connect sends to nc.openbsd -l -d: every byte, both exit 0" {
	needs nc.openbsd
	spawn peer nc.openbsd -l -d -n -v 127.0.0.1 0
	PEER=$BG_PID
	local port
	port=$(nc_listen_port)
	run_out "$T/b.got" sockt connect 127.0.0.1 "$port" <"$T/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/peer.out"
	[ ! -s "$T/b.got" ]
}

@test "interop: nc.openbsd -l -N sends to sockt connect -d: every byte, both exit 0" {
	needs nc.openbsd
	spawn peer nc.openbsd -l -N -n -v 127.0.0.1 0 <"$T/b"
	PEER=$BG_PID
	local port
	port=$(nc_listen_port)
	run_out "$T/b.got" sockt connect -d 127.0.0.1 "$port" <"$T/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/b.got"
	[ ! -s "$T/peer.out" ]
}

@test "interop: nc.openbsd -N sends to sockt listen -d: every byte, both exit 0" {
	needs nc.openbsd
	spawn_listen srv -d 127.0.0.1 0 <"$T/a"
	SRV=$BG_PID
	run_out "$T/a.got" nc.openbsd -N 127.0.0.1 "$PORT" <"$T/b"
	assert_equal "$status" 0
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/srv.out"
	[ ! -s "$T/a.got" ]
}

@test "interop: sockt listen sends to nc.openbsd -d: every byte, both exit 0" {
	needs nc.openbsd
	spawn_listen srv 127.0.0.1 0 <"$T/a"
	SRV=$BG_PID
	run_out "$T/a.got" nc.openbsd -d 127.0.0.1 "$PORT"
	assert_equal "$status" 0
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/a.got"
	[ ! -s "$T/srv.out" ]
}

@test "interop: nc.openbsd -6 -N over ::1 sends to sockt listen -d ::1" {
	needs nc.openbsd
	spawn_listen srv -d ::1 0
	SRV=$BG_PID
	run_out "$T/a.got" nc.openbsd -6 -N ::1 "$PORT" <"$T/b"
	assert_equal "$status" 0
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/srv.out"
}

@test "interop: nc.openbsd -U -N sends to sockt listen -U -d" {
	needs nc.openbsd
	spawn srv "$SOCKT" listen -U -d --port-file "$T/srv.port" "$T/sock"
	SRV=$BG_PID
	wait_file "$T/srv.port"
	run_out "$T/a.got" nc.openbsd -U -N "$T/sock" <"$T/b"
	assert_equal "$status" 0
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/srv.out"
}

@test "interop: sockt connect -U sends to nc.openbsd -l -U -d" {
	needs nc.openbsd
	spawn peer nc.openbsd -l -U -d "$T/sock"
	PEER=$BG_PID
	wait_until -- test -S "$T/sock"
	run_out "$T/b.got" sockt connect -U "$T/sock" <"$T/a"
	assert_equal "$status" 0
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/peer.out"
}

# ncat -l, like nc, quits once its client half-closes: one direction each.

@test "interop: sockt connect sends to ncat -l --recv-only: every byte, both exit 0" {
	needs ncat
	spawn peer ncat -l --recv-only 127.0.0.1 0
	PEER=$BG_PID
	local port
	port=$(listening_port "$PEER")
	run_out "$T/b.got" sockt connect 127.0.0.1 "$port" <"$T/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/peer.out"
	[ ! -s "$T/b.got" ]
}

@test "interop: ncat -l sends to sockt connect -d: every byte, both exit 0" {
	needs ncat
	spawn peer ncat -l 127.0.0.1 0 <"$T/b"
	PEER=$BG_PID
	local port
	port=$(listening_port "$PEER")
	run_out "$T/b.got" sockt connect -d 127.0.0.1 "$port" <"$T/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/b.got"
	[ ! -s "$T/peer.out" ]
}

@test "interop: ncat connects to sockt listen: 8 MB both ways" {
	needs ncat
	spawn_listen srv 127.0.0.1 0 <"$T/a"
	SRV=$BG_PID
	peer_connects ncat 127.0.0.1 "$PORT"
}

@test "interop: sockt connect to socat TCP-LISTEN: 8 MB both ways" {
	needs socat
	spawn peer socat -d -d -t 30 TCP-LISTEN:0,bind=127.0.0.1 STDIO <"$T/b"
	PEER=$BG_PID
	wait_until -- grep -q 'listening on' "$T/peer.err"
	local port
	port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/peer.err")
	sockt_connects 127.0.0.1 "$port"
}

@test "interop: socat connects to sockt listen: 8 MB both ways" {
	needs socat
	spawn_listen srv 127.0.0.1 0 <"$T/a"
	SRV=$BG_PID
	peer_connects socat -t 30 STDIO "TCP:127.0.0.1:$PORT"
}

@test "interop: socat ABSTRACT-CONNECT reaches sockt listen -U @NAME" {
	needs socat
	local name="sockt-interop-$$-$BATS_TEST_NUMBER"
	spawn srv "$SOCKT" listen -U --port-file "$T/srv.port" "@$name" <"$T/a"
	SRV=$BG_PID
	wait_file "$T/srv.port"
	peer_connects socat -t 30 STDIO "ABSTRACT-CONNECT:$name"
}

@test "interop: sockt connect -U @NAME reaches socat ABSTRACT-LISTEN" {
	needs socat
	local name="sockt-interop-$$-$BATS_TEST_NUMBER"
	spawn peer socat -d -d -t 30 "ABSTRACT-LISTEN:$name" STDIO <"$T/b"
	PEER=$BG_PID
	wait_until -- grep -q 'listening on' "$T/peer.err"
	sockt_connects -U "@$name"
}

@test "interop: sockt connect to a python3 server that sends and receives at once" {
	py_listen_bg peer '
import threading
c = accept_one(PORTFILE)
def send():
    c.sendall(open(tpath("b"), "rb").read())
    c.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
got = recv_all(c)
t.join()
c.close()
sys.stdout.buffer.write(got)'
	PEER=$BG_PID
	sockt_connects 127.0.0.1 "$PORT"
}

@test "interop: a python3 client that sends and receives at once, to sockt listen" {
	spawn_listen srv 127.0.0.1 0 <"$T/a"
	SRV=$BG_PID
	run_out "$T/a.got" python3 -c '
import socket, sys, threading
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def send():
    c.sendall(open(sys.argv[2], "rb").read())
    c.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    sys.stdout.buffer.write(d)
t.join()' "$PORT" "$T/b"
	assert_equal "$status" 0
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/a.got"
	same_bytes "$T/b" "$T/srv.out"
}

@test "interop: socat EXEC:'wc -c' sees sockt's EOF, and its reply after that is printed" {
	needs socat
	spawn peer socat -d -d -t 30 TCP-LISTEN:0,bind=127.0.0.1 EXEC:'wc -c'
	PEER=$BG_PID
	wait_until -- grep -q 'listening on' "$T/peer.err"
	local port
	port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/peer.err")
	run_out "$T/reply" sockt connect 127.0.0.1 "$port" <"$T/a"
	assert_equal "$status" 0
	assert_equal "$(tr -d ' ' <"$T/reply")" "$SIZE"
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
}

@test "interop: a socat client replying via EXEC:'wc -c' after sockt listen's EOF: the reply is printed" {
	needs socat
	spawn_listen srv 127.0.0.1 0 <"$T/a"
	SRV=$BG_PID
	run --separate-stderr timeout "$DEADLINE" socat -t 30 EXEC:'wc -c' "TCP:127.0.0.1:$PORT"
	assert_success
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	assert_equal "$(tr -d ' ' <"$T/srv.out")" "$SIZE"
}

@test "interop: ncat --recv-only gets everything from sockt listen --send-only" {
	needs ncat
	spawn_listen srv --send-only 127.0.0.1 0 <"$T/a"
	SRV=$BG_PID
	run_out "$T/a.got" ncat --recv-only 127.0.0.1 "$PORT" </dev/null
	assert_equal "$status" 0
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/a.got"
}
