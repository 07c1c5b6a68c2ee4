#!/usr/bin/env bats
# tests/stream.bats - listen and connect over TCP (IPv4, IPv6) and Unix
# stream sockets: address forms, readiness, the end-of-stream rules of
# design section 3, exit statuses, bulk data, and the shared options.

bats_require_minimum_version 1.5.0
load helper

# Every run of sockt has a deadline: a hang fails its test, not the suite.
sockt() {
	timeout "$DEADLINE" "$SOCKT" "$@"
}


# exchange LISTEN_ARGS -- CONNECT_ARGS: listener and client both send a
# random file; assert both exit 0 and each received the other's bytes.
exchange() {
	local largs=() cargs=() size=${SIZE:-200000}
	while [ "$1" != "--" ]; do largs+=("$1"); shift; done
	shift
	cargs=("$@")
	random_file "$T/a" "$size"
	random_file "$T/b" "$size"
	spawn srv "$SOCKT" listen --port-file "$T/srv.port" "${largs[@]}" \
	    <"$T/a"
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	# connect arguments may name the port as PORT
	cargs=("${cargs[@]//PORT/$PORT}")
	run_out "$T/a.got" sockt connect "${cargs[@]}" <"$T/b"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/a.got"
	same_bytes "$T/b" "$T/srv.out"
}

# ---------------------------------------------------------------------
# Addresses and readiness

@test "listen/connect over TCP IPv4 (HOST PORT): bytes arrive exactly both ways, both exit 0" {
	exchange 127.0.0.1 0 -- 127.0.0.1 PORT
}

@test "connect HOST:PORT reaches the listener" {
	exchange 127.0.0.1 0 -- 127.0.0.1:PORT
}

@test "listen/connect over IPv6 ::1 (HOST PORT)" {
	exchange ::1 0 -- ::1 PORT
}

@test "connect [::1]:PORT reaches an IPv6 listener" {
	exchange '[::1]:0' -- '[::1]:PORT'
}

@test "listen HOST:PORT (127.0.0.1:0) listens on that address only" {
	spawn_listen srv -v 127.0.0.1:0 </dev/null
	wait_until -- grep -q "listening" "$T/srv.err"
	run cat "$T/srv.err"
	assert_output "sockt: listening on 127.0.0.1:$PORT"
	run --separate-stderr sockt connect ::1 "$PORT" </dev/null
	one_line_error 1 "connect \[::1\]:$PORT: Connection refused"
}

@test "listen -v 0: 'sockt: listening on ADDR:PORT' for IPv4 and IPv6, the real port, as in --port-file" {
	spawn_listen srv -v 0 </dev/null
	[ "$PORT" -gt 0 ]
	wait_until -- grep -q '\[::\]' "$T/srv.err"
	assert_equal "$(grep -c . "$T/srv.err")" 2
	grep -qx "sockt: listening on 0.0.0.0:$PORT" "$T/srv.err"
	grep -qx "sockt: listening on \[::\]:$PORT" "$T/srv.err"
}

@test "listen 0 without an address takes IPv6 clients on the same port" {
	exchange 0 -- ::1 PORT
}

@test "listen -v: the listening line means ready: a client connecting right after it is served" {
	printf 'ready\n' >"$T/in"
	spawn srv "$SOCKT" listen -v 127.0.0.1 0 <"$T/in"
	wait_until -- grep -q '^sockt: listening on 127.0.0.1:[1-9]' "$T/srv.err"
	local port
	port=$(sed -n 's/^sockt: listening on 127.0.0.1://p' "$T/srv.err")
	run --separate-stderr sockt connect 127.0.0.1 "$port" </dev/null
	assert_success
	assert_output "ready"
}

@test "--port-file: the port and a newline, written whole, no temporary file left" {
	mkdir "$T/pf"
	spawn srv "$SOCKT" listen --port-file "$T/pf/port" 127.0.0.1 0 </dev/null
	wait_file "$T/pf/port"
	run cat "$T/pf/port"
	assert_output --regexp '^[1-9][0-9]*$'
	assert_equal "$(wc -c <"$T/pf/port")" "$((${#output} + 1))"
	run ls -A "$T/pf"
	assert_output "port"
	run --separate-stderr sockt connect 127.0.0.1 "$(cat "$T/pf/port")" </dev/null
	assert_success
}

@test "listen -p PORT: the port from -p, all addresses" {
	exchange -p 0 -- 127.0.0.1 PORT
}

@test "listen -p PORT ADDRESS: the port from -p, on ADDRESS" {
	spawn_listen srv -v -p 0 127.0.0.1 </dev/null
	wait_until -- grep -q listening "$T/srv.err"
	run cat "$T/srv.err"
	assert_output "sockt: listening on 127.0.0.1:$PORT"
}

@test "listen -4 has no IPv6 socket; listen -6 has no IPv4 socket" {
	spawn_listen v4 -v -4 0 </dev/null
	wait_until -- grep -q listening "$T/v4.err"
	run cat "$T/v4.err"
	assert_output "sockt: listening on 0.0.0.0:$PORT"
	run --separate-stderr sockt connect ::1 "$PORT" </dev/null
	one_line_error 1 "Connection refused"
	spawn_listen v6 -v -6 0 </dev/null
	wait_until -- grep -q listening "$T/v6.err"
	run cat "$T/v6.err"
	assert_output "sockt: listening on [::]:$PORT"
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "Connection refused"
}

@test "connect -6 to an IPv4-only name fails with one line, exit 1" {
	run --separate-stderr sockt connect -6 127.0.0.1 80 </dev/null
	one_line_error 1 "127\.0\.0\.1"
}

