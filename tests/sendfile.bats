#!/usr/bin/env bats
# tests/sendfile.bats - send-file: --raw pushes over plain TCP to sockt
# listen, nc.openbsd and python3 peers (exact bytes, done only once the
# peer has every byte and closed), resets, stalls, refused connections,
# bad files and usage errors.
load helper
bats_require_minimum_version 1.5.0

# nc_listen_port: the port of "nc.openbsd -l -v ... 0" started as peer.
nc_listen_port() {
	wait_until -- grep -q '^Listening on' "$T/peer.err" || return 1
	awk '/^Listening on/ { print $NF }' "$T/peer.err"
}

# ---- --raw -----------------------------------------------------------

@test "send-file --raw: every byte of a 20 MB file reaches sockt listen, exit 0, nothing said" {
	random_file "$T/big" 20000000
	spawn_listen srv 127.0.0.1 0 </dev/null
	SRV=$BG_PID
	run --separate-stderr sockt send-file --raw "$T/big" 127.0.0.1 "$PORT"
	assert_equal "$status" 0
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$T/big" "$T/srv.out"
}

@test "send-file --raw: HOST:PORT, an empty file, and a peer that talks back (discarded)" {
	: >"$T/empty"
	printf 'hello from the peer\n' >"$T/greeting"
	spawn_listen srv 127.0.0.1 0 <"$T/greeting"
	SRV=$BG_PID
	run --separate-stderr sockt send-file --raw "$T/empty" "127.0.0.1:$PORT"
	assert_equal "$status" 0
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	[ -f "$T/srv.out" ] && [ ! -s "$T/srv.out" ]
}

@test "send-file --raw -: stdin, from a pipe and from a file, byte for byte" {
	random_file "$T/a" 3000000
	spawn_listen srv 127.0.0.1 0 </dev/null
	SRV=$BG_PID
	run --separate-stderr bash -c 'cat "$1" | "$SOCKT" send-file --raw - 127.0.0.1 "$2"' _ "$T/a" "$PORT"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$SRV"
	same_bytes "$T/a" "$T/srv.out"

	spawn_listen srv2 127.0.0.1 0 </dev/null
	SRV=$BG_PID
	run --separate-stderr sockt send-file --raw - 127.0.0.1 "$PORT" <"$T/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$SRV"
	same_bytes "$T/a" "$T/srv2.out"
}

@test "send-file --raw: every byte reaches nc.openbsd -l, both exit 0" {
	needs nc.openbsd
	random_file "$T/a" 5000000
	spawn peer nc.openbsd -l -n -v 127.0.0.1 0 </dev/null
	PEER=$BG_PID
	local port
	port=$(nc_listen_port)
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 "$port"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/peer.out"
}

@test "send-file --raw: waits for the peer to close after it has every byte" {
	random_file "$T/a" 100000
	hold_fifo in
	spawn_listen srv 127.0.0.1 0 <"$T/in"
	SRV=$BG_PID
	spawn send "$SOCKT" send-file -vv --raw "$T/a" 127.0.0.1 "$PORT"
	SEND=$BG_PID
	# the peer has acknowledged everything, yet has not closed its side
	wait_until -- grep -q 'acknowledged every byte' "$T/send.err"
	alive "$SEND" || fail "send-file ended before the peer closed: $(cat "$T/send.err")"
	release "$HELD"
	wait_exit "$SEND"
	assert_equal "$EXIT" 0
	wait_exit "$SRV"
	same_bytes "$T/a" "$T/srv.out"
}

@test "send-file --raw: a peer that resets mid-stream is exit 1, one line with what it acknowledged" {
	random_file "$T/big" 33554432
	py_listen_bg rcv '
c = accept_one(PORTFILE)
got = 0
while got < 65536:
    d = c.recv(65536)
    if not d:
        break
    got += len(d)
reset(c)
'
	run --separate-stderr sockt send-file --raw "$T/big" 127.0.0.1 "$PORT"
	one_line_error 1 "127\.0\.0\.1:$PORT: (Connection reset by peer|Broken pipe).*; the peer acknowledged ([0-9]+) of 33554432 bytes$"
	local acked=${BASH_REMATCH[2]}
	[ "$acked" -ge 65536 ] && [ "$acked" -lt 33554432 ] ||
	    fail "acknowledged $acked"
}

