#!/usr/bin/env bats
# tests/exec.bats - sockt exec (design section 4, issue 5): a program per
# connection with its stdio on the socket, exact end of file both ways,
# exit status, -k, --pty, --connect, and nothing left behind.

bats_require_minimum_version 1.5.0
load helper

# exec_bg NAME ARGS...: start "sockt exec --port-file ... ARGS" (ARGS hold
# the endpoint, usually 0, and the program) like spawn; sets $PORT (the
# path with -U) and $BG_PID.
exec_bg() {
	local name=$1
	shift
	spawn "$name" "$SOCKT" exec --port-file "$T/$name.port" "$@"
	PORT=$(wait_port "$T/$name.port") || return 1
}

# children PID: the pids of PID's child processes, one a line.
children() {
	pgrep -P "$1" || true
}

# nchildren_is PID N: PID has exactly N child processes.
nchildren_is() {
	[ "$(children "$1" | wc -l)" -eq "$2" ]
}

# gone PID...: none of these processes exists any more.
gone() {
	local pid
	for pid in "$@"; do
		! kill -0 "$pid" 2>/dev/null || return 1
	done
}

# ---------------------------------------------------------------------
# Pumping and end of file

@test "exec: an uppercasing filter (tr a-z A-Z) returns all 5 MB transformed; both exit 0" {
	random_file "$T/in" 5000000
	LC_ALL=C tr a-z A-Z <"$T/in" >"$T/want"
	export LC_ALL=C
	exec_bg srv 0 -- tr a-z A-Z
	local srv=$BG_PID
	sockt connect 127.0.0.1 "$PORT" <"$T/in" >"$T/got"
	same_bytes "$T/want" "$T/got"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	[ ! -s "$T/srv.err" ] || fail "stderr: $(cat "$T/srv.err")"
}

@test "man page: the 'exec -k 9000 -- FILTER' example answers each line while its client waits" {
	local line
	line=$(grep -m1 '^\$ sockt exec -k 9000 -- ' "$BATS_TEST_DIRNAME/../man/sockt.1")
	[ -n "$line" ] || fail "the example is gone from man/sockt.1"
	local -a prog
	read -ra prog <<<"${line#\$ sockt exec -k 9000 -- }"
	exec_bg srv -k 0 -- "${prog[@]}"
	py_bg cli '
c = tcp_connect(sys.argv[1])
c.settimeout(float(sys.argv[2]))
got = b""
for word in (b"hello\n", b"world\n"):
    c.sendall(word)             # and wait for the answer before going on
    want = len(got) + len(word)
    try:
        while len(got) < want:
            d = c.recv(100)
            if not d:
                break
            got += d
    except socket.timeout:
        break
save("got", got + b"|")' "$PORT" "$DEADLINE"
	wait_file "$T/got" $((DEADLINE + 5))
	assert_equal "$(cat "$T/got")" "HELLO
WORLD
|"
}

@test "exec: a program that prints and exits at once still delivers, while the client is still sending" {
	random_file "$T/a" 2000000
	random_file "$T/big" 20000000
	exec_bg srv 0 -- cat "$T/a"
	local srv=$BG_PID
	sockt connect 127.0.0.1 "$PORT" <"$T/big" >"$T/got"
	same_bytes "$T/a" "$T/got"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	[ ! -s "$T/srv.err" ] || fail "stderr: $(cat "$T/srv.err")"

	exec_bg srv2 0 -- echo hello
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" <"$T/big"
	assert_success
	assert_output "hello"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
}

@test "exec: output the program writes after the client's half-close reaches the client" {
	random_file "$T/a" 3000000
	random_file "$T/in" 1000000
	exec_bg srv 0 --sh "wc -c; cat '$T/a'"
	local srv=$BG_PID
	sockt connect 127.0.0.1 "$PORT" <"$T/in" >"$T/got"
	{ echo 1000000; cat "$T/a"; } >"$T/want"
	same_bytes "$T/want" "$T/got"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
}