# free_service: "NAME PORT" of a TCP service in /etc/services whose port
# nobody listens on now.
free_service() {
	local name port
	for name in gopher finger qotd tcpmux discard daytime; do
		port=$(getent services "$name/tcp" | awk '{ split($2, a, "/"); print a[1] }')
		[ -n "$port" ] || continue
		if ! ss -Hltn "sport = :$port" | grep -q .; then
			echo "$name $port"
			return 0
		fi
	done
	echo "no free well-known port to test service names" >&2
	return 1
}

@test "service names: listen 127.0.0.1 SERVICE listens on the service's port" {
	local svc port
	read -r svc port < <(free_service)
	[ -n "$port" ]
	printf 'by name\n' >"$T/in"
	spawn_listen srv -v 127.0.0.1 "$svc" <"$T/in"
	assert_equal "$PORT" "$port"
	wait_until -- grep -q listening "$T/srv.err"
	grep -qx "sockt: listening on 127.0.0.1:$port" "$T/srv.err"
	run --separate-stderr sockt connect 127.0.0.1 "$port" </dev/null
	assert_success
	assert_output "by name"
}

@test "service names: connect 127.0.0.1 SERVICE reaches the service's port" {
	local svc port
	read -r svc port < <(free_service)
	[ -n "$port" ]
	spawn_listen srv -k 127.0.0.1 "$port" </dev/null
	run --separate-stderr sockt connect 127.0.0.1 "$svc" < <(printf 'one\n')
	assert_success
	wait_until -- grep -q one "$T/srv.out"
	run --separate-stderr sockt connect "127.0.0.1:$svc" < <(printf 'two\n')
	assert_success
	wait_until -- grep -q two "$T/srv.out"
	assert_equal "$(cat "$T/srv.out")" "$(printf 'one\ntwo')"
}

@test "Unix socket path: bytes both ways, --port-file holds the path, the file is removed at exit" {
	SIZE=10000000
	random_file "$T/a" "$SIZE"
	random_file "$T/b" "$SIZE"
	spawn srv "$SOCKT" listen -v -U --port-file "$T/srv.port" "$T/sock" <"$T/a"
	local srv=$BG_PID
	wait_file "$T/srv.port"
	assert_equal "$(cat "$T/srv.port")" "$T/sock"
	[ -S "$T/sock" ]
	grep -qx "sockt: listening on $T/sock" "$T/srv.err"
	run_out "$T/a.got" sockt connect -U "$T/sock" <"$T/b"
	assert_equal "$status" 0
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/a.got"
	same_bytes "$T/b" "$T/srv.out"
	[ ! -e "$T/sock" ]
}

@test "Unix abstract socket @NAME: bytes both ways, no file created" {
	local name="@sockt-test-$$-$BATS_TEST_NUMBER"
	cd "$T"
	random_file "$T/a" 100000
	random_file "$T/b" 100000
	spawn srv "$SOCKT" listen -v -U --port-file "$T/srv.port" "$name" <"$T/a"
	local srv=$BG_PID
	wait_file "$T/srv.port"
	assert_equal "$(cat "$T/srv.port")" "$name"
	grep -qx "sockt: listening on $name" "$T/srv.err"
	run_out "$T/a.got" sockt connect -U "$name" <"$T/b"
	assert_equal "$status" 0
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/a.got"
	same_bytes "$T/b" "$T/srv.out"
	[ ! -e "$T/$name" ]
}

@test "Unix abstract socket @NAME is the same name socat and python use (no trailing NUL)" {
	local name="sockt-test-py-$$-$BATS_TEST_NUMBER"
	printf 'abstract\n' >"$T/in"
	spawn srv "$SOCKT" listen -U --port-file "$T/srv.port" "@$name" <"$T/in"
	wait_file "$T/srv.port"
	run timeout "$DEADLINE" python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect("\0" + sys.argv[1])
s.shutdown(socket.SHUT_WR)
print(s.makefile().read(), end="")' "$name"
	assert_success
	assert_output "abstract"
}

@test "listen -U replaces a stale socket file nobody listens on" {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$T/sock"
	[ -S "$T/sock" ]
	printf 'fresh\n' >"$T/in"
	spawn srv "$SOCKT" listen -U --port-file "$T/srv.port" "$T/sock" <"$T/in"
	wait_file "$T/srv.port"
	run --separate-stderr sockt connect -U "$T/sock" </dev/null
	assert_success
	assert_output "fresh"
}

@test "listen -U refuses a path held by a regular file, and leaves it alone" {
	printf 'precious\n' >"$T/file"
	run --separate-stderr sockt listen -U "$T/file" </dev/null
	one_line_error 1 "$T/file"
	assert_equal "$(cat "$T/file")" "precious"
}

@test "listen -U refuses a socket another listener is using, which keeps working" {
	printf 'first\n' >"$T/in"
	spawn srv "$SOCKT" listen -U --port-file "$T/srv.port" "$T/sock" <"$T/in"
	wait_file "$T/srv.port"
	run --separate-stderr sockt listen -U "$T/sock" </dev/null
	one_line_error 1 "$T/sock"
	run --separate-stderr sockt connect -U "$T/sock" </dev/null
	assert_success
	assert_output "first"
}

@test "connect -U to a missing socket: one line, exit 1" {
	run --separate-stderr sockt connect -U "$T/nothing" </dev/null
	one_line_error 1 "^sockt: connect $T/nothing: No such file or directory$"
}

@test "listen without -k serves one client: a second client is refused" {
	hold_fifo cli.in
	local w=$HELD
	spawn_listen srv 127.0.0.1 0 </dev/null
	spawn cli "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/cli.in"
	local cli=$BG_PID
	printf 'first\n' >&"$w"
	wait_until -- grep -q first "$T/srv.out"
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "connect 127.0.0.1:$PORT: Connection refused"
	release "$w"
	wait_exit "$cli"
	assert_equal "$EXIT" 0
}

