#!/usr/bin/env bats
# tests/udp.bats - udp-send and udp-recv: exact datagram boundaries on
# IPv4, IPv6 and Unix datagram sockets, replies and echoes, many senders,
# stdin lines to the latest sender, timeouts, access lists, broadcast and
# multicast (in network namespaces made here), interop with nc -u, socat
# and python3, and the errors for input that cannot work.

bats_require_minimum_version 1.5.0
load helper

# Keep the helper's teardown and add the network namespaces made here.
eval "helper_$(declare -f teardown)"
teardown() {
	local ns
	helper_teardown
	if [ -f "$T/.netns" ]; then
		while read -r ns; do
			ip netns del "$ns" 2>/dev/null || true
		done <"$T/.netns"
	fi
}

# recv_bg NAME ARGS...: "sockt udp-recv --port-file $T/NAME.port ARGS" in
# the background (ARGS end with the port, usually 0); sets $PORT and
# $BG_PID (sockt's own pid).  Give stdin with a redirection.
recv_bg() {
	local name=$1
	shift
	spawn "$name" "$SOCKT" udp-recv --port-file "$T/$name.port" "$@"
	PORT=$(wait_port "$T/$name.port") || return 1
}

# udp_port_of PID: wait until process PID has bound a UDP port, print it
# (for peers such as nc and socat that do not report port 0).
udp_port_of() {
	local pid=$1 port end=$((SECONDS + DEADLINE))
	while :; do
		port=$(ss -Hlunp 2>/dev/null | grep "pid=$pid," |
		    awk '{ n = split($4, a, ":"); print a[n]; exit }')
		[ -n "$port" ] && { echo "$port"; return 0; }
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out waiting for pid $pid to bind" >&2
			return 1
		fi
		sleep 0.01
	done
}

# has_bytes FILE N: FILE holds at least N bytes.
has_bytes() {
	[ -f "$1" ] && [ "$(wc -c <"$1")" -ge "$2" ]
}

# closed_port HOST: a UDP port on HOST that was just in use and is not
# any more (a udp-recv that received its one datagram and left).
closed_port() {
	recv_bg "gone$1" --count 1 "$1" 0 </dev/null
	printf 'x\n' | sockt udp-send -q 0 "$1" "$PORT"
	wait_exit "$BG_PID"
	echo "$PORT"
}

# netns_pair: two network namespaces joined by a veth pair: $NS_A with
# va 10.77.0.1/24 fd77::1/64, $NS_B with vb 10.77.0.2/24 fd77::2/64.
# Skips the test where namespaces cannot be made (not root).
netns_pair() {
	NS_A=sockt-udp-$$-$BATS_TEST_NUMBER-a
	NS_B=sockt-udp-$$-$BATS_TEST_NUMBER-b
	ip netns add "$NS_A" 2>/dev/null ||
	    skip "network namespaces are not available (needs root)"
	echo "$NS_A" >>"$T/.netns"
	ip netns add "$NS_B"
	echo "$NS_B" >>"$T/.netns"
	ip -n "$NS_A" link add va type veth peer name vb netns "$NS_B"
	ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.va.accept_dad=0
	ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.vb.accept_dad=0
	ip -n "$NS_A" addr add 10.77.0.1/24 dev va
	ip -n "$NS_A" addr add fd77::1/64 dev va nodad
	ip -n "$NS_B" addr add 10.77.0.2/24 dev vb
	ip -n "$NS_B" addr add fd77::2/64 dev vb nodad
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" link set va up
	ip -n "$NS_B" link set vb up
	# the carrier comes up a moment later; IPv6 waits for it
	wait_until -- link_ready "$NS_A" va
	wait_until -- link_ready "$NS_B" vb
}

# link_ready NS DEV: DEV is operationally up with its IPv6 link-local
# address usable.
link_ready() {
	ip -n "$1" link show "$2" | grep -q 'state UP' &&
	    ip -n "$1" -6 addr show dev "$2" scope link | grep -q 'inet6 fe80' &&
	    ! ip -n "$1" -6 addr show dev "$2" | grep -q tentative
}

# in_ns NS CMD...: CMD inside network namespace NS.  (To start one in
# the background, spawn "ip netns exec NS CMD" itself: ip execs CMD, so
# the pid is CMD's.)
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# Python: a UDP receiver that reports its port, then writes one line per
# datagram, "LENGTH SHA256", to $T/NAME.got once COUNT have arrived.
PY_RECV_LENGTHS='
import hashlib
host, count = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((host, 0))
report_port(s, tpath(NAME + ".port"))
lines = []
for i in range(count):
    d = s.recv(1 << 17)
    lines.append("%d %s" % (len(d), hashlib.sha256(d).hexdigest()))
save(NAME + ".got", ("\n".join(lines) + "\n").encode())
'

# ---- udp-send / udp-recv: boundaries --------------------------------------