@test "exec: the program closing its stdout half-closes the socket; the client can still send to it" {
	exec_bg srv 0 --sh "echo early; exec >&-; cat >'$T/late'"
	local srv=$BG_PID
	py_bg cli '
c = tcp_connect(sys.argv[1])
got = recv_all(c)          # end of file, though we have not sent a byte
c.sendall(b"late input\n")
c.shutdown(socket.SHUT_WR)
save("got", got + b"|" + recv_all(c))' "$PORT"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	wait_file "$T/got"
	assert_equal "$(cat "$T/got")" "early
|"
	assert_equal "$(cat "$T/late")" "late input"
}

@test "exec: the program's stdin is a pipe closed at the client's end of file, not the socket" {
	exec_bg srv 0 --sh 'test -p /dev/stdin && test -p /dev/stdout && echo pipes; cat >/dev/null; echo eof'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'some input\n')
	assert_success
	assert_output "pipes
eof"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
}

@test "exec --stderr: the program's stderr goes to the client; without it, to sockt's stderr" {
	exec_bg srv 0 --sh 'echo out; echo err >&2'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output "out"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/srv.err")" "err"

	exec_bg srv2 --stderr 0 --sh 'echo out; echo err >&2'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output "out
err"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	[ ! -s "$T/srv2.err" ]
}

@test "exec: the program gets only stdin, stdout and stderr, no other descriptor of sockt" {
	exec 7<"$T/" 2>/dev/null || exec 7</dev/null
	exec_bg srv 0 --sh 'ls /proc/self/fd'
	exec 7<&-
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	# 0, 1, 2, and the directory ls itself opened
	assert_equal "$(printf '%s\n' "$output" | grep -cvx '[012]')" 1
	wait_exit "$BG_PID"
}

@test "exec: no shell without --sh: arguments reach the program as they are" {
	exec_bg srv 0 -- printf '%s|' 'a b' '$HOME' '*' ';'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output 'a b|$HOME|*|;|'
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
}

# ---------------------------------------------------------------------
# Environment, addresses, exit status

@test "exec: SOCKT_PROTO, SOCKT_PEER_ADDR/PORT and SOCKT_LOCAL_ADDR/PORT describe the connection" {
	local sport
	exec_bg srv 0 --sh 'echo "$SOCKT_PROTO $SOCKT_PEER_ADDR $SOCKT_PEER_PORT $SOCKT_LOCAL_ADDR $SOCKT_LOCAL_PORT"'
	sport=$(free_port)
	run --separate-stderr sockt connect -p "$sport" 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output "tcp 127.0.0.1 $sport 127.0.0.1 $PORT"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
}

@test "exec: the SOCKT_* variables over IPv6 loopback" {
	[ -n "$(ip -6 addr show dev lo 2>/dev/null)" ] || skip "no IPv6 loopback"
	exec_bg srv 0 --sh 'echo "$SOCKT_PROTO $SOCKT_PEER_ADDR $SOCKT_LOCAL_ADDR $SOCKT_LOCAL_PORT"'
	run --separate-stderr sockt connect ::1 "$PORT" </dev/null
	assert_success
	assert_output "tcp ::1 ::1 $PORT"
	wait_exit "$BG_PID"
}

@test "exec -U: a Unix socket; SOCKT_PROTO=unix, the path as SOCKT_LOCAL_ADDR, ports empty" {
	exec_bg srv -U "$T/s" --sh 'echo "[$SOCKT_PROTO][$SOCKT_PEER_ADDR][$SOCKT_PEER_PORT][$SOCKT_LOCAL_ADDR][$SOCKT_LOCAL_PORT]"; tr a-z A-Z'
	assert_equal "$PORT" "$T/s"
	run --separate-stderr sockt connect -U "$T/s" < <(printf 'hello\n')
	assert_success
	assert_output "[unix][][][$T/s][]
HELLO"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	[ ! -e "$T/s" ]
}