@test "listen -U without -k: a second client is refused (not 'No such file'), the file goes at exit" {
	hold_fifo cli.in
	local w=$HELD
	spawn srv "$SOCKT" listen -U --port-file "$T/srv.port" "$T/sock" </dev/null
	local srv=$BG_PID
	wait_file "$T/srv.port"
	spawn cli "$SOCKT" connect -U "$T/sock" <"$T/cli.in"
	local cli=$BG_PID
	printf 'first\n' >&"$w"
	wait_until -- grep -q first "$T/srv.out"
	[ -S "$T/sock" ]
	run --separate-stderr sockt connect -U "$T/sock" </dev/null
	one_line_error 1 "^sockt: connect $T/sock: Connection refused$"
	release "$w"
	wait_exit "$cli"
	assert_equal "$EXIT" 0
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	[ ! -e "$T/sock" ]
}

# ---------------------------------------------------------------------
# End of stream (design section 3)

@test "connect: stdin EOF half-closes and still prints the late reply" {
	py_listen_bg srv '
c = accept_one(PORTFILE)
save("question", recv_all(c))   # the client half-closed
wait_for("go")
c.sendall(b"late reply\n" * 1000)
c.close()'
	printf 'question\n' >"$T/q"
	spawn cli "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/q"
	local cli=$BG_PID
	wait_file "$T/question"
	assert_equal "$(cat "$T/question")" "question"
	# the peer saw our EOF; we must still be waiting for its reply
	alive "$cli"
	touch "$T/go"
	wait_exit "$cli"
	assert_equal "$EXIT" 0
	assert_equal "$(grep -c '^late reply$' "$T/cli.out")" 1000
	assert_equal "$(wc -c <"$T/cli.out")" 11000
}

@test "connect: a reply sent after a delay following our EOF is still printed" {
	py_listen_bg srv '
c = accept_one(PORTFILE)
recv_all(c)
time.sleep(0.5)   # the reply comes late: part of the scenario
c.sendall(b"slow reply\n")
c.close()'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'q\n')
	assert_success
	assert_output "slow reply"
}

@test "listen: stdin EOF half-closes and still prints the client's late reply" {
	printf 'question\n' >"$T/q"
	spawn_listen srv 127.0.0.1 0 <"$T/q"
	local srv=$BG_PID
	py_bg cli '
c = tcp_connect(sys.argv[1])
save("question", recv_all(c))   # the listener half-closed
wait_for("go")
c.sendall(b"late reply\n")
c.close()' "$PORT"
	wait_file "$T/question"
	assert_equal "$(cat "$T/question")" "question"
	alive "$srv"
	touch "$T/go"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/srv.out")" "late reply"
}

@test "listen >file </dev/null receives everything from a client that sends only after our EOF" {
	random_file "$T/data" 3000000
	spawn_listen srv 127.0.0.1 0 </dev/null
	local srv=$BG_PID
	py_bg cli '
c = tcp_connect(sys.argv[1])
assert recv_all(c) == b""        # the listener said it has nothing
c.sendall(open(tpath("data"), "rb").read())
c.close()' "$PORT"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/data" "$T/srv.out"
}

@test "client closes first: the server's stdout ends, then the server's stdin still reaches the client" {
	random_file "$T/a" 300000
	random_file "$T/b" 300000
	hold_fifo srv.in
	local w=$HELD
	spawn srv bash -c '"$SOCKT" listen --port-file "$T/srv.port" 127.0.0.1 0 <"$T/srv.in" |
	    { cat >"$T/a.got"; echo eof >"$T/srv.eof"; }
	    echo "${PIPESTATUS[0]}" >"$T/srv.status"'
	PORT=$(wait_port "$T/srv.port")
	spawn cli "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/a"
	local cli=$BG_PID
	# the client's EOF reached the server's consumer
	wait_file "$T/srv.eof"
	same_bytes "$T/a" "$T/a.got"
	alive "$cli"
	cat "$T/b" >&"$w"
	release "$w"
	wait_exit "$cli"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/cli.out"
	wait_file "$T/srv.status"
	assert_equal "$(cat "$T/srv.status")" 0
}

@test "server closes first: the client's stdout ends, then the client's stdin still reaches the server" {
	random_file "$T/a" 300000
	random_file "$T/b" 300000
	hold_fifo cli.in
	local w=$HELD
	spawn_listen srv 127.0.0.1 0 <"$T/a"
	local srv=$BG_PID
	spawn cli bash -c '"$SOCKT" connect 127.0.0.1 "$1" <"$T/cli.in" |
	    { cat >"$T/a.got"; echo eof >"$T/cli.eof"; }
	    echo "${PIPESTATUS[0]}" >"$T/cli.status"' _ "$PORT"
	wait_file "$T/cli.eof"
	same_bytes "$T/a" "$T/a.got"
	alive "$srv"
	cat "$T/b" >&"$w"
	release "$w"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/srv.out"
	wait_file "$T/cli.status"
	assert_equal "$(cat "$T/cli.status")" 0
}

@test "sockt listen | consumer: the consumer sees EOF when the client leaves, though stdin is still open" {
	random_file "$T/data" 1000000
	hold_fifo srv.in
	spawn srv bash -c '"$SOCKT" listen --port-file "$T/srv.port" 127.0.0.1 0 <"$T/srv.in" |
	    { cat >"$T/got"; echo eof >"$T/consumer.done"; }'
	PORT=$(wait_port "$T/srv.port")
	py_bg cli '
c = tcp_connect(sys.argv[1])
c.sendall(open(tpath("data"), "rb").read())
c.close()' "$PORT"
	wait_file "$T/consumer.done"
	same_bytes "$T/data" "$T/got"
}

