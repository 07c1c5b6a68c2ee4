#!/usr/bin/env bats
# connect -z and --wait (issue 3).

load helper
bats_require_minimum_version 1.5.0

# Keep the helper's teardown and remove the network namespaces made here.
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

@test "connect -z: open ports are listed in port order, exit 0" {
	listen_bg a -k 127.0.0.1 0 </dev/null
	pa=$PORT
	listen_bg b -k 127.0.0.1 0 </dev/null
	pb=$PORT
	closed=$(free_port)
	if [ "$pa" -lt "$pb" ]; then lo=$pa hi=$pb; else lo=$pb hi=$pa; fi
	run --separate-stderr sockt connect -z 127.0.0.1 "$hi,$closed,$lo"
	assert_success
	assert_output "$lo open
$hi open"
}

@test "connect -z: a list and a range together, each port once" {
	listen_bg a -k 127.0.0.1 0 </dev/null
	closed=$(free_port)
	run sockt connect -z 127.0.0.1 "$closed,$PORT,$PORT-$PORT"
	assert_success
	assert_output "$PORT open"
}

@test "connect -z: a closed port exits 1 with the connect error" {
	closed=$(free_port)
	run sockt connect -z 127.0.0.1 "$closed"
	assert_failure 1
	assert_output "sockt: connect 127.0.0.1:$closed: Connection refused"
}

@test "connect -z: a range with nothing open exits 1 and says so" {
	run sockt connect -z 127.0.0.1 1-20
	assert_failure 1
	assert_output "sockt: no open port among 20 on 127.0.0.1"
}

@test "connect -z: sends nothing to an open port" {
	listen_bg srv 127.0.0.1 0 </dev/null
	run sockt connect -z 127.0.0.1 "$PORT"
	assert_success
	wait_exit "$BG_PID"
	[ "$EXIT" -eq 0 ]
	[ ! -s "$T/srv.out" ]
}

@test "connect -z: a reversed range is a usage error" {
	run sockt connect -z 127.0.0.1 90-80
	assert_failure 2
	assert_output --partial "sockt: bad port range '90-80': reversed"
}

@test "connect --wait: a server that starts late is reached and the session runs" {
	port=$(free_port)
	bg cli sockt connect -v --wait 20 127.0.0.1 "$port" <<<'hello late server'
	cli=$BG_PID
	wait_until -- grep -q 'retrying' "$T/cli.err"
	bg srv sockt listen 127.0.0.1 "$port" </dev/null
	wait_exit "$cli"
	[ "$EXIT" -eq 0 ]
	wait_exit "$BG_PID"
	run cat "$T/srv.out"
	assert_output 'hello late server'
}

@test "connect -z --wait: reports the port once a late server opens it" {
	port=$(free_port)
	bg scan sockt connect -z -v --wait 20 127.0.0.1 "$port"
	scan=$BG_PID
	wait_until -- grep -q 'retrying' "$T/scan.err"
	bg srv sockt listen -k 127.0.0.1 "$port" </dev/null
	wait_exit "$scan"
	[ "$EXIT" -eq 0 ]
	run cat "$T/scan.out"
	assert_output "$port open"
}

@test "connect --wait: a server that never starts gives up after the deadline with exit 1" {
	port=$(free_port)
	run sockt connect --wait 0.3 127.0.0.1 "$port"
	assert_failure 1
	assert_output "sockt: connect 127.0.0.1:$port: Connection refused (gave up after --wait 0.300 s)"
}

@test "connect -z --wait: a port that never opens exits 1" {
	port=$(free_port)
	run sockt connect -z --wait 0.3 127.0.0.1 "$port"
	assert_failure 1
	assert_output "sockt: connect 127.0.0.1:$port: Connection refused"
}

@test "connect -z -U: a Unix socket that accepts is reported open" {
	bg srv sockt listen -k -U "$T/sock" </dev/null
	wait_until -- test -S "$T/sock"
	run sockt connect -z -U "$T/sock"
	assert_success
	assert_output "$T/sock open"
}