@test "exec -U without -k: a second client is refused (not 'No such file'), the file goes at exit" {
	exec_bg srv -U "$T/s" --sh 'echo started; cat'
	local srv=$BG_PID
	hold_fifo cli.in
	local w=$HELD
	spawn cli "$SOCKT" connect -U "$T/s" <"$T/cli.in"
	local cli=$BG_PID
	wait_until -- grep -q started "$T/cli.out"
	[ -S "$T/s" ]
	run --separate-stderr sockt connect -U "$T/s" </dev/null
	one_line_error 1 "^sockt: connect $T/s: Connection refused$"
	release "$w"
	wait_exit "$cli"
	assert_equal "$EXIT" 0
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	[ ! -e "$T/s" ]
}

@test "exec: without ADDRESS it listens on loopback only (127.0.0.1 and ::1) and says so under -v" {
	exec_bg srv -v 0 -- true
	grep -qx 'sockt: no ADDRESS given: listening on loopback only' "$T/srv.err"
	grep -qx "sockt: listening on 127.0.0.1:$PORT" "$T/srv.err"
	run ss -Hltn "( sport = :$PORT )"
	assert_success
	local addrs
	addrs=$(printf '%s\n' "$output" | awk '{ print $4 }' | sort)
	if [ -n "$(ip -6 addr show dev lo 2>/dev/null)" ]; then
		assert_equal "$addrs" "127.0.0.1:$PORT
[::1]:$PORT"
	else
		assert_equal "$addrs" "127.0.0.1:$PORT"
	fi
}

@test "exec: an explicit ADDRESS is used as given (HOST PORT and HOST:PORT)" {
	exec_bg srv 127.0.0.1 0 -- echo one
	run ss -Hltn "( sport = :$PORT )"
	assert_equal "$(printf '%s\n' "$output" | awk '{ print $4 }')" "127.0.0.1:$PORT"
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_output "one"
	wait_exit "$BG_PID"
	exec_bg srv2 127.0.0.1:0 -- echo two
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_output "two"
	wait_exit "$BG_PID"
}

@test "exec: one-shot exit status is the program's: 0, 3, and 128+N when killed by signal N" {
	exec_bg srv0 0 -- true
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0

	exec_bg srv3 0 --sh 'echo bye; exit 3'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output "bye"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 3
	[ ! -s "$T/srv3.err" ]

	exec_bg srvk 0 --sh 'kill -TERM $$'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 143

	exec_bg srv9 0 --sh 'kill -KILL $$'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 137
}

@test "exec: a program that cannot be executed: the client is closed, one error line, exit 1" {
	exec_bg srv 0 -- "$T/no-such-program" arg
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output ""
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 1
	assert_equal "$(cat "$T/srv.err")" "sockt: exec $T/no-such-program: No such file or directory"

	printf 'not a program\n' >"$T/plain"
	chmod -x "$T/plain"
	exec_bg srv2 0 -- "$T/plain"
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'input\n')
	assert_output ""
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 1
	assert_equal "$(cat "$T/srv2.err")" "sockt: exec $T/plain: Permission denied"
}

@test "exec -k: a program that cannot be executed is reported per client; sockt keeps serving" {
	exec_bg srv -k 0 -- "$T/no-such-program"
	local srv=$BG_PID
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_output ""
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_output ""
	wait_until -- test "$(grep -c . "$T/srv.err")" -eq 2
	assert_equal "$(sort -u "$T/srv.err")" "sockt: exec $T/no-such-program: No such file or directory"
	kill -0 "$srv"
	nchildren_is "$srv" 0
}

# ---------------------------------------------------------------------
# -k: many clients

