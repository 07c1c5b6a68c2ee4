#!/usr/bin/env bats
# tests/verbose.bats - what -v and -vv say (issue 15): -v what happened
# (listening, connection from/to, closed with the bytes each way); -vv
# adds resolution, socket options, the relay path, every end of file and
# close; never payload; and nothing at all by default on a clean run.

bats_require_minimum_version 1.5.0
load helper

PAYLOAD=SECRET-PAYLOAD-7f3a

# pair V...: listen V on 127.0.0.1 port 0 with 500 bytes on stdin, connect
# V to it with 1000 bytes on stdin; both must succeed.  Sets $PORT and
# $CPORT (the client's port, from the listener's -v line if any).
pair() {
	{ printf '%s' "$PAYLOAD"; head -c 481 /dev/zero; } >"$T/lin"
	{ printf '%s' "$PAYLOAD"; head -c 981 /dev/zero; } >"$T/cin"
	listen_bg srv "$@" 127.0.0.1 0 <"$T/lin"
	local srv=$BG_PID
	sockt connect "$@" 127.0.0.1 "$PORT" <"$T/cin" >"$T/cli.out" 2>"$T/cli.err" ||
	    fail "connect: status $?: $(cat "$T/cli.err")"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/lin" "$T/cli.out"
	same_bytes "$T/cin" "$T/srv.out"
}

