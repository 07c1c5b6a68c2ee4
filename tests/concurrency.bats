#!/usr/bin/env bats
# listen -k at scale, --broker, --max-conns, --allow/--deny (issue 3).

load helper

# count_lines FILE PATTERN: how many lines of FILE match PATTERN.
count_lines() {
	grep -c -- "$2" "$1" 2>/dev/null || true
}

# wait_lines FILE PATTERN N: wait until N lines of FILE match PATTERN.
wait_lines() {
	wait_until -- eval "[ \"\$(count_lines '$1' '$2')\" -ge $3 ]"
}

@test "listen -k: 1000 concurrent clients each deliver their line whole and each get the broadcast" {
	run python3 "$BATS_TEST_DIRNAME/manyclients.py" \
	    --server "$SOCKT listen -k 127.0.0.1 {port}" --clients 1000 \
	    --broadcast-bytes 100000
	assert_success
	assert_output --regexp 'connected=1000 lines_ok=True broadcast_ok=1000 rss_kib=[0-9]+ eof_ok=1000'
}

@test "listen -k: a client that half-closes is closed in turn; one that leaves or resets never disturbs the others" {
	hold_fifo in
	in=$HELD
	spawn srv "$SOCKT" listen -k -v --port-file "$T/port" 127.0.0.1 0 <"$T/in"
	PORT=$(wait_port "$T/port")
	spawn stay "$SOCKT" connect -d 127.0.0.1 "$PORT"
	stay=$BG_PID
	wait_lines "$T/srv.err" "connection from" 1
	# a client that resets its connection
	python3 -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$PORT"
	# one that says something and leaves
	printf 'bye\n' | sockt connect -q 0 127.0.0.1 "$PORT"
	wait_lines "$T/srv.err" "closed" 2
	printf 'still here\n' >&"$in"
	wait_until -- grep -q 'still here' "$T/stay.out"
	release "$in"
	wait_exit "$stay"
	[ "$EXIT" -eq 0 ]
	run cat "$T/stay.out"
	assert_output 'still here'
	run cat "$T/srv.out"
	assert_output 'bye'
}

@test "listen --broker: each of 3 clients receives exactly the other two's lines" {
	bg srv sockt listen --broker -v --port-file "$T/port" 127.0.0.1 0 </dev/null
	PORT=$(wait_port "$T/port")
	for c in a b c; do
		hold_fifo "$c.in"
		eval "fd_$c=$HELD"
	done
	for c in a b c; do
		spawn "$c" "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/$c.in"
		eval "pid_$c=$BG_PID"
	done
	wait_lines "$T/srv.err" "connection from" 3
	for c in a b c; do
		eval "printf 'line from %s\n' $c >&\$fd_$c"
	done
	for c in a b c; do
		wait_until -- eval "[ \$(wc -l <'$T/$c.out') -ge 2 ]"
	done
	for c in a b c; do
		eval "release \$fd_$c"
	done
	for c in a b c; do
		eval "wait_exit \$pid_$c"
		[ "$EXIT" -eq 0 ]
	done
	run sort "$T/a.out"
	assert_output $'line from b\nline from c'
	run sort "$T/b.out"
	assert_output $'line from a\nline from c'
	run sort "$T/c.out"
	assert_output $'line from a\nline from b'
	run sort "$T/srv.out"
	assert_output $'line from a\nline from b\nline from c'
}

@test "listen --broker --recv-only: 3 clients' lines reach stdout only, none is relayed to another client" {
	bg srv sockt listen --broker --recv-only -v --port-file "$T/port" 127.0.0.1 0 </dev/null
	srv=$BG_PID
	PORT=$(wait_port "$T/port")
	for c in a b c; do
		hold_fifo "$c.in"
		eval "fd_$c=$HELD"
	done
	for c in a b c; do
		spawn "$c" "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/$c.in"
		eval "pid_$c=$BG_PID"
	done
	wait_lines "$T/srv.err" "connection from" 3
	for c in a b c; do
		eval "printf 'line from %s\n' $c >&\$fd_$c"
	done
	wait_lines "$T/srv.out" "line from" 3
	for c in a b c; do
		eval "release \$fd_$c"
	done
	for c in a b c; do
		eval "wait_exit \$pid_$c"
		[ "$EXIT" -eq 0 ]
		[ ! -s "$T/$c.out" ] || fail "$c received: $(cat "$T/$c.out")"
	done
	run sort "$T/srv.out"
	assert_output $'line from a\nline from b\nline from c'
}