@test "exec -k: 50 concurrent clients, each with its own program and its own answer (checksummed)" {
	local i pid sum pids n=50
	hold_fifo gate
	local gate=$HELD
	# every program waits at the gate until all 50 run at once
	exec_bg srv -k 0 --sh "read go <'$T/gate'; echo \$\$; sha256sum"
	local srv=$BG_PID
	for i in $(seq $n); do
		random_file "$T/in.$i" 100000
		spawn "c$i" "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/in.$i"
		pids="$pids $BG_PID"
	done
	wait_until -- nchildren_is "$srv" $n
	for i in $(seq $n); do printf 'go\n' >&"$gate"; done
	for pid in $pids; do
		wait_exit "$pid"
		assert_equal "$EXIT" 0
	done
	for i in $(seq $n); do
		sum=$(sed -n 2p "$T/c$i.out")
		assert_equal "$sum" "$(checksum "$T/in.$i")  -"
	done
	# 50 different programs answered
	assert_equal "$(for i in $(seq $n); do sed -n 1p "$T/c$i.out"; done | sort -u | wc -l)" $n
	# every one is reaped: no zombie is left
	wait_until -- nchildren_is "$srv" 0
	kill -0 "$srv"
}

@test "exec -k --max-conns 1: a second client is closed at once while the first is served" {
	hold_fifo one.in
	local w=$HELD
	exec_bg srv -k -v --max-conns 1 0 -- cat
	local srv=$BG_PID
	spawn one "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/one.in"
	local one=$BG_PID
	printf 'first\n' >&"$w"
	wait_until -- grep -qx first "$T/one.out"
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output ""
	grep -Eq '^sockt: refused 127\.0\.0\.1:[0-9]+: --max-conns 1 reached$' "$T/srv.err"
	nchildren_is "$srv" 1
	printf 'more\n' >&"$w"
	release "$w"
	wait_exit "$one"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/one.out")" "first
more"
	# once the first program is reaped, its place is free again
	wait_until -- grep -q 'cat exited with status 0' "$T/srv.err"
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'third\n')
	assert_success
	assert_output "third"
}

@test "exec -k --allow/--deny: a refused client gets no program, an admitted one does" {
	exec_bg srv -k -v --allow 127.0.0.2 0 -- echo hi
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output ""
	grep -Eq '^sockt: refused 127\.0\.0\.1:[0-9]+: not allowed by --allow/--deny$' "$T/srv.err"
	run --separate-stderr sockt connect -s 127.0.0.2 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output "hi"

	exec_bg srv2 -k -v --allow 127.0.0.0/8 --deny 127.0.0.2 0 -- echo hi
	run --separate-stderr sockt connect -s 127.0.0.2 127.0.0.1 "$PORT" </dev/null
	assert_output ""
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_output "hi"
	wait_until -- grep -q 'echo exited' "$T/srv2.err"
	assert_equal "$(grep -c 'echo exited' "$T/srv2.err")" 1
	assert_equal "$(grep -c 'refused 127.0.0.2' "$T/srv2.err")" 1
}

# ---------------------------------------------------------------------
# Signals and cleanup

@test "exec -k: SIGTERM terminates every program (and what they started), reaps them, dies by SIGTERM (143)" {
	local i srv kids grandkids
	hold_fifo in
	local w=$HELD
	exec_bg srv -k 0 --sh 'sleep 1000 & echo $!; cat'
	srv=$BG_PID
	for i in 1 2 3; do
		spawn "c$i" "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/in"
	done
	wait_until -- nchildren_is "$srv" 3
	for i in 1 2 3; do wait_file "$T/c$i.out"; done
	kids=$(children "$srv")
	grandkids=$(cat "$T"/c?.out)
	kill -TERM "$srv"
	wait_exit "$srv"
	assert_equal "$EXIT" 143
	# shellcheck disable=SC2086
	wait_until -- gone $kids $grandkids
}

@test "exec: a program that ignores SIGTERM is killed after the grace period; nothing is left" {
	hold_fifo in
	# it ignores end of file too: only SIGKILL ends it
	exec_bg srv -k -v 0 --sh 'trap "" TERM; echo $$; exec sleep 1000'
	local srv=$BG_PID
	spawn c "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/in"
	wait_file "$T/c.out"
	local kids
	kids=$(cat "$T/c.out")
	kill -TERM "$srv"
	wait_exit "$srv"
	assert_equal "$EXIT" 143
	grep -q 'outlived SIGTERM' "$T/srv.err"
	# shellcheck disable=SC2086
	gone $kids
}