@test "udp-send: one datagram per line, newline kept, empty line and last line without newline" {
	recv_bg r --count 4 --peer 127.0.0.1 0 </dev/null
	run --separate-stderr sockt udp-send -q 0 127.0.0.1 "$PORT" \
	    < <(printf 'a\n\nbb\nccc')
	assert_success
	assert_equal "$stderr" ""
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	src=$(head -n1 "$T/r.out" | cut -f1)
	[[ "$src" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "bad sender '$src'"
	printf '%s\ta\n%s\t\n%s\tbb\n%s\tccc\n' "$src" "$src" "$src" "$src" \
	    >"$T/want"
	same_bytes "$T/want" "$T/r.out"
}

@test "udp-send: lines split across reads are joined before sending" {
	hold_fifo in
	recv_bg r --count 2 --peer 127.0.0.1 0 </dev/null
	local r=$BG_PID
	spawn s "$SOCKT" udp-send -q 0 127.0.0.1 "$PORT" <"$T/in"
	local s=$BG_PID
	printf 'hel' >&"$HELD"
	printf 'lo\nwor' >&"$HELD"
	wait_until -- has_bytes "$T/r.out" 1
	printf 'ld\n' >&"$HELD"
	release "$HELD"
	wait_exit "$s"
	assert_equal "$EXIT" 0
	wait_exit "$r"
	assert_equal "$(cut -f2 "$T/r.out")" "$(printf 'hello\nworld')"
}

# sized_exchange HOST SIZE: three datagrams of SIZE bytes with --size go
# out and come in whole: exactly three arrive and hold every byte.
sized_exchange() {
	random_file "$T/in$1" $((3 * $2))
	recv_bg "r$1" --count 3 "$1" 0 </dev/null
	run --separate-stderr sockt udp-send --size "$2" -q 0 "$1" "$PORT" \
	    <"$T/in$1"
	assert_success
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	same_bytes "$T/in$1" "$T/r$1.out"
}

@test "udp-send --size / udp-recv: 1-byte datagrams arrive whole, IPv4 and IPv6" {
	sized_exchange 127.0.0.1 1
	sized_exchange ::1 1
}

@test "udp-send --size / udp-recv: 1,400-byte datagrams arrive whole, IPv4 and IPv6" {
	sized_exchange 127.0.0.1 1400
	sized_exchange ::1 1400
}

@test "udp-send --size / udp-recv: 65,000-byte datagrams arrive whole, IPv4 and IPv6" {
	sized_exchange 127.0.0.1 65000
	sized_exchange ::1 65000
}

@test "udp-send --size: the last datagram is the short remainder" {
	random_file "$T/in" 2500
	recv_bg r --count 3 -vv 127.0.0.1 0 </dev/null
	run sockt udp-send --size 1000 -q 0 127.0.0.1 "$PORT" <"$T/in"
	assert_success
	wait_exit "$BG_PID"
	same_bytes "$T/in" "$T/r.out"
	run grep -c ' bytes from ' "$T/r.err"
	assert_output 3
	run grep -o '^sockt: [0-9]* bytes from' "$T/r.err"
	assert_output "$(printf 'sockt: 1000 bytes from\nsockt: 1000 bytes from\nsockt: 500 bytes from')"
}

@test "udp-send --whole: 65,507 bytes is one IPv4 datagram, 65,527 one IPv6 datagram" {
	random_file "$T/in4" 65507
	recv_bg r4 --count 1 127.0.0.1 0 </dev/null
	run sockt udp-send --whole -q 0 127.0.0.1 "$PORT" <"$T/in4"
	assert_success
	wait_exit "$BG_PID"
	same_bytes "$T/in4" "$T/r4.out"
	random_file "$T/in6" 65527
	recv_bg r6 --count 1 ::1 0 </dev/null
	run sockt udp-send --whole -q 0 ::1 "$PORT" <"$T/in6"
	assert_success
	wait_exit "$BG_PID"
	same_bytes "$T/in6" "$T/r6.out"
}

@test "udp-send --whole: an empty stdin is one empty datagram" {
	recv_bg r --count 1 --peer 127.0.0.1 0 </dev/null
	run sockt udp-send --whole -q 0 127.0.0.1 "$PORT" </dev/null
	assert_success
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	run cat "$T/r.out"
	assert_output --regexp $'^127\\.0\\.0\\.1:[0-9]+\t$'
}

@test "udp-send --whole past 65,507 bytes (IPv4): one line, exit 2, nothing sent" {
	recv_bg r 127.0.0.1 0 </dev/null
	local r=$BG_PID
	head -c 65508 /dev/zero >"$T/in"
	run --separate-stderr sockt udp-send --whole -q 0 127.0.0.1 "$PORT" \
	    <"$T/in"
	one_line_error 2 "^sockt: stdin is larger than 65507 bytes, the most one IPv4 datagram holds \(--whole\)$"
	head -c 65528 /dev/zero >"$T/in"
	run --separate-stderr sockt udp-send --whole -q 0 ::1 9 <"$T/in"
	one_line_error 2 "^sockt: stdin is larger than 65527 bytes, the most one IPv6 datagram holds \(--whole\)$"
	assert_equal "$(wc -c <"$T/r.out")" 0
	kill "$r"
	wait "$r" || true
}

@test "udp-send --size larger than an IPv4 datagram: usage error, exit 2" {
	run --separate-stderr sockt udp-send --size 65508 127.0.0.1 9 </dev/null
	one_line_error 2 "^sockt: bad --size 65508: one IPv4 datagram holds at most 65507 bytes"
	run --separate-stderr sockt udp-send --whole --size 10 127.0.0.1 9
	one_line_error 2 "^sockt: cannot use --whole with --size"
}

@test "udp-send: a line longer than a datagram is an error, exit 1; the lines before it went out" {
	recv_bg r --count 1 127.0.0.1 0 </dev/null
	{ printf 'first\n'; head -c 70000 /dev/zero | tr '\0' x; } >"$T/in"
	run --separate-stderr sockt udp-send -q 0 127.0.0.1 "$PORT" <"$T/in"
	one_line_error 1 "^sockt: a line of stdin is longer than 65507 bytes, the most one IPv4 datagram holds \(see --size\)$"
	wait_exit "$BG_PID"
	assert_equal "$(cat "$T/r.out")" first
}

# ---- replies, echo, peers --------------------------------------------------

@test "udp-recv --echo / udp-send --count: every line comes back, IPv4 and IPv6" {
	local host
	for host in 127.0.0.1 ::1; do
		recv_bg "r$host" --echo --count 3 "$host" 0 </dev/null
		run --separate-stderr sockt udp-send --count 3 -q 20 "$host" \
		    "$PORT" < <(printf 'one\ntwo\nthree\n')
		assert_success
		assert_equal "$output" "$(printf 'one\ntwo\nthree')"
		wait_exit "$BG_PID"
		assert_equal "$EXIT" 0
		assert_equal "$(cat "$T/r$host.out")" "$(printf 'one\ntwo\nthree')"
	done
}

@test "udp-recv --echo: 1, 1,400 and 65,000-byte datagrams come back whole (python3 peer)" {
	local host
	for host in 127.0.0.1 ::1; do
		recv_bg "r$host" --echo --count 3 "$host" 0 </dev/null
		local r=$BG_PID
		py_bg "p$host" '
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(20)
sent = [os.urandom(n) for n in (1, 1400, 65000)]
for d in sent:
    s.sendto(d, (host, port))
got = [s.recv(1 << 17) for d in sent]
save(NAME + ".got", b"".join(b"%d %s\n" % (len(g), b"same" if g == d else b"DIFFERENT") for g, d in zip(got, sent)))
' "$host" "$PORT"
		wait_exit "$BG_PID"
		assert_equal "$EXIT" 0
		assert_equal "$(cat "$T/p$host.got")" "$(printf '1 same\n1400 same\n65000 same')"
		wait_exit "$r"
		assert_equal "$EXIT" 0
	done
}

# echo_loop_over A B: the loop between udp-recv A and B has ended (one of
# them refused an echo), or one of them has exited.
echo_loop_over() {
	grep -q 'not echoing' "$T/a.err" "$T/b.err" || ! alive "$1" ||
	    ! alive "$2"
}

@test "udp-recv --echo: two echoes looped by one spoofed datagram stop after the burst" {
	[ "$(id -u)" -eq 0 ] ||
	    skip "spoofing a datagram's source takes a raw socket (root)"
	recv_bg a -v --echo --peer --count 20000 127.0.0.1 0 </dev/null
	local pa=$PORT a=$BG_PID
	recv_bg b -v --echo --peer --count 20000 127.0.0.1 0 </dev/null
	local pb=$PORT b=$BG_PID
	# one datagram to A that claims to come from B (a raw socket writes
	# the UDP header; the kernel adds the IP one from 127.0.0.1)
	python3 -c '
import socket, struct, sys
pa, pb = int(sys.argv[1]), int(sys.argv[2])
data = b"loop\n"
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(struct.pack("!HHHH", pb, pa, 8 + len(data), 0) + data, ("127.0.0.1", 0))
' "$pa" "$pb"
	# one datagram circulates: the first echo refused ends the loop
	wait_until -- echo_loop_over "$a" "$b"
	alive "$a" && alive "$b" ||
	    fail "an echo reached --count 20000: the loop never ended"
	# a third sender still gets its echo from both, and once its line is
	# written, everything before it is
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
for port in sys.argv[1:]:
    s.sendto(b"end\n", ("127.0.0.1", int(port)))
    assert s.recv(100) == b"end\n"
' "$pa" "$pb"
	wait_until -- grep -q $'\tend$' "$T/a.out"
	wait_until -- grep -q $'\tend$' "$T/b.out"
	local ab ba
	ab=$(grep -c $'^127.0.0.1:'"$pb"$'\tloop$' "$T/a.out")
	ba=$(grep -c $'^127.0.0.1:'"$pa"$'\tloop$' "$T/b.out")
	# the side that ran dry echoed its burst of 1,000 (plus what 100 a
	# second added meanwhile); the other one echoed no more than that
	[ "$ab" -le 1500 ] && [ "$ba" -le 1500 ] ||
	    fail "A got $ab and B got $ba looped datagrams: not bounded"
	[ "$ab" -gt 1000 ] || [ "$ba" -gt 1000 ] ||
	    fail "A got $ab and B got $ba: the loop ended before a burst"
	run cat "$T/a.err" "$T/b.err"
	assert_equal "$(grep -c 'not echoing' <<<"$output")" 1
	assert_output --regexp "sockt: not echoing to 127\.0\.0\.1:($pa|$pb): more than 1000 echoes at once or 100 a second \(an echo loop\?\)"
}

@test "udp-recv --echo: a sender at the echo, daytime, qotd, chargen or time port gets no echo" {
	[ "$(id -u)" -eq 0 ] || skip "binding a port below 1024 takes root"
	recv_bg r -v --echo --peer --count 2 127.0.0.1 0 </dev/null
	python3 -c '
import socket, sys
port = int(sys.argv[1])
for p in (7, 19, 13, 17, 37):
    s7 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s7.bind(("127.0.0.1", p))
        break
    except OSError:
        s7.close()
else:
    sys.exit("no service port free")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
s7.sendto(b"from a service port\n", ("127.0.0.1", port))
s.sendto(b"ok\n", ("127.0.0.1", port))
assert s.recv(100) == b"ok\n"
# the echo to the service port, had there been one, went out first
s7.setblocking(False)
try:
    print("echoed to %d: %r" % (p, s7.recv(100)))
except BlockingIOError:
    print("%d: no echo" % p)
' "$PORT" >"$T/py.out"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	run cat "$T/py.out"
	assert_output --regexp '^(7|19|13|17|37): no echo$'
	local p=${output%%:*}
	run cut -f2 "$T/r.out"
	assert_output "$(printf 'from a service port\nok')"
	run grep 'not echoing' "$T/r.err"
	assert_output "sockt: not echoing to 127.0.0.1:$p: that port answers every datagram (an echo loop)"
}

@test "udp-send: sockt's datagrams of 1, 1,400 and 65,000 bytes arrive whole at a python3 receiver" {
	local host n
	for host in 127.0.0.1 ::1; do
		py_bg "p$host" "$PY_RECV_LENGTHS" "$host" 3
		PORT=$(wait_port "$T/p$host.port")
		: >"$T/want"
		for n in 1 1400 65000; do
			random_file "$T/d$n" "$n"
			run sockt udp-send --whole -q 0 "$host" "$PORT" <"$T/d$n"
			assert_success
			echo "$n $(checksum "$T/d$n")" >>"$T/want"
		done
		wait_file "$T/p$host.got"
		same_bytes "$T/want" "$T/p$host.got"
	done
}

@test "udp-recv: datagrams from many senders at once, none locked out, each prefixed by --peer" {
	local i pids=()
	recv_bg r --count 20 --peer 127.0.0.1 0 </dev/null
	local r=$BG_PID
	# Every sender keeps its socket (stdin open) until udp-recv has all
	# 20: a sender that had exited would free its ephemeral port for a
	# later one, and two senders on one port are one sender.
	hold_fifo gate
	for i in $(seq 1 20); do
		{ printf 'peer %02d\n' "$i"; cat "$T/gate"; } {HELD}>&- |
		    "$SOCKT" udp-send -q 0 127.0.0.1 "$PORT" {HELD}>&- &
		pids+=($!)
	done
	wait_exit "$r"
	assert_equal "$EXIT" 0
	release "$HELD"
	for i in "${pids[@]}"; do
		wait "$i" || fail "a sender failed"
	done
	assert_equal "$(cut -f2 "$T/r.out" | sort)" "$(for i in $(seq 1 20); do printf 'peer %02d\n' "$i"; done)"
	assert_equal "$(cut -f1 "$T/r.out" | sort -u | wc -l)" 20
}

@test "udp-recv --peer: an IPv6 sender is written as [ADDR]:PORT, then a tab" {
	recv_bg r --count 1 --peer ::1 0 </dev/null
	printf 'six\n' | sockt udp-send -q 0 ::1 "$PORT"
	wait_exit "$BG_PID"
	run cat "$T/r.out"
	assert_output --regexp $'^\\[::1\\]:[0-9]+\tsix$'
}

@test "udp-recv: stdin lines go to the most recent sender" {
	hold_fifo in
	recv_bg r -q 0 127.0.0.1 0 <"$T/in"
	local r=$BG_PID
	spawn a "$SOCKT" udp-send --count 1 -q 30 127.0.0.1 "$PORT" \
	    < <(printf 'from a\n')
	local a=$BG_PID
	wait_until -- grep -q 'from a' "$T/r.out"
	spawn b "$SOCKT" udp-send --count 1 -q 30 127.0.0.1 "$PORT" \
	    < <(printf 'from b\n')
	local b=$BG_PID
	wait_until -- grep -q 'from b' "$T/r.out"
	printf 'answer\n' >&"$HELD"
	wait_exit "$b"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/b.out")" answer
	release "$HELD"
	wait_exit "$r"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/a.out")" ""
	kill "$a"
	wait "$a" || true
}

@test "udp-recv: keeps running after stdin ends, until --count" {
	recv_bg r --count 2 127.0.0.1 0 </dev/null
	printf 'one\n' | sockt udp-send -q 0 127.0.0.1 "$PORT"
	printf 'two\n' | sockt udp-send -q 0 127.0.0.1 "$PORT"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/r.out")" "$(printf 'one\ntwo')"
}

@test "udp-send: a reply is printed while stdin is still open" {
	hold_fifo in
	recv_bg r --echo --count 2 127.0.0.1 0 </dev/null
	spawn s "$SOCKT" udp-send -q 0 127.0.0.1 "$PORT" <"$T/in"
	local s=$BG_PID
	printf 'first\n' >&"$HELD"
	wait_until -- grep -q first "$T/s.out"
	printf 'second\n' >&"$HELD"
	release "$HELD"
	wait_exit "$s"
	assert_equal "$EXIT" 0
	wait_exit "$BG_PID"
	assert_equal "$(cat "$T/r.out")" "$(printf 'first\nsecond')"
}

@test "udp-send: without -q it waits a moment for replies, then exits 0 on its own" {
	recv_bg r --count 1 127.0.0.1 0 </dev/null
	run --separate-stderr sockt udp-send 127.0.0.1 "$PORT" < <(printf 'hi\n')
	assert_success
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	wait_exit "$BG_PID"
}

@test "udp-send --count: fewer replies than asked within -q is an error, exit 1" {
	recv_bg r --count 1 127.0.0.1 0 </dev/null
	run --separate-stderr sockt udp-send --count 1 -q 0.2 127.0.0.1 "$PORT" \
	    < <(printf 'hi\n')
	one_line_error 1 "^sockt: 0 of 1 replies arrived within -q 0.200 s$"
}

@test "udp-send: ICMP port unreachable is 'Connection refused', exit 1 (IPv4 and IPv6)" {
	local host port
	for host in 127.0.0.1 ::1; do
		port=$(closed_port "$host")
		run --separate-stderr sockt udp-send "$host" "$port" \
		    < <(printf 'anyone?\n')
		one_line_error 1 "^sockt: send (127\.0\.0\.1|\[::1\]):$port: Connection refused$"
		run --separate-stderr sockt udp-send -q 0 "$host" "$port" \
		    < <(printf 'anyone?\n')
		one_line_error 1 "Connection refused$"
	done
}

@test "udp-send -s/-p: datagrams leave from the source address and port given" {
	local sport
	sport=$(closed_port 127.0.0.2)
	recv_bg r --count 1 --peer 127.0.0.1 0 </dev/null
	printf 'x\n' | sockt udp-send -s 127.0.0.2 -p "$sport" -q 0 127.0.0.1 "$PORT"
	wait_exit "$BG_PID"
	assert_equal "$(cat "$T/r.out")" "$(printf '127.0.0.2:%s\tx' "$sport")"
}

@test "udp-send --ttl: the datagram carries that TTL / hop limit (python3 IP_RECVTTL)" {
	local host
	for host in 127.0.0.1 ::1; do
		py_bg "p$host" '
host = sys.argv[1]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
if fam == socket.AF_INET:
    s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTTL", 12), 1)
else:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
s.bind((host, 0))
report_port(s, tpath(NAME + ".port"))
data, anc, flags, addr = s.recvmsg(100, 100)
save(NAME + ".got", b"%s ttl %d\n" % (data.strip(), struct.unpack("i", anc[0][2])[0]))
' "$host"
		PORT=$(wait_port "$T/p$host.port")
		printf 'x\n' | sockt udp-send --ttl 7 -q 0 "$host" "$PORT"
		wait_file "$T/p$host.got"
		assert_equal "$(cat "$T/p$host.got")" "x ttl 7"
	done
}

# ---- timeouts, access lists, options --------------------------------------

@test "udp-recv -i: no datagram for SECS ends it with status 1 and one line" {
	run --separate-stderr sockt udp-recv -i 0.2 127.0.0.1 0 </dev/null
	one_line_error 1 "^sockt: idle timeout: no traffic for 0.200 s$"
}

@test "udp-recv -w: no first datagram within SECS is status 1" {
	run --separate-stderr sockt udp-recv -w 0.2 127.0.0.1 0 </dev/null
	one_line_error 1 "^sockt: no datagram within 0.200 s \(-w\)$"
}

@test "udp-send -i: nothing sent or received for SECS is status 1" {
	hold_fifo in
	recv_bg r 127.0.0.1 0 </dev/null
	run --separate-stderr sockt udp-send -i 0.2 127.0.0.1 "$PORT" <"$T/in"
	one_line_error 1 "^sockt: idle timeout: no traffic for 0.200 s$"
	kill "$BG_PID"
	wait "$BG_PID" || true
}

@test "udp-recv -q 0: quits once stdin has ended and been sent" {
	recv_bg r -q 0 127.0.0.1 0 < <(printf 'bye\n')
	run --separate-stderr sockt udp-send --count 1 -q 20 127.0.0.1 "$PORT" \
	    < <(printf 'hi\n')
	assert_success
	assert_equal "$output" bye
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
}

@test "udp-recv --deny/--allow: refused senders are dropped, logged under -v" {
	recv_bg r -v --deny 127.0.0.2 --count 1 --peer 127.0.0.1 0 </dev/null
	printf 'denied\n' | sockt udp-send -s 127.0.0.2 -q 0 127.0.0.1 "$PORT"
	printf 'admitted\n' | sockt udp-send -s 127.0.0.3 -q 0 127.0.0.1 "$PORT"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	run cat "$T/r.out"
	assert_output --regexp $'^127\\.0\\.0\\.3:[0-9]+\tadmitted$'
	grep -q '^sockt: refused datagrams from 127\.0\.0\.2:[0-9]*: not allowed by --allow/--deny$' "$T/r.err"
	recv_bg r2 --allow 127.0.0.5 --count 1 127.0.0.1 0 </dev/null
	printf 'no\n' | sockt udp-send -s 127.0.0.4 -q 0 127.0.0.1 "$PORT"
	printf 'yes\n' | sockt udp-send -s 127.0.0.5 -q 0 127.0.0.1 "$PORT"
	wait_exit "$BG_PID"
	assert_equal "$(cat "$T/r2.out")" yes
}

@test "udp-recv -v: readiness line, each new sender, and a summary" {
	recv_bg r -v --count 2 127.0.0.1 0 </dev/null
	printf 'a\nb\n' | sockt udp-send -q 0 127.0.0.1 "$PORT"
	wait_exit "$BG_PID"
	run cat "$T/r.err"
	assert_line --index 0 "sockt: listening on 127.0.0.1:$PORT"
	assert_line --index 1 --regexp '^sockt: datagrams from 127\.0\.0\.1:[0-9]+$'
	assert_line --index 2 'sockt: received 2 datagrams (4 bytes)'
}

@test "udp-recv --rcvbuf: the receive buffer is set (-v reports it)" {
	recv_bg r -v --rcvbuf 65536 --count 1 127.0.0.1 0 </dev/null
	printf 'x\n' | sockt udp-send -q 0 127.0.0.1 "$PORT"
	wait_exit "$BG_PID"
	run head -n1 "$T/r.err"
	assert_output "sockt: receive buffer: 65536 bytes"
	run --separate-stderr sockt udp-recv --rcvbuf 100 0
	one_line_error 2 "^sockt: bad --rcvbuf '100'"
}

@test "udp-recv -o and -x, udp-send -x: raw copy and per-datagram hex dumps" {
	recv_bg r -o "$T/copy" -x "$T/rdump" --echo --count 2 127.0.0.1 0 \
	    </dev/null
	run sockt udp-send -x "$T/sdump" --count 2 -q 20 127.0.0.1 "$PORT" \
	    < <(printf 'ab\ncd\n')
	assert_success
	wait_exit "$BG_PID"
	assert_equal "$(cat "$T/copy")" "$(printf 'ab\ncd')"
	run cat "$T/sdump"
	assert_line --index 0 --regexp '^> 00000000  61 62 0a .*\|ab\.\|$'
	assert_line --index 1 --regexp '^> 00000003  63 64 0a .*\|cd\.\|$'
	assert_line --index 2 --regexp '^< 00000000  61 62 0a .*\|ab\.\|$'
	assert_line --index 3 --regexp '^< 00000003  63 64 0a .*\|cd\.\|$'
	run grep -c '^[<>]' "$T/rdump"
	assert_output 4
}

@test "udp-send / udp-recv -x: a hex dump that cannot be written is an error, exit 1" {
	recv_bg r -x /dev/full --count 2 127.0.0.1 0 </dev/null
	run --separate-stderr sockt udp-send -x /dev/full -q 0 127.0.0.1 \
	    "$PORT" < <(printf 'one\n')
	one_line_error 1 "^sockt: write to /dev/full: No space left on device$"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 1
	assert_equal "$(cat "$T/r.err")" \
	    "sockt: write to /dev/full: No space left on device"
	assert_equal "$(cat "$T/r.out")" one
}

# send_until_file FILE PORT: send a datagram, then say whether FILE exists.
send_until_file() {
	printf 'more\n' | "$SOCKT" udp-send -q 0 127.0.0.1 "$2"
	[ -s "$1" ]
}

@test "udp-recv: stdout closed by its reader ends it by SIGPIPE" {
	spawn pipe bash -c '"$SOCKT" udp-recv --port-file "$T/p" 127.0.0.1 0 \
	    </dev/null | head -c 1 >/dev/null
	    echo "${PIPESTATUS[0]}" >"$T/status.tmp"; mv "$T/status.tmp" "$T/status"'
	PORT=$(wait_port "$T/p")
	wait_until -- send_until_file "$T/status" "$PORT"
	assert_equal "$(cat "$T/status")" 141
}

# ---- bad input ----------------------------------------------------------

@test "udp-recv --join: a bad group address is a usage error, exit 2" {
	run --separate-stderr sockt udp-recv --join 239.1.2 0
	one_line_error 2 "^sockt: bad multicast group '239\.1\.2': not a numeric IPv4 or IPv6 address"
	run --separate-stderr sockt udp-recv --join group.example 0
	one_line_error 2 "^sockt: bad multicast group 'group\.example'"
}

@test "udp-recv --join: a unicast address is refused, exit 2" {
	run --separate-stderr sockt udp-recv --join 10.1.2.3 0
	one_line_error 2 "^sockt: bad multicast group '10\.1\.2\.3': not a multicast address \(224\.0\.0\.0/4, ff00::/8\)"
	run --separate-stderr sockt udp-recv --join ::1 0
	one_line_error 2 "^sockt: bad multicast group '::1': not a multicast address"
}

@test "udp multicast options: --iface alone, a family clash, -U, an unknown interface" {
	run --separate-stderr sockt udp-recv --iface lo 0
	one_line_error 2 "^sockt: --iface needs --join"
	run --separate-stderr sockt udp-recv -6 --join 239.1.2.3 0
	one_line_error 2 "^sockt: cannot join IPv4 group 239\.1\.2\.3 with -6"
	run --separate-stderr sockt udp-recv -U --join 239.1.2.3 "$T/s"
	one_line_error 2 "^sockt: cannot use -U with --join"
	run --separate-stderr sockt udp-send --iface lo -q 0 127.0.0.1 9 </dev/null
	one_line_error 2 "^sockt: --iface applies to a multicast destination only"
	run --separate-stderr sockt udp-recv --join 239.1.2.3 --iface nosuchif0 0
	one_line_error 1 "^sockt: --iface nosuchif0: no such interface$"
	run --separate-stderr sockt udp-send -U --broadcast "$T/s" </dev/null
	one_line_error 2 "^sockt: cannot use -U with --broadcast"
}

@test "udp-send / udp-recv: bad endpoints are usage errors, exit 2" {
	run --separate-stderr sockt udp-send 127.0.0.1 0 </dev/null
	one_line_error 2 "^sockt: bad port '0': cannot send to port 0"
	run --separate-stderr sockt udp-send 127.0.0.1 </dev/null
	one_line_error 2 "^sockt: missing PORT after '127\.0\.0\.1'"
	run --separate-stderr sockt udp-recv 127.0.0.1 99999
	one_line_error 2 "^sockt: bad port '99999'"
	run --separate-stderr sockt udp-recv -k 0
	one_line_error 2 "^sockt: unknown option -k"
	run --separate-stderr sockt udp-recv --max-conns 3 0
	one_line_error 2 "^sockt: unknown option --max-conns"
	run --separate-stderr sockt udp-recv -U --allow 127.0.0.1 "$T/s"
	one_line_error 2 "^sockt: cannot use -U with --allow"
	run --separate-stderr sockt udp-send -p 99999 127.0.0.1 9 </dev/null
	one_line_error 2 "^sockt: bad port '99999'"
	run --separate-stderr sockt udp-send -U '' </dev/null
	one_line_error 2 "^sockt: bad Unix socket path '': empty"
	run --separate-stderr sockt udp-recv -U ''
	one_line_error 2 "^sockt: bad Unix socket path '': empty"
}

# ---- broadcast and multicast ----------------------------------------------

@test "udp-recv: a port is its receiver's own: a second one on it fails, exit 1" {
	recv_bg r --count 1 0 </dev/null
	local r=$BG_PID
	# on Linux a second socket on the port would take the first one's
	# unicast datagrams
	run_out "$T/r2.out" "$SOCKT" udp-recv "$PORT" </dev/null
	one_line_error 1 "^sockt: bind (0\.0\.0\.0|\[::\]):$PORT: Address already in use$"
	run_out "$T/r3.out" "$SOCKT" udp-recv 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "^sockt: bind 127\.0\.0\.1:$PORT: Address already in use$"
	printf 'mine\n' | sockt udp-send -q 0 127.0.0.1 "$PORT"
	wait_exit "$r"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/r.out")" mine
}

@test "udp-send --broadcast: every receiver bound to the broadcast address gets it (loopback 127.255.255.255)" {
	# a broadcast address is shared: no unicast datagram arrives there
	recv_bg r1 --count 1 127.255.255.255 0 </dev/null
	local r1=$BG_PID port=$PORT
	recv_bg r2 --count 1 127.255.255.255 "$port" </dev/null
	local r2=$BG_PID
	run --separate-stderr sockt udp-send -q 0 127.255.255.255 "$port" \
	    < <(printf 'all\n')
	one_line_error 1 "^sockt: send 127\.255\.255\.255:$port: Permission denied \(a broadcast address needs --broadcast\)$"
	run sockt udp-send --broadcast -q 0 127.255.255.255 "$port" \
	    < <(printf 'all\n')
	assert_success
	wait_exit "$r1"
	assert_equal "$EXIT" 0
	wait_exit "$r2"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/r1.out")" all
	assert_equal "$(cat "$T/r2.out")" all
}

@test "udp-send --broadcast: across a veth link in network namespaces, with replies" {
	netns_pair
	spawn r ip netns exec "$NS_B" "$SOCKT" udp-recv --echo --count 1 --peer \
	    --port-file "$T/r.port" -4 0 </dev/null
	PORT=$(wait_port "$T/r.port")
	local r=$BG_PID
	run --separate-stderr in_ns "$NS_A" "$SOCKT" udp-send --broadcast \
	    --count 1 -q 20 10.77.0.255 "$PORT" < <(printf 'hello lan\n')
	assert_success
	assert_equal "$output" "hello lan"
	wait_exit "$r"
	assert_equal "$EXIT" 0
	run cat "$T/r.out"
	assert_output --regexp $'^10\\.77\\.0\\.1:[0-9]+\thello lan$'
}

@test "udp-recv --join / udp-send --ttl: IPv4 multicast across a veth link" {
	netns_pair
	spawn r ip netns exec "$NS_B" "$SOCKT" udp-recv -v --join 239.1.2.3 --iface vb \
	    --count 2 --echo --port-file "$T/r.port" 0 </dev/null
	PORT=$(wait_port "$T/r.port")
	local r=$BG_PID
	run --separate-stderr in_ns "$NS_A" "$SOCKT" udp-send --iface va \
	    --ttl 2 --count 2 -q 20 239.1.2.3 "$PORT" < <(printf 'm1\nm2\n')
	assert_success
	assert_equal "$output" "$(printf 'm1\nm2')"
	wait_exit "$r"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/r.out")" "$(printf 'm1\nm2')"
	run head -n1 "$T/r.err"
	assert_output "sockt: joined 239.1.2.3 on vb"
}

@test "udp-recv --join: IPv6 multicast (ff12:: and ff02::) across a veth link" {
	local group
	netns_pair
	for group in ff12::5:1 ff02::5:2; do
		spawn "r$group" ip netns exec "$NS_B" "$SOCKT" udp-recv --join "$group" \
		    --iface vb --count 1 --port-file "$T/r$group.port" 0 \
		    </dev/null
		PORT=$(wait_port "$T/r$group.port")
		local r=$BG_PID
		run in_ns "$NS_A" "$SOCKT" udp-send --iface va -q 0 "$group" \
		    "$PORT" < <(printf 'six %s\n' "$group")
		assert_success
		wait_exit "$r"
		assert_equal "$EXIT" 0
		assert_equal "$(cat "$T/r$group.out")" "six $group"
	done
}

@test "udp-send --ttl toward a group: the multicast TTL / hop limit is N (python3)" {
	local group
	netns_pair
	for group in 239.1.2.6 ff12::5:6; do
		spawn "p$group" ip netns exec "$NS_B" python3 -c "$PY_PRELUDE
NAME = 'p$group'
group = sys.argv[1]
idx = socket.if_nametoindex('vb')
if ':' in group:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    s.bind(('::', 0))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
        socket.inet_pton(socket.AF_INET6, group) + struct.pack('I', idx))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, getattr(socket, 'IP_RECVTTL', 12), 1)
    s.bind(('0.0.0.0', 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
        socket.inet_aton(group) + socket.inet_aton('0.0.0.0') +
        struct.pack('i', idx))
report_port(s, tpath(NAME + '.port'))
data, anc, flags, addr = s.recvmsg(100, 100)
save(NAME + '.got', b'%s ttl %d\n' % (data.strip(),
    struct.unpack('i', anc[0][2])[0]))
" "$group"
		PORT=$(wait_port "$T/p$group.port")
		printf 'g\n' | in_ns "$NS_A" "$SOCKT" udp-send --iface va --ttl 5 \
		    -q 0 "$group" "$PORT"
		wait_file "$T/p$group.got"
		assert_equal "$(cat "$T/p$group.got")" "g ttl 5"
	done
}

@test "udp-recv: a group not joined is not received (multicast membership matters)" {
	netns_pair
	spawn r ip netns exec "$NS_B" "$SOCKT" udp-recv --join 239.1.2.4 --iface vb \
	    --count 1 --port-file "$T/r.port" 0 </dev/null
	PORT=$(wait_port "$T/r.port")
	local r=$BG_PID
	printf 'other group\n' | in_ns "$NS_A" "$SOCKT" udp-send --iface va \
	    -q 0 239.1.2.5 "$PORT"
	printf 'our group\n' | in_ns "$NS_A" "$SOCKT" udp-send --iface va \
	    -q 0 239.1.2.4 "$PORT"
	wait_exit "$r"
	assert_equal "$(cat "$T/r.out")" "our group"
}

# ---- Unix datagram sockets ------------------------------------------------

@test "udp -U: datagrams over a Unix datagram socket keep their boundaries" {
	random_file "$T/in" 30000
	recv_bg r -U --count 3 "$T/sock" </dev/null
	assert_equal "$PORT" "$T/sock"
	run sockt udp-send -U --size 10000 -q 0 "$T/sock" <"$T/in"
	assert_success
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	same_bytes "$T/in" "$T/r.out"
	[ ! -e "$T/sock" ] || fail "udp-recv left $T/sock behind"
}

@test "udp -U: echo round trip; the client socket is removed on exit" {
	mkdir "$T/tmp"
	recv_bg r -U --echo --count 2 --peer "$T/sock" </dev/null
	TMPDIR=$T/tmp run --separate-stderr "$SOCKT" udp-send -U --count 2 \
	    -q 20 "$T/sock" < <(printf 'hi\nthere\n')
	assert_success
	assert_equal "$output" "$(printf 'hi\nthere')"
	wait_exit "$BG_PID"
	run cut -f1 "$T/r.out"
	assert_line --index 0 --regexp "^$T/tmp/sockt-udp\.[A-Za-z0-9]{10}$"
	assert_equal "$(ls -A "$T/tmp")" ""
}

@test "udp -U: the client socket is removed when udp-send is killed by SIGTERM" {
	mkdir "$T/tmp"
	hold_fifo in
	recv_bg r -U --count 1 "$T/sock" </dev/null
	local r=$BG_PID
	TMPDIR=$T/tmp spawn s "$SOCKT" udp-send -U "$T/sock" <"$T/in"
	local s=$BG_PID
	printf 'x\n' >&"$HELD"
	wait_exit "$r"	# the receiver got it: the client is bound
	[ -n "$(ls -A "$T/tmp")" ] || fail "no client socket in $T/tmp"
	kill -TERM "$s"
	wait_exit "$s"
	assert_equal "$EXIT" 143
	assert_equal "$(ls -A "$T/tmp")" ""
}

@test "udp -U: an abstract socket (@NAME) works both ways" {
	local name=@sockt-udp-$$-$BATS_TEST_NUMBER
	recv_bg r -U --echo --count 1 "$name" </dev/null
	assert_equal "$PORT" "$name"
	run sockt udp-send -U --count 1 -q 20 "$name" < <(printf 'abs\n')
	assert_success
	assert_equal "$output" abs
}

@test "udp-recv -U --peer -v: a sender's name with a newline and an ESC is escaped, one line per datagram" {
	local abs=sockt-evil-$$-$BATS_TEST_NUMBER
	recv_bg r -U -v --peer --count 2 "$T/sock" </dev/null
	python3 -c '
import socket, sys
t, sock, abs = sys.argv[1:4]
for name, data in ((t + "/evil\nsockt: forged\x1b[2J", b"one\n"),
                   ("\0" + abs + "\n\x1b]0;title\x07", b"two\n")):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(name)
    s.sendto(data, sock)
    s.close()
' "$T" "$T/sock" "$abs"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	# the names as log_escape() shows them: \xNN for each control byte
	local one="$T/evil\\x0asockt: forged\\x1b[2J"
	local two="@$abs\\x0a\\x1b]0;title\\x07"
	assert_equal "$(cat "$T/r.out")" "$(printf '%s\tone\n%s\ttwo' "$one" "$two")"
	run grep -c '' "$T/r.out"
	assert_output 2
	run grep 'datagrams from' "$T/r.err"
	assert_output "$(printf 'sockt: datagrams from %s\nsockt: datagrams from %s' "$one" "$two")"
	run grep -c $'\e' "$T/r.err" "$T/r.out"
	assert_output "$(printf '%s:0\n%s:0' "$T/r.err" "$T/r.out")"
}

@test "udp -U: nobody at the path is an error, exit 1" {
	run --separate-stderr sockt udp-send -U "$T/nobody" < <(printf 'x\n')
	one_line_error 1 "^sockt: send $T/nobody: No such file or directory$"
}

@test "udp-recv -U: a datagram larger than 64 KiB is reported, never cut; what came before is written" {
	recv_bg r -U "$T/sock" </dev/null
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
for d in (b"before\n", b"x" * 70000, b"after\n"):
    try:
        s.sendto(d, sys.argv[1])
    except OSError:
        break  # the receiver already stopped at the big one, as it should
' "$T/sock"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 1
	assert_equal "$(cat "$T/r.out")" before
	assert_equal "$(cat "$T/r.err")" "sockt: datagram from (unnamed): 70000 bytes, larger than the 65536-byte buffer: not written"
}

# ---- interop ----------------------------------------------------------------

@test "interop: nc -u sends to udp-recv, and gets its --echo back" {
	has nc.openbsd || skip "nc.openbsd is not installed"
	recv_bg r --echo --count 1 --peer 127.0.0.1 0 </dev/null
	run --separate-stderr nc.openbsd -u -W 1 127.0.0.1 "$PORT" \
	    < <(printf 'from nc\n')
	assert_success
	assert_equal "$output" "from nc"
	wait_exit "$BG_PID"
	run cat "$T/r.out"
	assert_output --regexp $'^127\\.0\\.0\\.1:[0-9]+\tfrom nc$'
}

@test "interop: udp-send to nc -u -l, one datagram per line, and nc's reply printed" {
	has nc.openbsd || skip "nc.openbsd is not installed"
	hold_fifo ncin
	spawn nc nc.openbsd -u -l 127.0.0.1 0 <"$T/ncin"
	local nc=$BG_PID port
	port=$(udp_port_of "$nc")
	spawn s "$SOCKT" udp-send --count 1 -q 20 127.0.0.1 "$port" \
	    < <(printf 'l1\nl2\n')
	local s=$BG_PID
	wait_until -- has_bytes "$T/nc.out" 6
	printf 'reply from nc\n' >&"$HELD"
	wait_exit "$s"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/s.out")" "reply from nc"
	assert_equal "$(cat "$T/nc.out")" "$(printf 'l1\nl2')"
	kill "$nc"
	wait "$nc" || true
}

@test "interop: socat UDP-SENDTO to udp-recv (IPv6), and udp-send to socat UDP-RECV" {
	has socat || skip "socat is not installed"
	recv_bg r --echo --count 1 ::1 0 </dev/null
	run --separate-stderr socat - "UDP6-SENDTO:[::1]:$PORT" \
	    < <(printf 'from socat\n')
	assert_success
	assert_equal "$output" "from socat"
	wait_exit "$BG_PID"
	assert_equal "$(cat "$T/r.out")" "from socat"
	spawn so socat -u UDP4-RECV:0,bind=127.0.0.1 -
	local so=$BG_PID port
	port=$(udp_port_of "$so")
	run sockt udp-send -q 0 127.0.0.1 "$port" < <(printf 'to socat\nline 2\n')
	assert_success
	wait_until -- has_bytes "$T/so.out" 16
	assert_equal "$(cat "$T/so.out")" "$(printf 'to socat\nline 2')"
	kill "$so"
	wait "$so" || true
}

@test "interop: socat UNIX-SENDTO to udp-recv -U" {
	has socat || skip "socat is not installed"
	recv_bg r -U --count 1 "$T/sock" </dev/null
	run socat -u - "UNIX-SENDTO:$T/sock" < <(printf 'unix from socat\n')
	assert_success
	wait_exit "$BG_PID"
	assert_equal "$(cat "$T/r.out")" "unix from socat"
}