@test "listen --broker: a client that never reads is dropped and the others get every byte" {
	random_file "$T/data" 20000000
	bg srv sockt listen --broker -v --port-file "$T/port" 127.0.0.1 0 </dev/null
	srv=$BG_PID
	PORT=$(wait_port "$T/port")
	bg stalled python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
time.sleep(600)  # never reads; killed in teardown' "$PORT"
	bg recv sockt connect -d 127.0.0.1 "$PORT"
	wait_lines "$T/srv.err" "connection from" 2
	sockt connect 127.0.0.1 "$PORT" <"$T/data"
	wait_until -- eval "[ \$(stat -c %s '$T/recv.out') -ge 20000000 ]"
	[ "$(checksum "$T/recv.out")" = "$(checksum "$T/data")" ]
	wait_lines "$T/srv.err" "too slow, dropped" 1
	# the broker's memory stayed bounded (well under the 20 MB relayed)
	rss=$(awk '/VmHWM/ {print $2}' "/proc/$srv/status")
	[ "$rss" -lt 40000 ]
}

@test "listen --max-conns 0: every client is closed at once and logged" {
	bg srv sockt listen -k -v --max-conns 0 --port-file "$T/port" 127.0.0.1 0 </dev/null
	PORT=$(wait_port "$T/port")
	run sockt connect -d 127.0.0.1 "$PORT"
	assert_success
	assert_output ''
	wait_lines "$T/srv.err" "refused 127.0.0.1:[0-9]*: --max-conns 0 reached" 1
}

@test "listen --max-conns 1: a second client is refused until the first leaves" {
	hold_fifo in
	in=$HELD
	spawn srv "$SOCKT" listen -k -v --max-conns 1 --port-file "$T/port" 127.0.0.1 0 <"$T/in"
	PORT=$(wait_port "$T/port")
	hold_fifo first.in
	first_in=$HELD
	spawn first "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/first.in"
	first=$BG_PID
	wait_lines "$T/srv.err" "connection from" 1
	run sockt connect -d 127.0.0.1 "$PORT"
	assert_success
	assert_output ''
	wait_lines "$T/srv.err" "--max-conns 1 reached" 1
	# the first leaves: its slot frees
	printf 'one\n' >&"$first_in"
	release "$first_in"
	wait_exit "$first"
	[ "$EXIT" -eq 0 ]
	wait_lines "$T/srv.err" "closed" 1
	run sockt connect 127.0.0.1 "$PORT" <<<'two'
	assert_success
	release "$in"
	run cat "$T/srv.out"
	assert_output $'one\ntwo'
}

@test "listen --max-conns 10: ten clients are served and the eleventh is refused" {
	hold_fifo in
	in=$HELD
	spawn srv "$SOCKT" listen -k -v --max-conns 10 --port-file "$T/port" 127.0.0.1 0 <"$T/in"
	PORT=$(wait_port "$T/port")
	for i in $(seq 10); do
		spawn "c$i" "$SOCKT" connect -d 127.0.0.1 "$PORT"
	done
	wait_lines "$T/srv.err" "connection from" 10
	run sockt connect -d 127.0.0.1 "$PORT"
	assert_success
	assert_output ''
	wait_lines "$T/srv.err" "--max-conns 10 reached" 1
	[ "$(count_lines "$T/srv.err" "connection from")" -eq 10 ]
	printf 'hi\n' >&"$in"
	for i in $(seq 10); do
		wait_until -- grep -q hi "$T/c$i.out"
	done
	release "$in"
}

@test "listen --allow/--deny: IPv4 clients admitted and refused by address" {
	bg srv sockt listen -k -v --allow 127.0.0.0/8 --deny 127.0.0.3 \
	    --port-file "$T/port" 0 </dev/null
	PORT=$(wait_port "$T/port")
	run sockt connect -s 127.0.0.2 127.0.0.1 "$PORT" <<<'from two'
	assert_success
	run sockt connect -d -s 127.0.0.3 127.0.0.1 "$PORT"
	assert_success
	wait_lines "$T/srv.err" "refused 127.0.0.3:[0-9]*: not allowed by --allow/--deny" 1
	wait_until -- grep -q 'from two' "$T/srv.out"
	run cat "$T/srv.out"
	assert_output 'from two'
}