@test "exec: SIGINT during a one-shot session ends the program; sockt dies by SIGINT (130)" {
	hold_fifo in
	exec_bg srv 0 --sh 'echo ready; cat'
	local srv=$BG_PID
	spawn c "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/in"
	wait_until -- grep -qx ready "$T/c.out"
	local kids
	kids=$(children "$srv")
	kill -INT "$srv"
	wait_exit "$srv"
	assert_equal "$EXIT" 130
	# shellcheck disable=SC2086
	gone $kids
}

@test "exec -i: an idle connection ends, its program is terminated: one line, exit 1" {
	hold_fifo in
	exec_bg srv -i 0.3 0 --sh 'echo $$; exec sleep 1000'
	local srv=$BG_PID
	spawn c "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/in"
	wait_file "$T/c.out"
	local kids
	kids=$(cat "$T/c.out")
	wait_exit "$srv"
	assert_equal "$EXIT" 1
	assert_equal "$(grep -c . "$T/srv.err")" 1
	grep -q '^sockt: idle timeout' "$T/srv.err"
	# shellcheck disable=SC2086
	gone $kids
}

@test "exec: a client that resets the connection: one line, exit 1, the program is terminated" {
	exec_bg srv 0 --sh 'echo $$; exec sleep 1000'
	local srv=$BG_PID
	py_bg cli '
c = tcp_connect(sys.argv[1])
pid = c.recv(100)
reset(c)
save("pid", pid)' "$PORT"
	wait_file "$T/pid"
	local kids
	kids=$(cat "$T/pid")
	wait_exit "$srv"
	assert_equal "$EXIT" 1
	assert_equal "$(grep -c . "$T/srv.err")" 1
	grep -q '^sockt: .*Connection reset by peer' "$T/srv.err"
	# shellcheck disable=SC2086
	gone $kids
}

# ---------------------------------------------------------------------
# --connect, -x

@test "exec --connect: reverse mode serves a 'sockt listen' it connects to; exit 0" {
	printf 'hello from the listener\n' >"$T/in"
	spawn_listen srv 127.0.0.1 0 <"$T/in"
	local srv=$BG_PID
	run --separate-stderr sockt exec -v --connect 127.0.0.1 "$PORT" -- tr a-z A-Z
	assert_success
	[[ "$stderr" == *"connected to 127.0.0.1:$PORT"* ]] || fail "$stderr"
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/srv.out")" "HELLO FROM THE LISTENER"
}

@test "exec --connect: the exit status is the program's; a refused connection is one line, exit 1" {
	spawn_listen srv 127.0.0.1 0 </dev/null
	run --separate-stderr sockt exec --connect 127.0.0.1:"$PORT" --sh 'exit 4'
	assert_equal "$status" 4
	local port
	port=$(free_port)
	run --separate-stderr sockt exec --connect 127.0.0.1 "$port" -- cat
	one_line_error 1 "^sockt: connect 127.0.0.1:$port: Connection refused$"
}

@test "exec -x: a hex dump of what the client sent ('<') and what the program answered ('>')" {
	exec_bg srv -x "$T/dump" 0 -- tr a-z A-Z
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'hello\n')
	assert_output "HELLO"
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
	run cat "$T/dump"
	assert_equal "${#lines[@]}" 2
	assert_line --regexp '^< 00000000  68 65 6c 6c 6f 0a +\|hello\.\|$'
	assert_line --regexp '^> 00000000  48 45 4c 4c 4f 0a +\|HELLO\.\|$'
}

@test "exec -o: a copy of what the client sent" {
	random_file "$T/in" 1000000
	exec_bg srv -o "$T/copy" 0 -- sha256sum
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" <"$T/in"
	assert_output "$(checksum "$T/in")  -"
	wait_exit "$BG_PID"
	same_bytes "$T/in" "$T/copy"
}