@test "sockt connect | consumer: the consumer sees EOF when the server closes, though stdin is still open" {
	random_file "$T/data" 1000000
	hold_fifo cli.in
	spawn_listen srv 127.0.0.1 0 <"$T/data"
	spawn cli bash -c '"$SOCKT" connect 127.0.0.1 "$1" <"$T/cli.in" |
	    { cat >"$T/got"; echo eof >"$T/consumer.done"; }' _ "$PORT"
	wait_file "$T/consumer.done"
	same_bytes "$T/data" "$T/got"
}

@test "connect with stdin closed (<&-) half-closes as with </dev/null and prints the reply" {
	local DEADLINE=5	# it takes milliseconds
	py_listen_bg srv '
c = accept_one(PORTFILE)
got = recv_all(c)          # replies only after our EOF
c.sendall(b"got %d bytes\n" % len(got))
c.close()'
	# (bats' run would put a pipe on the free fd 0: use a shell)
	run --separate-stderr timeout "$DEADLINE" bash -c '"$SOCKT" connect 127.0.0.1 "$1" <&-' _ "$PORT"
	assert_success
	assert_output "got 0 bytes"
}

@test "listen with stdin closed (<&-) ends when its client leaves, like </dev/null" {
	local DEADLINE=5	# it takes milliseconds
	spawn srv bash -c '"$SOCKT" listen --port-file "$T/srv.port" 127.0.0.1 0 <&-'
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'hello\n')
	assert_success
	assert_output ""
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/srv.out")" "hello"
}

# ---------------------------------------------------------------------
# Exit status

@test "connect refused: 'sockt: connect 127.0.0.1:PORT: Connection refused', exit 1" {
	local port
	port=$(free_port)
	run --separate-stderr sockt connect 127.0.0.1 "$port" </dev/null
	one_line_error 1 "^sockt: connect 127.0.0.1:$port: Connection refused$"
}

@test "connect refused over IPv6: 'sockt: connect [::1]:PORT: Connection refused', exit 1" {
	local port
	port=$(free_port)
	run --separate-stderr sockt connect ::1 "$port" </dev/null
	one_line_error 1 "^sockt: connect \[::1\]:$port: Connection refused$"
}

@test "connect: a reset by the peer ends with one line and exit 1" {
	py_listen_bg srv '
c = accept_one(PORTFILE)
recv_all(c)
reset(c)'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'hi\n')
	one_line_error 1 "127.0.0.1:$PORT.*Connection reset by peer"
}

@test "listen: a client that resets ends with one line and exit 1" {
	hold_fifo srv.in
	spawn_listen srv 127.0.0.1 0 <"$T/srv.in"
	local srv=$BG_PID
	py_bg cli '
c = tcp_connect(sys.argv[1])
c.sendall(b"x")
wait_for("go")
reset(c)' "$PORT"
	wait_until -- grep -q x "$T/srv.out"
	touch "$T/go"
	wait_exit "$srv"
	assert_equal "$EXIT" 1
	assert_equal "$(grep -c . "$T/srv.err")" 1
	grep -q '^sockt: .*Connection reset by peer' "$T/srv.err"
}

@test "connect: a peer that closes without reading makes the send fail: exit 1, one line" {
	random_file "$T/big" 20000000
	py_listen_bg srv '
c = accept_one(PORTFILE)
c.close()
wait_for("never")'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" <"$T/big"
	one_line_error 1 "127.0.0.1:$PORT.*(Broken pipe|Connection reset by peer)"
}

@test "listen: a client that leaves without reading makes the send fail: exit 1, one line" {
	random_file "$T/big" 20000000
	spawn_listen srv 127.0.0.1 0 <"$T/big"
	local srv=$BG_PID
	run timeout "$DEADLINE" python3 -c 'import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.close()' "$PORT"
	wait_exit "$srv"
	assert_equal "$EXIT" 1
	assert_equal "$(grep -c . "$T/srv.err")" 1
	grep -Eq '^sockt: .*(Broken pipe|Connection reset by peer)' "$T/srv.err"
}

@test "stdout write error (ENOSPC on /dev/full): one line, exit 1" {
	printf 'data\n' >"$T/in"
	spawn_listen srv 127.0.0.1 0 <"$T/in"
	run_out /dev/full sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == "sockt: "*"No space left on device"* ]] || fail "stderr: $stderr"
}

# ---------------------------------------------------------------------
# Bulk data

@test "50 MB of random bytes both ways at once through files: checksums match" {
	SIZE=50000000 exchange 127.0.0.1 0 -- 127.0.0.1 PORT
}

@test "50 MB both ways at once through pipes: cat f | sockt | cat >out on both ends" {
	random_file "$T/a" 50000000
	random_file "$T/b" 50000000
	spawn srv bash -c 'cat "$T/a" | "$SOCKT" listen --port-file "$T/srv.port" 127.0.0.1 0 |
	    cat >"$T/b.got"; echo "${PIPESTATUS[@]}" >"$T/srv.status"'
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	run timeout "$DEADLINE" bash -c 'cat "$T/b" | "$SOCKT" connect 127.0.0.1 "$1" | cat >"$T/a.got"
	    echo "${PIPESTATUS[@]}"' _ "$PORT"
	assert_output "0 0 0"
	wait_exit "$srv"
	assert_equal "$(cat "$T/srv.status")" "0 0 0"
	same_bytes "$T/a" "$T/a.got"
	same_bytes "$T/b" "$T/b.got"
}

# ---------------------------------------------------------------------
# Options

@test "without -q, connect waits for the peer after stdin EOF" {
	py_listen_bg srv '
c = accept_one(PORTFILE)
save("got", recv_all(c))
wait_for("go")
c.sendall(b"bye\n")
c.close()'
	printf 'data\n' >"$T/in"
	spawn cli "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/in"
	local cli=$BG_PID
	wait_file "$T/got"
	# the peer has our EOF but has not closed: we are still there
	alive "$cli"
	touch "$T/go"
	wait_exit "$cli"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/cli.out")" "bye"
}