# hold_ports NOPEN NCLOSED: a python3 process holds NOPEN listening sockets
# and NCLOSED bound, never listening ones (a connect there is refused) on
# 127.0.0.1, all its own, until the test ends.  $T/ports.list is every
# port for the command line (open ones first), $T/ports.open the expected
# "PORT open" lines, $T/ports.closed the refused ports, ascending.
hold_ports() {
	py_bg ports '
nopen, nclosed = int(sys.argv[1]), int(sys.argv[2])
held, opened, closed = [], [], []
for i in range(nopen + nclosed):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    if i < nopen:
        s.listen(8)
        opened.append(s.getsockname()[1])
    else:
        closed.append(s.getsockname()[1])
    held.append(s)
save("ports.open", "".join("%d open\n" % p for p in sorted(opened)).encode())
save("ports.closed", "".join("%d\n" % p for p in sorted(closed)).encode())
save("ports.list", ",".join(str(p) for p in opened + closed).encode())
time.sleep(3600)
' "$1" "$2"
	wait_file "$T/ports.list"
}

@test "connect -z -s 192.0.2.1 over 65,535 ports: a source this host lacks is one line, exit 1, no crash" {
	# 192.0.2.1 (TEST-NET-1) is never a local address: bind fails at
	# once, so no packet leaves; each probe used to recurse into the next
	run --separate-stderr sockt connect -z -s 192.0.2.1 127.0.0.1 1-65535
	one_line_error 1 "^sockt: bind 192\.0\.2\.1:0: Cannot assign requested address$"
}

@test "connect -z: 65,535 probes that fail at once (loopback down in a new namespace) end in one line, exit 1" {
	local ns=sockt-scan-$$-$BATS_TEST_NUMBER
	ip netns add "$ns" 2>/dev/null ||
	    skip "network namespaces are not available (needs root)"
	echo "$ns" >>"$T/.netns"
	# lo stays down: every connect fails with ENETUNREACH before it
	# starts, and each probe used to start the next from inside itself
	run --separate-stderr ip netns exec "$ns" "$SOCKT" connect -z \
	    127.0.0.1 1-65535
	one_line_error 1 "^sockt: no open port among 65535 on 127\.0\.0\.1$"
	run --separate-stderr ip netns exec "$ns" "$SOCKT" connect -z \
	    127.0.0.1 7
	one_line_error 1 "^sockt: connect 127\.0\.0\.1:7: Network is unreachable$"
}

@test "connect -z short of fds (ulimit -n 64, --parallel 2000): every open port is reported open" {
	hold_ports 200 100
	# EMFILE pauses probing until a probe gives its fd back; it used to
	# decide the port: "closed"
	run --separate-stderr bash -c 'ulimit -n 64 &&
	    exec "$1" connect -z --parallel 2000 127.0.0.1 "$2"' _ "$SOCKT" \
	    "$(cat "$T/ports.list")"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$output" "$(cat "$T/ports.open")"
}

@test "connect -z with no fd to spare at all: one line naming the shortage, exit 1" {
	hold_ports 1 1
	# 5 fds: stdio and the loop's own pipe leave none for a probe, and no
	# probe will give one back: an error, not a verdict on the ports
	run --separate-stderr bash -c 'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
	    ulimit -n 5 && exec "$1" connect -z 127.0.0.1 "$2"' \
	    _ "$SOCKT" "$(cat "$T/ports.list")"
	one_line_error 1 "^sockt: connect 127\.0\.0\.1:[0-9]+: Too many open files$"
}

@test "connect -zv on one closed port: its error once, exit 1" {
	hold_ports 0 1
	closed=$(cat "$T/ports.closed")
	run --separate-stderr sockt connect -z -v 127.0.0.1 "$closed"
	one_line_error 1 "^sockt: connect 127\.0\.0\.1:$closed: Connection refused$"
}

@test "connect -zv: refused ports are listed in port order, open ones on stdout" {
	hold_ports 3 100
	run --separate-stderr sockt connect -z -v --parallel 200 127.0.0.1 \
	    "$(cat "$T/ports.list")"
	assert_success
	assert_equal "$output" "$(cat "$T/ports.open")"
	assert_equal "$stderr" "$(sed 's/.*/sockt: connect 127.0.0.1:&: Connection refused/' "$T/ports.closed")"
}