@test "exec -x or -o to a full device (/dev/full): one line naming it, exit 1; with -k it stops serving" {
	local opt keep
	for keep in "" -k; do
		for opt in -x -o; do
			local name="srv$keep$opt"
			exec_bg "$name" $keep "$opt" /dev/full 0 -- cat
			local srv=$BG_PID
			run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'hello\n')
			wait_exit "$srv"
			assert_equal "$EXIT" 1
			assert_equal "$(cat "$T/$name.err")" "sockt: write to /dev/full: No space left on device"
		done
	done
}

# ---------------------------------------------------------------------
# --pty

@test "exec --pty: stdin, stdout and stderr are a terminal, its controlling terminal" {
	exec_bg srv --pty 0 --sh 'tty; test -t 0 && test -t 1 && test -t 2 && echo all-tty; : </dev/tty && echo ctty'
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_line --index 0 --regexp '^/dev/pts/[0-9]+'$'\r''$'
	assert_line --index 1 "all-tty"$'\r'
	assert_line --index 2 "ctty"$'\r'
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
}

@test "exec --pty: Ctrl-C (\\x03) interrupts a foreground sleep of an interactive shell; job control works" {
	hold_fifo in
	local w=$HELD
	spawn srv env PS1='remote$ ' "$SOCKT" exec --pty --port-file "$T/srv.port" 0 -- /bin/sh
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	spawn c "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/in"
	local c=$BG_PID
	printf 'sleep 1000\n' >&"$w"
	wait_until -- nchildren_is "$srv" 1
	local sh
	sh=$(children "$srv")
	wait_until -- pgrep -x sleep -P "$sh"
	printf '\003' >&"$w"
	wait_until -- sh -c "! pgrep -x sleep -P $sh"
	printf 'echo rc=$?\nexit 7\n' >&"$w"
	release "$w"
	wait_exit "$c"
	assert_equal "$EXIT" 0
	wait_exit "$srv"
	assert_equal "$EXIT" 7
	grep -q '^rc=130' "$T/c.out" || fail "$(cat -A "$T/c.out")"
}

@test "exec --pty: the client's end of file is typed as ^D: a shell at its prompt exits" {
	spawn srv env PS1='$ ' "$SOCKT" exec --pty --port-file "$T/srv.port" 0 -- /bin/sh
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'echo hi-$((1+1))\n')
	assert_success
	# the shell may print its prompt after the terminal echoed the line
	assert_line --regexp 'hi-2'$'\r''$'
	wait_exit "$srv"
	assert_equal "$EXIT" 0
}

@test "exec --pty -- bash: a client that is killed hangs up the terminal: bash is gone, sockt exits 129" {
	spawn srv env PS1='remote$ ' "$SOCKT" exec --pty --port-file "$T/srv.port" 0 -- bash --norc --noprofile
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	hold_fifo in
	local w=$HELD
	spawn c "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/in"
	local c=$BG_PID
	printf 'echo up-$((40+2))\n' >&"$w"
	# the client has read all there is (the prompt after the answer), so
	# dying it closes its connection with an end of file, not a reset
	prompt_after_answer() {
		[[ "$(cat "$T/c.out")" == *up-42*'remote$ ' ]]
	}
	wait_until -- prompt_after_answer
	local bash
	bash=$(children "$srv")
	[ -n "$bash" ]
	# the client dies: an end of file, and nothing is typed at bash's prompt
	kill -KILL "$c"
	wait_until -- gone "$bash"
	wait_exit "$srv"
	assert_equal "$EXIT" 129
	release "$w"
}