@test "connect -q: after stdin EOF, quit though the peer stays open: exit 0, received data written" {
	py_listen_bg srv '
c = accept_one(PORTFILE)
c.sendall(b"hello\n")
save("got", recv_all(c))
wait_for("never")'
	run --separate-stderr sockt connect -q 1 127.0.0.1 "$PORT" < <(printf 'data\n')
	assert_success
	assert_output "hello"
	wait_file "$T/got"
	assert_equal "$(cat "$T/got")" "data"
}

@test "listen -q: after stdin EOF, quit though the client stays open: exit 0" {
	printf 'data\n' >"$T/in"
	spawn_listen srv -q 1 127.0.0.1 0 <"$T/in"
	local srv=$BG_PID
	py_bg cli '
c = tcp_connect(sys.argv[1])
c.sendall(b"hello\n")
save("got", recv_all(c))
wait_for("never")' "$PORT"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/srv.out")" "hello"
	wait_file "$T/got"
	assert_equal "$(cat "$T/got")" "data"
}

@test "-d: stdin is not read and the socket not half-closed; the session ends when the peer closes" {
	py_listen_bg srv '
c = accept_one(PORTFILE)
c.sendall(b"hello\n")
c.settimeout(0.5)   # watch the connection for a while: part of the scenario
try:
    got = c.recv(100)
    save("seen", b"eof" if got == b"" else b"data:" + got)
except socket.timeout:
    save("seen", b"open")
c.close()'
	printf 'must not be sent\n' >"$T/in"
	run --separate-stderr sockt connect -d 127.0.0.1 "$PORT" <"$T/in"
	assert_success
	assert_output "hello"
	wait_file "$T/seen"
	assert_equal "$(cat "$T/seen")" "open"
}

@test "--send-only: stdin reaches the peer, nothing is written to stdout, exit 0" {
	random_file "$T/b" 1000000
	spawn_listen srv 127.0.0.1 0 </dev/null
	local srv=$BG_PID
	run --separate-stderr sockt connect --send-only 127.0.0.1 "$PORT" <"$T/b"
	assert_success
	assert_output ""
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/srv.out"
}

@test "connect --send-only: ends at stdin EOF once the peer has every byte, though it stays open and talks: exit 0" {
	random_file "$T/b" 3000000
	py_listen_bg srv '
c = accept_one(PORTFILE)
c.sendall(b"chatter\n" * 10000)   # discarded by --send-only
save("got", recv_all(c))           # up to our half-close
wait_for("done")                   # and never closes'
	run --separate-stderr sockt connect --send-only 127.0.0.1 "$PORT" <"$T/b"
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	wait_file "$T/got"
	same_bytes "$T/b" "$T/got"
	touch "$T/done"
}

@test "listen --send-only: ends at stdin EOF once the client has every byte, though it stays open and talks: exit 0" {
	random_file "$T/b" 3000000
	spawn_listen srv --send-only 127.0.0.1 0 <"$T/b"
	local srv=$BG_PID
	py_bg cli '
c = tcp_connect(sys.argv[1])
c.sendall(b"chatter\n" * 10000)
save("got", recv_all(c))
wait_for("done")' "$PORT"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	[ ! -s "$T/srv.out" ]
	[ ! -s "$T/srv.err" ] || fail "stderr: $(cat "$T/srv.err")"
	wait_file "$T/got"
	same_bytes "$T/b" "$T/got"
	touch "$T/done"
}

@test "connect -U --send-only: over a Unix socket it ends once every byte is written, the peer still open" {
	random_file "$T/b" 3000000
	py_bg srv '
s = socket.socket(socket.AF_UNIX)
s.bind(tpath("sock"))
s.listen(1)
save("ready", b"y")
c, _ = s.accept()
c.sendall(b"chatter\n" * 10000)
save("got", recv_all(c))
wait_for("done")'
	wait_file "$T/ready"
	run --separate-stderr sockt connect -U --send-only "$T/sock" <"$T/b"
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	wait_file "$T/got"
	same_bytes "$T/b" "$T/got"
	touch "$T/done"
}

@test "--send-only waits for a peer that reads late, and it still gets every byte" {
	random_file "$T/b" 100000
	py_listen_bg srv '
s = tcp_listen(PORTFILE)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # a small window
c, _ = s.accept()
wait_for("go")
save("got", recv_all(c))
wait_for("done")'
	spawn cli "$SOCKT" connect -vv --send-only 127.0.0.1 "$PORT" <"$T/b"
	local cli=$BG_PID
	wait_until -- grep -q 'stdin ended; waiting until the peer has every byte' "$T/cli.err"
	# most of the bytes wait in sockt's socket: not acknowledged, no exit
	alive "$cli"
	touch "$T/go"
	wait_exit "$cli"
	assert_equal "$EXIT" 0
	wait_file "$T/got"
	same_bytes "$T/b" "$T/got"
	touch "$T/done"
}

@test "--send-only -w 1: a peer that never reads ends it with one line and exit 1, never 0" {
	random_file "$T/b" 100000
	py_listen_bg srv '
s = tcp_listen(PORTFILE)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
c, _ = s.accept()
wait_for("done")                   # never reads'
	run --separate-stderr sockt connect -w 1 --send-only 127.0.0.1 "$PORT" <"$T/b"
	one_line_error 1 "^sockt: 127\.0\.0\.1:$PORT: [0-9]+ bytes not acknowledged by the peer, no progress for 1\.000 s \(-w\)$"
	touch "$T/done"
}