@test "send-file --raw -w 1: a peer that stops reading is exit 1 once nothing is acknowledged for 1 s" {
	random_file "$T/big" 33554432
	py_listen_bg rcv '
c = accept_one(PORTFILE)
c.recv(65536)
wait_for("never")
'
	run --separate-stderr sockt send-file -w 1 --raw "$T/big" 127.0.0.1 "$PORT"
	one_line_error 1 "^sockt: 127\.0\.0\.1:$PORT: no acknowledgement for 1\.000 s \(-w\); the peer acknowledged [0-9]+ of 33554432 bytes$"
}

@test "send-file --raw -i 1: a peer that has every byte but never closes is exit 1" {
	printf 'twelve bytes' >"$T/a"
	hold_fifo in
	spawn_listen srv 127.0.0.1 0 <"$T/in"
	run --separate-stderr sockt send-file -i 1 --raw "$T/a" 127.0.0.1 "$PORT"
	one_line_error 1 "^sockt: idle timeout: no traffic for 1\.000 s; the peer acknowledged 12 of 12 bytes$"
	same_bytes "$T/a" "$T/srv.out"
}

@test "send-file --raw -P: the last progress line says the size and 100%" {
	random_file "$T/a" 1000000
	spawn_listen srv 127.0.0.1 0 </dev/null
	run --separate-stderr sockt send-file -P --raw "$T/a" 127.0.0.1 "$PORT"
	assert_equal "$status" 0
	[[ "${stderr_lines[-1]}" =~ ^sockt:\ $T/a:\ 1\.0MB\ of\ 1\.0MB\ \(100%\),\ .*B/s\ in\ [0-9]+\.[0-9]\ s$ ]] ||
	    fail "last line: ${stderr_lines[-1]}"
}

@test "send-file --raw: a refused connection is exit 1, one line" {
	random_file "$T/a" 1000
	local port
	port=$(free_port)
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 "$port"
	one_line_error 1 "^sockt: connect 127\.0\.0\.1:$port: Connection refused$"
}

@test "send-file --raw: a missing file or a directory is exit 1, one line, and nothing is dialled" {
	spawn_listen srv -v 127.0.0.1 0 </dev/null
	run --separate-stderr sockt send-file --raw "$T/nope" 127.0.0.1 "$PORT"
	one_line_error 1 "^sockt: $T/nope: No such file or directory$"
	run --separate-stderr sockt send-file --raw "$T" 127.0.0.1 "$PORT"
	one_line_error 1 "^sockt: $T: Is a directory$"
	run ! grep -q 'connection from' "$T/srv.err"
}

@test "send-file: usage errors are exit 2, one line" {
	printf x >"$T/a"
	run --separate-stderr sockt send-file --raw "$T/a"
	one_line_error 2 "^sockt: missing FILE, HOST and PORT \(see 'sockt send-file --help'\)$"
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1
	one_line_error 2 "^sockt: missing PORT after '127\.0\.0\.1'"
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 0
	one_line_error 2 "^sockt: bad port '0'"
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 70000
	one_line_error 2 "^sockt: bad port '70000'"
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 9 10
	one_line_error 2 "^sockt: too many arguments: '10'"
	run --separate-stderr sockt send-file --raw -k "$T/a" 127.0.0.1 9
	one_line_error 2 "^sockt: unknown option -k"
}

@test "send-file --help: usage, the options, exit 0" {
	run --separate-stderr sockt send-file --help
	assert_equal "$status" 0
	assert_line --index 0 --partial "usage: sockt send-file "
	assert_output --partial "--raw"
	assert_equal "$stderr" ""
}
