#!/usr/bin/env bats
# tests/mptcp.bats - --mptcp (issue 15): Multipath TCP sockets where the
# kernel has them (seen by ss -M), and plain TCP with one -v note where it
# refuses them; the bytes arrive exact either way.

bats_require_minimum_version 1.5.0
load helper

# mptcp_on: does this network namespace's kernel accept MPTCP sockets?
mptcp_on() {
	[ "$(sysctl -n net.mptcp.enabled 2>/dev/null)" = 1 ]
}

# mptcp_conn PORT: an MPTCP connection (any state but listening) has PORT
# at one end.
mptcp_conn() {
	ss -HMn | grep -Eq ":$1( |\$)"
}

@test "listen --mptcp / connect --mptcp: 1 MB arrives exact; the connection is MPTCP (ss -M) or, without MPTCP, the -v note says TCP" {
	random_file "$T/in" 1000000
	hold_fifo feed
	spawn srv "$SOCKT" listen --mptcp -v --port-file "$T/srv.port" 127.0.0.1 0 </dev/null
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	spawn cli "$SOCKT" connect --mptcp -v 127.0.0.1 "$PORT" <"$T/feed"
	local cli=$BG_PID
	wait_until -- grep -q '^sockt: connected to ' "$T/cli.err"
	if mptcp_on; then
		wait_until -- mptcp_conn "$PORT"
	else
		grep -Eqx 'sockt: mptcp: Protocol not (available|supported): using plain TCP' \
		    "$T/cli.err"
	fi
	cat "$T/in" >&"$HELD"
	release "$HELD"
	wait_exit "$cli"
	assert_equal "$EXIT" 0
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/in" "$T/srv.out"
	if mptcp_on; then
		run ! grep -q 'using plain TCP' "$T/cli.err" "$T/srv.err"
	fi
}

@test "--mptcp without kernel MPTCP (a namespace with net.mptcp.enabled=0): plain TCP, exact bytes, one -v note each side" {
	has unshare || skip "unshare is not installed"
	unshare -rn true 2>/dev/null || skip "cannot create a network namespace"
	random_file "$T/in" 300000
	cat >"$T/run.sh" <<-'EOF'
	set -e
	ip link set lo up
	sysctl -qw net.mptcp.enabled=0
	"$SOCKT" listen --mptcp -v --port-file "$T/port" 127.0.0.1 0 \
	    </dev/null >"$T/got" 2>"$T/srv.err" &
	srv=$!
	end=$((SECONDS + 20))
	while [ ! -s "$T/port" ]; do
		[ "$SECONDS" -lt "$end" ] || { kill "$srv"; exit 9; }
		sleep 0.01
	done
	"$SOCKT" connect --mptcp -v 127.0.0.1 "$(cat "$T/port")" \
	    <"$T/in" 2>"$T/cli.err"
	wait "$srv"
	EOF
	run timeout 30 unshare -rn bash "$T/run.sh"
	assert_success
	same_bytes "$T/in" "$T/got"
	assert_equal "$(grep -c 'mptcp' "$T/cli.err")" 1
	grep -qx 'sockt: mptcp: Protocol not available: using plain TCP' "$T/cli.err"
	grep -qx 'sockt: mptcp: Protocol not available: using plain TCP' "$T/srv.err"
}

@test "connect --mptcp to a plain TCP listener: the bytes arrive exact (MPTCP falls back on the wire)" {
	random_file "$T/in" 200000
	listen_bg srv 127.0.0.1 0 </dev/null
	local srv=$BG_PID
	run sockt connect --mptcp 127.0.0.1 "$PORT" <"$T/in"
	assert_success
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	same_bytes "$T/in" "$T/srv.out"
}

@test "exec --mptcp and forward --mptcp: a round trip through both is exact; each hop is MPTCP when the kernel has it" {
	random_file "$T/in" 400000
	spawn srv "$SOCKT" exec --mptcp --port-file "$T/srv.port" 127.0.0.1 0 -- cat
	local srv=$BG_PID
	local sport
	sport=$(wait_port "$T/srv.port")
	spawn fwd "$SOCKT" forward --mptcp --port-file "$T/fwd.port" 127.0.0.1 0 "127.0.0.1:$sport"
	local fport
	fport=$(wait_port "$T/fwd.port")
	hold_fifo feed
	spawn cli "$SOCKT" connect --mptcp 127.0.0.1 "$fport" <"$T/feed"
	local cli=$BG_PID
	if mptcp_on; then
		wait_until -- mptcp_conn "$fport"
		wait_until -- mptcp_conn "$sport"
	fi
	cat "$T/in" >&"$HELD"
	release "$HELD"
	wait_exit "$cli"
	assert_equal "$EXIT" 0
	same_bytes "$T/in" "$T/cli.out"
}

@test "serve-file --mptcp: a plain HTTP client gets the file exact" {
	needs curl
	random_file "$T/f" 500000
	spawn srv "$SOCKT" serve-file --mptcp --port-file "$T/srv.port" 127.0.0.1 0 "$T/f"
	local port
	port=$(wait_port "$T/srv.port")
	run curl -sS -o "$T/got" "http://127.0.0.1:$port/f"
	assert_success
	same_bytes "$T/f" "$T/got"
}

@test "--mptcp is refused with -U, and with connect -z" {
	run sockt connect --mptcp -U /tmp/x
	assert_failure 2
	assert_output "sockt: cannot use -U with --mptcp (see 'sockt connect --help')"
	run sockt connect --mptcp -z 127.0.0.1 1
	assert_failure 2
	assert_output "sockt: cannot use -z with --mptcp (see 'sockt connect --help')"
}