@test "--recv-only: stdin is never read, the peer sees EOF at once, its data is printed" {
	random_file "$T/a" 1000000
	hold_fifo cli.in
	local w=$HELD
	printf 'must not be sent\n' >&"$w"
	spawn_listen srv 127.0.0.1 0 <"$T/a"
	local srv=$BG_PID
	spawn cli "$SOCKT" connect --recv-only 127.0.0.1 "$PORT" <"$T/cli.in"
	local cli=$BG_PID
	wait_exit "$cli"
	assert_equal "$EXIT" 0
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/cli.out"
	[ ! -s "$T/srv.out" ]
	# what was written to stdin is still there, unread
	run timeout 5 head -c 17 "$T/cli.in"
	assert_output "must not be sent"
}

@test "--no-shutdown: the peer does not see EOF after stdin ends" {
	py_listen_bg srv '
c = accept_one(PORTFILE)
got = b""
while len(got) < 5:
    got += c.recv(100)
c.settimeout(0.5)   # watch for an EOF for a while: part of the scenario
try:
    seen = b"eof" if c.recv(100) == b"" else b"data"
except socket.timeout:
    seen = b"open"
save("seen", got + b" " + seen)
c.sendall(b"done\n")
c.close()'
	run --separate-stderr sockt connect --no-shutdown 127.0.0.1 "$PORT" < <(printf 'data\n')
	assert_success
	assert_output "done"
	assert_equal "$(cat "$T/seen")" "$(printf 'data\n open')"
}

@test "connect -i: a session with no traffic ends after SECS: one line, exit 1" {
	py_listen_bg srv '
c = accept_one(PORTFILE)
wait_for("never")'
	hold_fifo cli.in
	spawn cli "$SOCKT" connect -i 0.3 127.0.0.1 "$PORT" <"$T/cli.in"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 1
	assert_equal "$(grep -c . "$T/cli.err")" 1
	grep -q '^sockt: .*idle' "$T/cli.err"
}

@test "listen -i: a client that sends nothing is dropped after SECS: one line, exit 1" {
	hold_fifo srv.in
	spawn_listen srv -i 0.3 127.0.0.1 0 <"$T/srv.in"
	local srv=$BG_PID
	py_bg cli '
c = tcp_connect(sys.argv[1])
wait_for("never")' "$PORT"
	wait_exit "$srv"
	assert_equal "$EXIT" 1
	assert_equal "$(grep -c . "$T/srv.err")" 1
	grep -q '^sockt: .*idle' "$T/srv.err"
}

@test "-i: traffic in one direction keeps the session alive" {
	py_listen_bg srv '
c = accept_one(PORTFILE)
for i in range(12):
    c.sendall(b"tick\n")
    time.sleep(0.1)   # a trickle of data: part of the scenario
c.close()'
	run --separate-stderr sockt connect -i 1 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_equal "${#lines[@]}" 12
}

@test "connect -w: a listener whose backlog is full times out after SECS: one line, exit 1" {
	py_listen_bg srv '
s = tcp_listen(PORTFILE + ".real", backlog=0)
port = s.getsockname()[1]
filler = tcp_connect(port)
# wait until the accept queue holds the filler (tcpi_unacked of a listener)
end = time.time() + 20
while struct.unpack_from("I", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104), 24)[0] < 1:
    if time.time() > end:
        sys.exit("backlog never filled")
    time.sleep(0.01)
report_port(s, PORTFILE)
wait_for("never")'
	run --separate-stderr sockt connect -w 0.5 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "^sockt: connect 127.0.0.1:$PORT: Connection timed out$"
}

@test "listen -w: no client within SECS: one line, exit 1" {
	spawn_listen srv -w 0.3 127.0.0.1 0 </dev/null
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 1
	assert_equal "$(grep -c . "$T/srv.err")" 1
	grep -q '^sockt: ' "$T/srv.err"
}

@test "listen -w: a client that came in time is served to the end, past SECS" {
	# the client is started (python's start-up can take longer than the
	# deadline on a busy host) before the listener, and connects as soon
	# as the port is known
	py_bg cli '
save("ready", b"y")
wait_for("srv.port")
c = tcp_connect(open(tpath("srv.port")).read())
c.sendall(b"early\n")
time.sleep(1)   # outlive the -w deadline: part of the scenario
c.sendall(b"late\n")
c.close()'
	wait_file "$T/ready"
	spawn_listen srv -w 0.5 127.0.0.1 0 </dev/null
	local srv=$BG_PID
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/srv.out")" "$(printf 'early\nlate')"
}

@test "-x: a hex dump with '>' lines for data sent and '<' lines for data received" {
	printf 'world\n' >"$T/in"
	spawn_listen srv 127.0.0.1 0 <"$T/in"
	printf 'hello\nthis is more than sixteen bytes\n' >"$T/q"
	run --separate-stderr sockt connect -x "$T/dump" 127.0.0.1 "$PORT" <"$T/q"
	assert_success
	assert_output "world"
	run cat "$T/dump"
	assert_equal "${#lines[@]}" 4
	assert_line --regexp '^> 00000000  68 65 6c 6c 6f 0a 74 68 +69 73 20 69 73 20 6d 6f +\|hello\.this is mo\|$'
	assert_line --regexp '^> 00000010  72 65 20 74 68 61 6e 20 +73 69 78 74 65 65 6e 20 +\|re than sixteen \|$'
	assert_line --regexp '^> 00000020  62 79 74 65 73 0a +\|bytes\.\|$'
	assert_line --regexp '^< 00000000  77 6f 72 6c 64 0a +\|world\.\|$'
}

@test "listen --hexdump: the same dump on the listening side" {
	printf 'world\n' >"$T/in"
	spawn_listen srv --hexdump "$T/dump" 127.0.0.1 0 <"$T/in"
	local srv=$BG_PID
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'hello\n')
	assert_success
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	run cat "$T/dump"
	assert_equal "${#lines[@]}" 2
	assert_line --regexp '^> 00000000  77 6f 72 6c 64 0a +\|world\.\|$'
	assert_line --regexp '^< 00000000  68 65 6c 6c 6f 0a +\|hello\.\|$'
}