@test "exec -k --pty -- bash: killed and reset clients are hung up, with their jobs; sockt keeps serving" {
	spawn srv env PS1='remote$ ' "$SOCKT" exec -k --pty --port-file "$T/srv.port" 0 -- bash --norc --noprofile
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	# a client killed while its shell runs a job in the foreground
	hold_fifo in
	local w=$HELD
	spawn c "$SOCKT" connect 127.0.0.1 "$PORT" <"$T/in"
	local c=$BG_PID
	printf 'sleep 1000\n' >&"$w"
	wait_until -- nchildren_is "$srv" 1
	local bash sleep
	bash=$(children "$srv")
	wait_until -- pgrep -x sleep -P "$bash"
	sleep=$(pgrep -x sleep -P "$bash")
	kill -KILL "$c"
	wait_until -- gone "$bash" "$sleep"
	release "$w"
	# a client that resets its connection at the prompt
	py_bg r '
c = tcp_connect(sys.argv[1])
c.sendall(b"echo up-$((40+2))\n")
got = b""
while b"up-42" not in got:
    got += c.recv(1000)
reset(c)' "$PORT"
	local r=$BG_PID
	wait_exit "$r"
	assert_equal "$EXIT" 0
	wait_until -- nchildren_is "$srv" 0
	# and the next client is served
	run --separate-stderr sockt connect 127.0.0.1 "$PORT" < <(printf 'echo hi-$((1+1)); exit 3\n')
	assert_success
	assert_line --regexp 'hi-2'$'\r''$'
	alive "$srv"
}

@test "tmux: a person at 'connect --raw-tty' types into 'exec --pty -- /bin/sh', and the terminal comes back" {
	has tmux || skip "tmux is not installed"
	local sock="sockt-exec-$$-$BATS_TEST_NUMBER" tty sh
	tm() { tmux -L "$sock" -f /dev/null "$@"; }
	screen_has() { tm capture-pane -t t -p | grep -q -- "$1"; }

	spawn srv env PS1='remote$ ' "$SOCKT" exec --pty --port-file "$T/srv.port" 0 -- /bin/sh
	local srv=$BG_PID
	PORT=$(wait_port "$T/srv.port")
	TERM=xterm tm new-session -d -s t -x 100 -y 30 "env PS1='local\$ ' /bin/sh"
	tm display -p '#{pid}' >>"$BATS_TEST_TMPDIR/.pids"
	tty=$(tm display -p -t t '#{pane_tty}')
	wait_until -- screen_has 'local\$'
	tm send-keys -t t "stty -g >'$T/before'; '$SOCKT' connect --raw-tty 127.0.0.1 $PORT; echo rc=\$?; stty -g >'$T/after'" Enter
	wait_until -- screen_has 'remote\$'
	# raw while connected: no echo, no line editing, keys are not signals
	run stty -F "$tty" -a
	[[ "$output" == *-icanon* && "$output" == *-echo\ * && "$output" == *-isig* ]] ||
	    fail "not raw: $output"

	tm send-keys -t t 'echo hello-$((6*7)); tty' Enter
	wait_until -- screen_has 'hello-42'
	wait_until -- screen_has '^/dev/pts/[0-9]'
	tm send-keys -t t 'sleep 1000' Enter
	sh=$(children "$srv")
	wait_until -- pgrep -x sleep -P "$sh"
	tm send-keys -t t C-c
	wait_until -- sh -c "! pgrep -x sleep -P $sh"
	tm send-keys -t t 'echo rc2=$?' Enter
	wait_until -- screen_has 'rc2=130'
	# ^C went to the remote sleep: the local sockt is still connected
	pgrep -f -- "connect --raw-tty 127.0.0.1 $PORT"

	tm send-keys -t t 'exit' Enter
	wait_until -- screen_has '^rc=0'
	wait_exit "$srv"
	assert_equal "$EXIT" 0
	wait_file "$T/after"
	assert_equal "$(cat "$T/after")" "$(cat "$T/before")"
	tm kill-server
}