@test "-v: listen and connect say listening, connection from/to, and closed with the bytes each way, exactly" {
	pair -v
	local cport
	cport=$(sed -n 's/^sockt: connection from 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/srv.err")
	[ -n "$cport" ] || fail "no connection line: $(cat "$T/srv.err")"
	assert_equal "$(cat "$T/srv.err")" "sockt: listening on 127.0.0.1:$PORT
sockt: connection from 127.0.0.1:$cport
sockt: closed 127.0.0.1:$cport: 500 bytes sent, 1000 received"
	assert_equal "$(cat "$T/cli.err")" "sockt: connected to 127.0.0.1:$PORT
sockt: closed 127.0.0.1:$PORT: 1000 bytes sent, 500 received"
}

@test "-vv: socket options, the relay path (sendfile, splice), every end of file and half-close; never the payload" {
	pair -vv
	run grep -c "$PAYLOAD" "$T/srv.err" "$T/cli.err"
	assert_output "$T/srv.err:0
$T/cli.err:0"
	# the listener
	# the options as the kernel has them, after the readiness line
	assert_equal "$(head -2 "$T/srv.err")" "sockt: listening on 127.0.0.1:$PORT
sockt: 127.0.0.1:$PORT: SO_REUSEADDR"
	grep -qx "sockt: stdin: end of file after 500 bytes" "$T/srv.err"
	grep -Eqx "sockt: 127\.0\.0\.1:[0-9]+: half-closed after 500 bytes" "$T/srv.err"
	grep -Eqx "sockt: 127\.0\.0\.1:[0-9]+: end of file after 1000 bytes" "$T/srv.err"
	grep -Eqx "sockt: 127\.0\.0\.1:[0-9]+ -> stdout: splice through a pipe" "$T/srv.err"
	grep -qx "sockt: stdout: closed after 1000 bytes" "$T/srv.err"
	# the client: a regular file on stdin goes out by sendfile
	grep -qx "sockt: connecting to 127.0.0.1:$PORT" "$T/cli.err"
	grep -qx "sockt: stdin -> 127.0.0.1:$PORT: sendfile" "$T/cli.err"
	grep -qx "sockt: stdin: end of file after 1000 bytes" "$T/cli.err"
	grep -qx "sockt: 127.0.0.1:$PORT: half-closed after 1000 bytes" "$T/cli.err"
	grep -qx "sockt: 127.0.0.1:$PORT: end of file after 500 bytes" "$T/cli.err"
	grep -qx "sockt: closed 127.0.0.1:$PORT: 1000 bytes sent, 500 received" "$T/cli.err"
}

@test "-vv: a name's resolution, a -s source's SO_REUSEADDR, and the copy path under -C" {
	listen_bg srv 127.0.0.1 0 </dev/null
	local srv=$BG_PID
	printf 'a\nb\n' >"$T/in"
	run sockt connect -vv -4 -C -s 127.0.0.1 localhost "$PORT" <"$T/in"
	assert_success
	assert_line "sockt: resolved localhost: 127.0.0.1"
	assert_line "sockt: bind 127.0.0.1:0: SO_REUSEADDR"
	assert_line "sockt: stdin -> 127.0.0.1:$PORT: copy"
	assert_line "sockt: 127.0.0.1:$PORT: half-closed after 6 bytes"
	wait_exit "$srv"
	assert_equal "$(cat "$T/srv.out")" $'a\r\nb\r'
}

@test "default level: a clean listen/connect transfer prints nothing on stderr" {
	pair
	[ ! -s "$T/srv.err" ] || fail "listen: $(cat "$T/srv.err")"
	[ ! -s "$T/cli.err" ] || fail "connect: $(cat "$T/cli.err")"
}

@test "default level: exec, forward and udp-send/udp-recv print nothing on a clean run" {
	spawn ex "$SOCKT" exec --port-file "$T/ex.port" 127.0.0.1 0 -- cat
	local ex=$BG_PID eport
	eport=$(wait_port "$T/ex.port")
	spawn fw "$SOCKT" forward --port-file "$T/fw.port" 127.0.0.1 0 "127.0.0.1:$eport"
	local fport
	fport=$(wait_port "$T/fw.port")
	random_file "$T/in" 100000
	sockt connect 127.0.0.1 "$fport" <"$T/in" >"$T/got" 2>"$T/cli.err" ||
	    fail "connect: status $?: $(cat "$T/cli.err")"
	same_bytes "$T/in" "$T/got"
	wait_exit "$ex"
	assert_equal "$EXIT" 0
	[ ! -s "$T/ex.err" ] || fail "exec: $(cat "$T/ex.err")"
	[ ! -s "$T/fw.err" ] || fail "forward: $(cat "$T/fw.err")"
	[ ! -s "$T/cli.err" ] || fail "connect: $(cat "$T/cli.err")"
	spawn ur "$SOCKT" udp-recv --count 1 --port-file "$T/ur.port" 127.0.0.1 0 </dev/null
	local ur=$BG_PID uport
	uport=$(wait_port "$T/ur.port")
	run sockt udp-send -q 0 127.0.0.1 "$uport" <<<"hello"
	assert_success
	assert_output ""
	wait_exit "$ur"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/ur.out")" hello
	[ ! -s "$T/ur.err" ] || fail "udp-recv: $(cat "$T/ur.err")"
}

@test "-v: exec says connection from, the program's exit status and closed with the bytes each way" {
	spawn ex "$SOCKT" exec -v --port-file "$T/ex.port" 127.0.0.1 0 -- cat
	local ex=$BG_PID port
	port=$(wait_port "$T/ex.port")
	printf '%s' "$PAYLOAD" >"$T/in"
	run sockt connect 127.0.0.1 "$port" <"$T/in"
	assert_success
	assert_output "$PAYLOAD"
	wait_exit "$ex"
	assert_equal "$EXIT" 0
	local cport
	cport=$(sed -n 's/^sockt: connection from 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/ex.err")
	[ -n "$cport" ] || fail "no connection line: $(cat "$T/ex.err")"
	assert_equal "$(cat "$T/ex.err")" "sockt: listening on 127.0.0.1:$port
sockt: connection from 127.0.0.1:$cport
sockt: 127.0.0.1:$cport: cat exited with status 0
sockt: closed 127.0.0.1:$cport: 19 bytes sent, 19 received"
}

@test "-v: listen -k says closed with the bytes for each client" {
	spawn srv "$SOCKT" listen -k -v --port-file "$T/srv.port" 127.0.0.1 0 </dev/null
	local port
	port=$(wait_port "$T/srv.port")
	printf 'abc' | sockt connect 127.0.0.1 "$port"
	printf 'defgh' | sockt connect 127.0.0.1 "$port"
	wait_until -- test "$(grep -c '^sockt: closed ' "$T/srv.err")" -eq 2
	grep -Eqx 'sockt: closed 127\.0\.0\.1:[0-9]+: 0 bytes sent, 3 received' "$T/srv.err"
	grep -Eqx 'sockt: closed 127\.0\.0\.1:[0-9]+: 0 bytes sent, 5 received' "$T/srv.err"
}

@test "-v: udp-send and udp-recv report what was sent and received" {
	spawn ur "$SOCKT" udp-recv -v --count 2 --port-file "$T/ur.port" 127.0.0.1 0 </dev/null
	local ur=$BG_PID port
	port=$(wait_port "$T/ur.port")
	run sockt udp-send -v -q 0 127.0.0.1 "$port" <<<$'one\ntwo'
	assert_success
	assert_output "sockt: sending to 127.0.0.1:$port
sockt: stdin sent: 2 datagrams (8 bytes) to 127.0.0.1:$port
sockt: sent 2 datagrams (8 bytes), received 0 (0 bytes)"
	wait_exit "$ur"
	assert_equal "$EXIT" 0
	grep -qx 'sockt: received 2 datagrams (8 bytes)' "$T/ur.err"
}