@test "-x -: the hex dump goes to stderr and no file named '-' is created" {
	printf 'world\n' >"$T/in"
	cd "$T"
	spawn_listen srv -x - 127.0.0.1 0 <"$T/in"
	local srv=$BG_PID
	run --separate-stderr sockt connect --hexdump - 127.0.0.1 "$PORT" < <(printf 'hello\n')
	assert_success
	assert_output "world"
	run echo "$stderr"
	assert_equal "${#lines[@]}" 2
	assert_line --regexp '^> 00000000  68 65 6c 6c 6f 0a +\|hello\.\|$'
	assert_line --regexp '^< 00000000  77 6f 72 6c 64 0a +\|world\.\|$'
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/srv.out")" "hello"
	run cat "$T/srv.err"
	assert_equal "${#lines[@]}" 2
	assert_line --regexp '^> 00000000  77 6f 72 6c 64 0a +\|world\.\|$'
	assert_line --regexp '^< 00000000  68 65 6c 6c 6f 0a +\|hello\.\|$'
	[ ! -e "$T/-" ]
}

@test "connect -o: a raw copy of the received bytes beside stdout" {
	random_file "$T/a" 2000000
	spawn_listen srv 127.0.0.1 0 <"$T/a"
	run_out "$T/a.got" sockt connect -o "$T/copy" 127.0.0.1 "$PORT" < <(printf 'not in the copy\n')
	assert_equal "$status" 0
	same_bytes "$T/a" "$T/a.got"
	same_bytes "$T/a" "$T/copy"
}

@test "listen --output: a raw copy of the received bytes beside stdout" {
	random_file "$T/b" 2000000
	spawn_listen srv --output "$T/copy" 127.0.0.1 0 < <(printf 'not in the copy\n')
	local srv=$BG_PID
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" <"$T/b"
	assert_success
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/b" "$T/srv.out"
	same_bytes "$T/b" "$T/copy"
}

@test "an unwritable -o or -x file: one line naming it, exit 1, before connecting" {
	spawn_listen srv -k -v 127.0.0.1 0 </dev/null
	run --separate-stderr sockt connect -o "$T/no/dir/copy" 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "$T/no/dir/copy"
	run --separate-stderr sockt connect -x "$T/no/dir/dump" 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "$T/no/dir/dump"
	# a client that does connect shows up in the listener's -v lines
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	wait_until -- grep -q 'connection from' "$T/srv.err"
	assert_equal "$(grep -c '^sockt: connection from [^ ]*$' "$T/srv.err")" 1
}

@test "listen with an unwritable -o file: one line, exit 1, no listening socket left" {
	run --separate-stderr sockt listen -U -o "$T/no/dir/copy" --port-file "$T/p" "$T/sock" </dev/null
	one_line_error 1 "$T/no/dir/copy"
	[ ! -e "$T/sock" ]
	[ ! -e "$T/p" ]
}

@test "connect -x or -o to a full device (/dev/full): 'write to /dev/full: No space left on device', exit 1" {
	printf 'world\n' >"$T/in"
	local opt
	for opt in -x -o; do
		spawn_listen "srv$opt" 127.0.0.1 0 <"$T/in"
		run --separate-stderr sockt connect "$opt" /dev/full 127.0.0.1 "$PORT" < <(printf 'hello\n')
		one_line_error 1 '^sockt: write to /dev/full: No space left on device$'
		wait_exit "$BG_PID"
	done
}

@test "listen -x or -o to a full device (/dev/full): one line naming it, exit 1; with -k too" {
	local opt keep
	for keep in "" -k; do
		for opt in -x -o; do
			local name="srv$keep$opt"
			spawn_listen "$name" $keep "$opt" /dev/full 127.0.0.1 0 </dev/null
			local srv=$BG_PID
			run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'hello\n')
			wait_exit "$srv"
			assert_equal "$EXIT" 1
			assert_equal "$(cat "$T/$name.err")" "sockt: write to /dev/full: No space left on device"
			[ ! -s "$T/$name.out" ]
		done
	done
}

@test "-s 127.0.0.2: the listener sees the client coming from 127.0.0.2" {
	spawn_listen srv -v 127.0.0.1 0 </dev/null
	local srv=$BG_PID
	run --separate-stderr sockt connect -s 127.0.0.2 127.0.0.1 "$PORT" </dev/null
	assert_success
	wait_exit "$srv"
	grep -Eq '^sockt: connection from 127\.0\.0\.2:[0-9]+$' "$T/srv.err" ||
	    fail "$(cat "$T/srv.err")"
}

@test "connect -p: the connection comes from that source port" {
	local sport
	sport=$(free_port)
	spawn_listen srv -v 127.0.0.1 0 </dev/null
	local srv=$BG_PID
	run --separate-stderr sockt connect -p "$sport" 127.0.0.1 "$PORT" </dev/null
	assert_success
	wait_exit "$srv"
	grep -qx "sockt: connection from 127.0.0.1:$sport" "$T/srv.err" ||
	    fail "$(cat "$T/srv.err")"
}

@test "-P: a final progress line on stderr with the bytes received and sent, percent of a regular file on stdin, rate and time" {
	printf 'world\n' >"$T/in"
	spawn_listen srv 127.0.0.1 0 <"$T/in"
	printf 'hello\nthis is more than sixteen bytes\n' >"$T/q"
	run --separate-stderr sockt connect -P 127.0.0.1 "$PORT" <"$T/q"
	assert_success
	assert_output "world"
	assert_equal "${#stderr_lines[@]}" 1
	[[ "${stderr_lines[0]}" =~ ^sockt:\ 6\ B\ received,\ 38\ B\ of\ 38\ B\ sent\ \(100%\),\ [0-9]+(\.[0-9])?\ (B|KiB|MiB|GiB)/s\ in\ [0-9]+\.[0-9]\ s$ ]] ||
	    fail "progress line: '${stderr_lines[0]}'"
}