@test "tmux: connect --raw-tty killed by SIGTERM puts the terminal back and dies by SIGTERM" {
	has tmux || skip "tmux is not installed"
	local sock="sockt-exec-$$-$BATS_TEST_NUMBER" tty cli
	tm() { tmux -L "$sock" -f /dev/null "$@"; }
	screen_has() { tm capture-pane -t t -p | grep -q -- "$1"; }

	spawn srv env PS1='remote$ ' "$SOCKT" exec --pty --port-file "$T/srv.port" 0 -- /bin/sh
	PORT=$(wait_port "$T/srv.port")
	TERM=xterm tm new-session -d -s t -x 100 -y 30 "env PS1='local\$ ' /bin/sh"
	tm display -p '#{pid}' >>"$BATS_TEST_TMPDIR/.pids"
	tty=$(tm display -p -t t '#{pane_tty}')
	wait_until -- screen_has 'local\$'
	tm send-keys -t t "stty -g >'$T/before'; '$SOCKT' connect --raw-tty 127.0.0.1 $PORT; echo rc=\$?; stty -g >'$T/after'" Enter
	wait_until -- screen_has 'remote\$'
	run stty -F "$tty" -a
	[[ "$output" == *-icanon* ]] || fail "not raw: $output"
	cli=$(pgrep -f -- "connect --raw-tty 127.0.0.1 $PORT")
	kill -TERM "$cli"
	wait_until -- screen_has '^rc=143'
	wait_file "$T/after"
	assert_equal "$(cat "$T/after")" "$(cat "$T/before")"
	tm kill-server
}

@test "connect --raw-tty: standard input that is not a terminal is one line, exit 1, before connecting" {
	exec_bg srv -v 0 -- true
	run --separate-stderr sockt connect --raw-tty 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "^sockt: --raw-tty: standard input is not a terminal$"
	! grep -q 'connection from' "$T/srv.err"
	run --separate-stderr sockt connect -z --raw-tty 127.0.0.1 "$PORT"
	one_line_error 2 "cannot use -z with --raw-tty"
	run --separate-stderr sockt connect -d --raw-tty 127.0.0.1 "$PORT"
	one_line_error 2 "cannot use -d with --raw-tty"
}

# ---------------------------------------------------------------------
# Usage

@test "exec usage errors: no program, --sh with a program, missing endpoint, conflicts; exit 2" {
	run --separate-stderr sockt exec 0
	one_line_error 2 "missing -- PROGRAM"
	run --separate-stderr sockt exec 0 cat
	one_line_error 2 "missing -- PROGRAM"
	run --separate-stderr sockt exec 0 --
	one_line_error 2 "missing PROGRAM after --"
	run --separate-stderr sockt exec --sh true 0 -- cat
	one_line_error 2 "cannot use --sh with -- PROGRAM"
	run --separate-stderr sockt exec -- cat
	one_line_error 2 "missing PORT"
	run --separate-stderr sockt exec 127.0.0.1 0 extra -- cat
	one_line_error 2 "too many arguments: 'extra'"
	run --separate-stderr sockt exec 65536 -- cat
	one_line_error 2 "bad port '65536'"
	run --separate-stderr sockt exec --connect -k 127.0.0.1 1 -- cat
	one_line_error 2 "cannot use --connect with -k"
	run --separate-stderr sockt exec --connect --port-file "$T/p" 127.0.0.1 1 -- cat
	one_line_error 2 "cannot use --connect with --port-file"
	run --separate-stderr sockt exec --pty --stderr 0 -- cat
	one_line_error 2 "cannot use --pty with --stderr"
	run --separate-stderr sockt exec -s 127.0.0.1 0 -- cat
	one_line_error 2 "-s needs --connect"
	run --separate-stderr sockt exec --connect 127.0.0.1 0 -- cat
	one_line_error 2 "port '0'"
	run --separate-stderr sockt exec -q 1 0 -- cat
	one_line_error 2 "unknown option -q"
	[ ! -e "$T/p" ]
}

@test "exec --help: the usage forms and every option it takes" {
	run --separate-stderr sockt exec --help
	assert_success
	assert_line --index 0 --regexp '^usage: sockt exec .*-- PROGRAM'
	local opt
	for opt in -4 -6 -U -n -v -s -p -w -i -k --max-conns --allow --deny \
	    --port-file --hexdump --output --connect --pty --stderr --sh; do
		[[ "$output" == *" $opt"[\ ,]* ]] || fail "usage does not list $opt"
	done
}