@test "listen --allow: only the named network is admitted, IPv6 too" {
	bg srv sockt listen -k -v --allow 127.0.0.2/32 --allow ::1/128 \
	    --port-file "$T/port" 0 </dev/null
	PORT=$(wait_port "$T/port")
	run sockt connect -d 127.0.0.1 "$PORT"
	assert_success
	wait_lines "$T/srv.err" "refused 127.0.0.1:" 1
	run sockt connect ::1 "$PORT" <<<'over v6'
	assert_success
	wait_until -- grep -q 'over v6' "$T/srv.out"
	[ "$(count_lines "$T/srv.err" "connection from \[::1\]:[0-9]*$")" -eq 1 ]
}

@test "listen --deny: an IPv6 address is refused while IPv4 is served" {
	bg srv sockt listen -k -v --deny ::1 --port-file "$T/port" 0 </dev/null
	PORT=$(wait_port "$T/port")
	run sockt connect -d ::1 "$PORT"
	assert_success
	wait_lines "$T/srv.err" 'refused \[::1\]' 1
	run sockt connect 127.0.0.1 "$PORT" <<<'v4 ok'
	assert_success
	wait_until -- grep -q 'v4 ok' "$T/srv.out"
}

# acl_server ADDRESS RULES...: a fresh "listen -k -v RULES" on ADDRESS
# ("" for every address: 0.0.0.0 and ::); sets $PORT.
acl_server() {
	local addr=$1
	shift
	[ -z "${ACL_SRV:-}" ] || { kill "$ACL_SRV"; wait "$ACL_SRV" || true; }
	: >"$T/srv.err"
	bg srv sockt listen -k -v "$@" --port-file "$T/port" $addr 0 </dev/null
	ACL_SRV=$BG_PID
	PORT=$(wait_port "$T/port")
	rm -f "$T/port"
}

# acl_verdict HOST SHOWN: connect from HOST (127.0.0.1 or ::1) and print
# "admitted" or "refused" as the server's -v line about SHOWN says.
acl_verdict() {
	local host=$1 shown=$2
	sockt connect "$host" "$PORT" <<<"from $host" >/dev/null 2>&1 || true
	wait_until -- grep -qE "(connection from|refused) $shown:[0-9]+" \
	    "$T/srv.err"
	if grep -qE "refused $shown:[0-9]+" "$T/srv.err"; then
		echo refused
	else
		echo admitted
	fi
}

@test "listen --deny: v4-mapped rules (::ffff:127.0.0.1, /104, ::ffff:0:0/96) refuse a 127.0.0.1 client" {
	local rule
	for rule in ::ffff:127.0.0.1 ::ffff:127.0.0.1/104 ::ffff:0:0/96; do
		acl_server 127.0.0.1 --deny "$rule"
		assert_equal "$rule $(acl_verdict 127.0.0.1 127.0.0.1)" \
		    "$rule refused"
		# every address: IPv4 refused, IPv6 still served
		acl_server "" --deny "$rule"
		assert_equal "$rule $(acl_verdict 127.0.0.1 127.0.0.1)" \
		    "$rule refused"
		assert_equal "$rule $(acl_verdict ::1 '\[::1\]')" \
		    "$rule admitted"
	done
}

@test "listen --allow: v4-mapped and IPv4 spellings of a rule admit the same clients" {
	local rule
	for rule in ::ffff:127.0.0.1 ::ffff:127.0.0.0/104 ::ffff:0:0/96 \
	    127.0.0.1 127.0.0.0/8 0.0.0.0/0; do
		acl_server "" --allow "$rule"
		assert_equal "$rule $(acl_verdict 127.0.0.1 127.0.0.1)" \
		    "$rule admitted"
		assert_equal "$rule $(acl_verdict ::1 '\[::1\]')" \
		    "$rule refused"
	done
	grep -q 'from 127.0.0.1' "$T/srv.out"
}

@test "listen --deny: IPv4 rules never match an IPv6 client, ::1 rules never an IPv4 one" {
	local rule
	for rule in 127.0.0.0/8 0.0.0.0/0 ::ffff:0:0/96; do
		acl_server "" --deny "$rule"
		assert_equal "$rule $(acl_verdict ::1 '\[::1\]')" \
		    "$rule admitted"
	done
	acl_server "" --deny ::1 --deny ::/127
	assert_equal "$(acl_verdict 127.0.0.1 127.0.0.1)" admitted
	assert_equal "$(acl_verdict ::1 '\[::1\]')" refused
}

@test "listen --allow: a bad CIDR is a usage error" {
	run sockt listen --allow 10.0.0.0/33 0
	assert_failure 2
	assert_output --partial "sockt: bad --allow '10.0.0.0/33'"
}