@test "stdout closed early: connect ... <bigfile | head -c 10 ends promptly by SIGPIPE (141), quietly" {
	random_file "$T/big" 10000000
	spawn_listen srv 127.0.0.1 0 </dev/zero
	spawn cli bash -c '"$SOCKT" connect 127.0.0.1 "$1" <"$T/big" | head -c 10 >"$T/head"
	    echo "${PIPESTATUS[@]}" >"$T/status"' _ "$PORT"
	wait_exit "$BG_PID"
	assert_equal "$(cat "$T/status")" "141 0"
	assert_equal "$(wc -c <"$T/head")" 10
	[ ! -s "$T/cli.err" ] || fail "stderr: $(cat "$T/cli.err")"
}

@test "stdout closed early: sockt listen | head -c 10 ends promptly by SIGPIPE (141), quietly" {
	spawn srv bash -c '"$SOCKT" listen --port-file "$T/srv.port" 127.0.0.1 0 </dev/null |
	    head -c 10 >"$T/head"; echo "${PIPESTATUS[@]}" >"$T/status"'
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	spawn cli "$SOCKT" connect 127.0.0.1 "$PORT" </dev/zero
	wait_exit "$srv"
	assert_equal "$(cat "$T/status")" "141 0"
	assert_equal "$(wc -c <"$T/head")" 10
	[ ! -s "$T/srv.err" ] || fail "stderr: $(cat "$T/srv.err")"
}

@test "shared stdin and stdout pipes are never left O_NONBLOCK, during the session or after" {
	printf 'hi\n' >"$T/in"
	spawn_listen srv 127.0.0.1 0 <"$T/in"
	run timeout "$DEADLINE" python3 -c 'import os, subprocess, sys
r_in, w_in = os.pipe()
r_out, w_out = os.pipe()
p = subprocess.Popen([os.environ["SOCKT"], "connect", "127.0.0.1", sys.argv[1]],
                     stdin=r_in, stdout=w_out)
got = b""
while not got.endswith(b"hi\n"):   # the session is up
    got += os.read(r_out, 100)
during = (os.get_blocking(r_in), os.get_blocking(w_out))
os.write(w_in, b"bye\n")
os.close(w_in)
p.wait()
after = (os.get_blocking(r_in), os.get_blocking(w_out))
print("during", during, "after", after, "status", p.returncode)' "$PORT"
	assert_success
	assert_output "during (True, True) after (True, True) status 0"
	wait_exit "$BG_PID"
	assert_equal "$(cat "$T/srv.out")" "bye"
}

@test "listen stdin and stdout pipes shared with the shell stay blocking after it exits" {
	run timeout "$DEADLINE" bash -c '
	{
		"$SOCKT" listen --port-file "$T/p" 127.0.0.1 0 <&0 &
		port=$(until [ -s "$T/p" ]; do sleep 0.01; done; cat "$T/p")
		printf "to the listener\n" | "$SOCKT" connect 127.0.0.1 "$port" >"$T/c.out"
		wait $!
		python3 -c "import os; print(os.get_blocking(0), os.get_blocking(1))"
	} < <(printf "from the listener\n") | cat'
	assert_success
	assert_line --index 0 "to the listener"
	assert_line --index 1 "True True"
	assert_equal "$(cat "$T/c.out")" "from the listener"
}

@test "listen -k: two clients in turn each deliver their bytes to stdout, and it keeps listening" {
	random_file "$T/a" 500000
	random_file "$T/b" 500000
	spawn_listen srv -k 127.0.0.1 0 </dev/null
	local srv=$BG_PID
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" <"$T/a"
	assert_success
	wait_until -- test "$(wc -c <"$T/srv.out")" -ge 500000
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" <"$T/b"
	assert_success
	wait_until -- test "$(wc -c <"$T/srv.out")" -ge 1000000
	cat "$T/a" "$T/b" >"$T/ab"
	same_bytes "$T/ab" "$T/srv.out"
	alive "$srv"
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
}

@test "listen -k: a second client is served while the first is still connected" {
	hold_fifo one.in
	local w=$HELD
	spawn_listen srv -k 127.0.0.1 0 </dev/null
	spawn one "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/one.in"
	local one=$BG_PID
	printf 'one: start\n' >&"$w"
	wait_until -- grep -q 'one: start' "$T/srv.out"
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'two\n')
	assert_success
	wait_until -- grep -q two "$T/srv.out"
	printf 'one: end\n' >&"$w"
	release "$w"
	wait_exit "$one"
	assert_equal "$EXIT" 0
	wait_until -- grep -q 'one: end' "$T/srv.out"
	assert_equal "$(cat "$T/srv.out")" "$(printf 'one: start\ntwo\none: end')"
}

@test "SIGTERM: listen -U removes its socket file and dies by SIGTERM (143)" {
	spawn_listen srv -U "$T/sock" </dev/null
	[ -S "$T/sock" ]
	kill -TERM "$BG_PID"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 143
	[ ! -e "$T/sock" ]
}

@test "SIGHUP during a session: connect dies by SIGHUP (129)" {
	hold_fifo cli.in
	spawn_listen srv 127.0.0.1 0 </dev/null
	spawn cli "$SOCKT" connect -v 127.0.0.1 "$PORT" <"$T/cli.in"
	wait_until -- grep -q connected "$T/cli.err"
	kill -HUP "$BG_PID"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 129
}
