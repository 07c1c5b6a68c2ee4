#!/usr/bin/env bats
# tests/cli.bats - the command-line contract (design section 2): help and
# version, unknown commands and options, bad values, conflicting options.
# Every error is one line on stderr starting "sockt: "; usage errors exit
# 2, runtime failures 1.

bats_require_minimum_version 1.5.0
load helper

# Every run of sockt has a deadline: a hang fails its test, not the suite.
sockt() {
	timeout "$DEADLINE" "$SOCKT" "$@"
}


# The options each subcommand's usage must list (design section 2).
LISTEN_OPTS="-4 -6 -U -n -v -p -w -i -q -k -d --send-only --recv-only
--no-shutdown --max-conns --allow --deny --port-file --hexdump --output
--progress --broker --help"
CONNECT_OPTS="-4 -6 -U -n -v -s -p -w -i -q -d --send-only --recv-only
--no-shutdown --hexdump --output --progress --help"

# assert_lists_options OPTIONS: every option appears in $output.
assert_lists_options() {
	local opt
	for opt in $1; do
		[[ "$output" =~ (^|[[:space:],])"$opt"([[:space:],]|$) ]] ||
		    fail "usage does not list $opt"
	done
}

@test "sockt --help: usage and every subcommand with a summary on stdout, exit 0" {
	run --separate-stderr sockt --help
	assert_success
	assert_equal "$stderr" ""
	assert_line --index 0 --regexp '^usage: sockt '
	assert_line --regexp '^  connect +[a-z].+'
	assert_line --regexp '^  listen +[a-z].+'
}

@test "sockt -h prints the same as --help" {
	run --separate-stderr sockt --help
	local long=$output
	run --separate-stderr sockt -h
	assert_success
	assert_equal "$output" "$long"
}

@test "sockt help prints the same as --help" {
	run --separate-stderr sockt --help
	local long=$output
	run --separate-stderr sockt help
	assert_success
	assert_equal "$output" "$long"
	assert_equal "$stderr" ""
}

@test "sockt --version and -V: 'sockt VERSION' on stdout, exit 0" {
	run --separate-stderr sockt --version
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 1
	assert_output --regexp '^sockt [0-9]+\.[0-9]+(\.[0-9]+)?'
	local long=$output
	run --separate-stderr sockt -V
	assert_success
	assert_equal "$output" "$long"
}

@test "sockt listen --help: its usage and every option it takes, exit 0" {
	run --separate-stderr sockt listen --help
	assert_success
	assert_equal "$stderr" ""
	assert_line --index 0 --regexp '^usage: sockt listen '
	assert_lists_options "$LISTEN_OPTS"
}

@test "sockt connect --help: its usage and every option it takes, exit 0" {
	run --separate-stderr sockt connect --help
	assert_success
	assert_equal "$stderr" ""
	assert_line --index 0 --regexp '^usage: sockt connect '
	assert_lists_options "$CONNECT_OPTS"
}

@test "sockt help CMD, CMD --help and CMD -h print the same usage" {
	local cmd want
	for cmd in listen connect; do
		run --separate-stderr sockt "$cmd" --help
		want=$output
		run --separate-stderr sockt help "$cmd"
		assert_success
		assert_equal "$output" "$want"
		run --separate-stderr sockt "$cmd" -h
		assert_success
		assert_equal "$output" "$want"
	done
}

@test "sockt --help lists only subcommands that have working help" {
	local cmd
	run --separate-stderr sockt --help
	for cmd in $(printf '%s\n' "$output" | sed -n '/^commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p'); do
		run --separate-stderr sockt help "$cmd"
		assert_success
		assert_line --index 0 --regexp "^usage: sockt $cmd "
	done
}

@test "--help ignores the other arguments: sockt listen --help 99999 exits 0" {
	run --separate-stderr sockt listen --help 99999
	assert_success
	assert_line --index 0 --regexp '^usage: sockt listen '
}

@test "sockt with no arguments: usage on stderr, nothing on stdout, exit 2" {
	run --separate-stderr sockt
	assert_equal "$status" 2
	assert_equal "$output" ""
	[[ "$stderr" == *usage:* ]] || fail "no usage on stderr: $stderr"
}

@test "unknown subcommand: one line naming it with a hint, exit 2" {
	run --separate-stderr sockt lisen 0
	one_line_error 2 "'?lisen'?.*sockt --help"
}

@test "unknown global option: one line naming it, exit 2" {
	run --separate-stderr sockt --bogus
	one_line_error 2 "--bogus"
}

@test "sockt help UNKNOWN: one line naming it, exit 2" {
	run --separate-stderr sockt help bogus
	one_line_error 2 "bogus"
}

@test "unknown long option of a subcommand: one line naming it with a hint, exit 2" {
	run --separate-stderr sockt listen --bogus 0
	one_line_error 2 "--bogus.*sockt listen --help"
}

@test "unknown short option of a subcommand: one line naming it, exit 2" {
	run --separate-stderr sockt connect -Z 127.0.0.1 80
	one_line_error 2 "-Z"
}

@test "an option of another subcommand is unknown: connect -k, connect --port-file" {
	run --separate-stderr sockt connect -k 127.0.0.1 80
	one_line_error 2 "unknown option -k"
	run --separate-stderr sockt connect --port-file "$T/p" 127.0.0.1 80
	one_line_error 2 "--port-file"
	[ ! -e "$T/p" ]
}

@test "an option without its value: one line naming it, exit 2" {
	run --separate-stderr sockt connect 127.0.0.1 80 -w
	one_line_error 2 "-w"
	run --separate-stderr sockt listen --port-file
	one_line_error 2 "--port-file"
}

@test "port 65536 is a usage error naming the port (connect and listen)" {
	run --separate-stderr sockt connect 127.0.0.1 65536
	one_line_error 2 "bad port '65536'"
	run --separate-stderr sockt listen 65536
	one_line_error 2 "bad port '65536'"
	run --separate-stderr sockt connect 127.0.0.1:65536
	one_line_error 2 "bad port '65536'"
}

@test "port -1 is a usage error (connect, listen -p, after --)" {
	run --separate-stderr sockt connect 127.0.0.1 -1
	one_line_error 2 "-1"
	run --separate-stderr sockt connect 127.0.0.1 -- -1
	one_line_error 2 "bad port '-1'"
	run --separate-stderr sockt listen -p -1
	one_line_error 2 "bad port '-1'"
}

@test "port abc (not a number, not a service) is a usage error naming it" {
	run --separate-stderr sockt connect 127.0.0.1 abc
	one_line_error 2 "bad port 'abc'"
	run --separate-stderr sockt listen abc
	one_line_error 2 "bad port 'abc'"
	run --separate-stderr sockt listen -p abc
	one_line_error 2 "bad port 'abc'"
}

@test "port 99999999999999999999 (overflow) is a usage error" {
	run --separate-stderr sockt connect 127.0.0.1 99999999999999999999
	one_line_error 2 "bad port '99999999999999999999'"
}

@test "a bad source port (connect -p) is a usage error like any bad port" {
	run --separate-stderr sockt connect -p 99999 127.0.0.1 80
	one_line_error 2 "bad port '99999'"
	run --separate-stderr sockt connect -p abc 127.0.0.1 80
	one_line_error 2 "bad port 'abc'"
}

@test "an empty or too long Unix socket path is a usage error" {
	local long
	long=$(printf 'x%.0s' $(seq 120))
	run --separate-stderr sockt listen -U ''
	one_line_error 2 "''"
	run --separate-stderr sockt connect -U "$T/$long"
	one_line_error 2 "$long"
	run --separate-stderr sockt listen -U "$T/$long"
	one_line_error 2 "$long"
}

@test "connect to port 0 is a usage error" {
	run --separate-stderr sockt connect 127.0.0.1 0
	one_line_error 2 "port '0'"
}

@test "missing arguments: connect without HOST PORT, listen without PORT, -U without PATH" {
	run --separate-stderr sockt connect
	one_line_error 2 "missing"
	run --separate-stderr sockt connect 127.0.0.1
	one_line_error 2 "missing PORT"
	run --separate-stderr sockt listen
	one_line_error 2 "missing PORT"
	run --separate-stderr sockt connect -U
	one_line_error 2 "missing PATH"
	run --separate-stderr sockt listen -U
	one_line_error 2 "missing PATH"
}

@test "too many arguments is a usage error naming the extra one" {
	run --separate-stderr sockt connect 127.0.0.1 80 extra
	one_line_error 2 "extra"
	run --separate-stderr sockt listen 127.0.0.1 0 extra
	one_line_error 2 "extra"
	run --separate-stderr sockt listen -U "$T/s" extra
	one_line_error 2 "extra"
	[ ! -e "$T/s" ]
}

@test "listen -p PORT with a PORT argument too is a usage error" {
	run --separate-stderr sockt listen -p 0 127.0.0.1 0
	one_line_error 2 "-p"
}

@test "malformed HOST:PORT and [IPV6]:PORT forms are usage errors" {
	run --separate-stderr sockt connect '[::1]80'
	one_line_error 2 "bad address '\[::1\]80'"
	run --separate-stderr sockt connect '[::1'
	one_line_error 2 "bad address"
	run --separate-stderr sockt connect ':80'
	one_line_error 2 "bad address ':80'"
	run --separate-stderr sockt connect '127.0.0.1:'
	one_line_error 2 "bad address '127.0.0.1:'"
}

@test "unknown host: one line naming the host, exit 1" {
	run --separate-stderr sockt connect no-such-host.invalid 80
	one_line_error 1 "no-such-host\.invalid"
}

@test "listen on an address this host does not have: one line, exit 1" {
	run --separate-stderr sockt listen 192.0.2.1 0
	one_line_error 1 "192\.0\.2\.1.*Cannot assign requested address"
}

@test "-n refuses to resolve a host name: exit 1, nothing connects" {
	spawn_listen srv -v 127.0.0.1 0 </dev/null
	run --separate-stderr sockt connect -n localhost "$PORT" </dev/null
	one_line_error 1 "localhost"
	# the listener is still waiting for its first client; -n takes numbers
	run --separate-stderr sockt connect -n 127.0.0.1 "$PORT" </dev/null
	assert_success
	wait_exit "$BG_PID"
	assert_equal "$EXIT" 0
}

@test "conflicting options: -4 with -6" {
	run --separate-stderr sockt listen -4 -6 0
	one_line_error 2 "cannot use -4 with -6"
	run --separate-stderr sockt connect -6 -4 127.0.0.1 80
	one_line_error 2 "cannot use -[46] with -[46]"
}

@test "conflicting options: --send-only with --recv-only" {
	run --separate-stderr sockt listen --send-only --recv-only 0
	one_line_error 2 "cannot use --send-only with --recv-only"
	run --separate-stderr sockt connect --recv-only --send-only 127.0.0.1 80
	one_line_error 2 "cannot use --(send|recv)-only with --(send|recv)-only"
}

@test "conflicting options: -U with -4, -6, -s, -p" {
	run --separate-stderr sockt listen -U -4 "$T/s"
	one_line_error 2 "cannot use -U with -4"
	run --separate-stderr sockt connect -U -6 "$T/s"
	one_line_error 2 "cannot use -U with -6"
	run --separate-stderr sockt connect -U -s 127.0.0.1 "$T/s"
	one_line_error 2 "cannot use -U with -s"
	run --separate-stderr sockt listen -U -p 5 "$T/s"
	one_line_error 2 "cannot use -U with -p"
	[ ! -e "$T/s" ]
}

@test "conflicting options: -d with --send-only, -q, --no-shutdown" {
	run --separate-stderr sockt connect -d --send-only 127.0.0.1 80
	one_line_error 2 "cannot use --send-only with -d|cannot use -d with --send-only"
	run --separate-stderr sockt connect -d -q 1 127.0.0.1 80
	one_line_error 2 "cannot use -d with -q|cannot use -q with -d"
	run --separate-stderr sockt listen -d --no-shutdown 0
	one_line_error 2 "cannot use -d with --no-shutdown|cannot use --no-shutdown with -d"
}

@test "conflicting options: --recv-only with --no-shutdown and with -q" {
	run --separate-stderr sockt connect --recv-only --no-shutdown 127.0.0.1 80
	one_line_error 2 "cannot use --recv-only with --no-shutdown"
	run --separate-stderr sockt connect --recv-only -q 1 127.0.0.1 80
	one_line_error 2 "cannot use --recv-only with -q"
}

@test "conflicts are found before anything is opened (no --port-file, no socket file)" {
	run --separate-stderr sockt listen -4 -6 --port-file "$T/p" 0
	assert_equal "$status" 2
	[ ! -e "$T/p" ]
}

@test "unwritable --port-file: one line naming the file, exit 1, promptly" {
	run --separate-stderr sockt listen --port-file "$T/no/such/dir/port" 0
	one_line_error 1 "--port-file $T/no/such/dir/port: No such file or directory"
	touch "$T/plain"
	run --separate-stderr sockt listen --port-file "$T/plain/port" 0
	one_line_error 1 "--port-file $T/plain/port: Not a directory"
}

@test "unwritable --port-file for a Unix socket leaves no socket file behind" {
	run --separate-stderr sockt listen -U --port-file "$T/no/dir/p" "$T/s"
	one_line_error 1 "--port-file"
	[ ! -e "$T/s" ]
}

@test "bad -w values are usage errors naming the value" {
	local v
	for v in abc -1 '' 1.2345 1000001 1e3 0x10 1. 2s; do
		run --separate-stderr sockt connect -w "$v" 127.0.0.1 80
		one_line_error 2 "'$v'"
	done
}

@test "bad -q values are usage errors naming the value" {
	local v
	for v in abc -1 '' 1.2345 1000001 nan; do
		run --separate-stderr sockt connect -q "$v" 127.0.0.1 80
		one_line_error 2 "'$v'"
	done
}

@test "bad -i values are usage errors naming the value" {
	local v
	for v in abc -1 '' 1.2345 1000001 inf; do
		run --separate-stderr sockt listen -i "$v" 0
		one_line_error 2 "'$v'"
	done
}

@test "good seconds values are accepted: -w 0.5, -w 3, -q 0, -i 1.25" {
	run --separate-stderr sockt connect -w 0.5 -q 0 -i 1.25 127.0.0.1 -- -1
	# the options passed; only the port is wrong
	one_line_error 2 "bad port '-1'"
	run --separate-stderr sockt listen -w 3 -i 0.001 -q 1000000 -- -1
	one_line_error 2 "bad port '-1'"
}

@test "bad --max-conns, --allow, --deny values are usage errors naming the value" {
	run --separate-stderr sockt listen --max-conns abc 0
	one_line_error 2 "'abc'"
	run --separate-stderr sockt listen --max-conns -3 0
	one_line_error 2 "'-3'"
	run --separate-stderr sockt listen --allow 10.0.0.0/33 0
	one_line_error 2 "'10.0.0.0/33'"
	run --separate-stderr sockt listen -n --deny not-an-address 0
	one_line_error 2 "'not-an-address'"
}

# ere STRING: STRING with every extended regex metacharacter escaped.
ere() {
	printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'
}

@test "a number with a sign or a blank is a usage error: prefixes, counts, seconds, ports" {
	local v
	# strtonum() alone takes "-0" as 0 (--allow 1.2.3.4/-0 admitted all)
	for v in 1.2.3.4/-0 1.2.3.4/+24 '1.2.3.4/ 24' ::1/+128 '::1/ 1'; do
		run --separate-stderr sockt listen -w 0.01 --allow "$v" 0
		one_line_error 2 "^sockt: bad --allow '$(ere "$v")': "
		run --separate-stderr sockt listen -w 0.01 --deny "$v" 0
		one_line_error 2 "^sockt: bad --deny '$(ere "$v")': "
	done
	for v in -1 +5 -0 ' 5' '5 '; do
		run --separate-stderr sockt listen -w 0.01 --max-conns "$v" 0
		one_line_error 2 "^sockt: bad --max-conns '$(ere "$v")': .*\(0-1000000\)"
	done
	for v in ' 1' +1 -0 1.+5 '1. 5' +0.5; do
		run --separate-stderr sockt connect -w "$v" 127.0.0.1 80
		one_line_error 2 "^sockt: bad number of seconds '$(ere "$v")' "
	done
	# OPTION|VALUE
	for v in 'count|+3' 'count| 3' 'rcvbuf|+4096'; do
		run --separate-stderr sockt udp-recv -w 0.01 "--${v%%|*}" \
		    "${v#*|}" 0
		one_line_error 2 "^sockt: bad --${v%%|*} '$(ere "${v#*|}")': "
	done
	for v in 'ttl|-0' 'ttl|+64' 'size|+3' 'size| 3'; do
		run --separate-stderr sockt udp-send "--${v%%|*}" "${v#*|}" \
		    127.0.0.1 9 </dev/null
		one_line_error 2 "^sockt: bad --${v%%|*} '$(ere "${v#*|}")': "
	done
	run --separate-stderr sockt connect -z --parallel +3 127.0.0.1 1
	one_line_error 2 "^sockt: bad --parallel '\+3': "
	for v in ' 80' +80 '80 ' -80; do
		run --separate-stderr sockt connect 127.0.0.1 -- "$v"
		one_line_error 2 "^sockt: bad port '$(ere "$v")': "
		run --separate-stderr sockt listen -w 0.01 -p "$v"
		one_line_error 2 "^sockt: bad port '$(ere "$v")': "
	done
	for v in 1-+2 '1- 2'; do
		run --separate-stderr sockt connect -z 127.0.0.1 "$v"
		one_line_error 2 "^sockt: bad port '$(ere "${v#1-}")': "
	done
}

@test "leading zeros are plain decimal: --allow /024, -w 010, --max-conns 007, port 0PORT" {
	# the options pass; the run then ends by its own -w deadline
	run --separate-stderr sockt listen -w 0.010 --allow 10.0.0.0/024 \
	    --deny ::1/0128 --max-conns 007 127.0.0.1 0
	one_line_error 1 "^sockt: accept: no client within 0.010 s \(-w\)$"
	bg srv sockt listen --port-file "$T/port" 127.0.0.1 0 </dev/null
	PORT=$(wait_port "$T/port")
	run --separate-stderr sockt connect -w 010 127.0.0.1 "0$PORT" <<<hi
	assert_success
}

@test "usage errors name the subcommand's help: (see 'sockt connect --help')" {
	run --separate-stderr sockt connect 127.0.0.1 65536
	one_line_error 2 "\(see 'sockt connect --help'\)$"
}

# two_line_hint STATUS ERROR_REGEX HINT_REGEX: after `run --separate-stderr`,
# the status, an empty stdout, the error line and then one hint line.
two_line_hint() {
	assert_equal "$status" "$1"
	assert_equal "$output" ""
	assert_equal "${#stderr_lines[@]}" 2
	[[ "${stderr_lines[0]}" =~ $2 ]] ||
	    fail "error line '${stderr_lines[0]}' does not match /$2/"
	[[ "${stderr_lines[1]}" =~ ^sockt:\ hint:\ $3 ]] ||
	    fail "hint line '${stderr_lines[1]}' does not match /$3/"
}

@test "habits of nc, ncat and curl get the error and one hint line pointing the way, exit 2" {
	run --separate-stderr sockt listen -l 9000
	two_line_hint 2 "^sockt: unknown option -l " "listen already listens"
	run --separate-stderr sockt connect -l 9000
	two_line_hint 2 "^sockt: unknown option -l " "to listen, use sockt listen"
	run --separate-stderr sockt connect -u 127.0.0.1 53
	two_line_hint 2 "^sockt: unknown option -u " "UDP has its own subcommands: sockt udp-send"
	for o in -e --exec; do
		run --separate-stderr sockt connect "$o" /bin/sh 127.0.0.1 1
		two_line_hint 2 "^sockt: unknown option $o " "to run a program for each connection: sockt exec"
	done
	for o in -c --sh-exec; do
		run --separate-stderr sockt listen "$o" 'cat' 9000
		two_line_hint 2 "^sockt: unknown option $o " "to run a shell command for each connection: sockt exec --sh 'COMMAND' PORT"
	done
	run --separate-stderr sockt connect -N 127.0.0.1 1
	two_line_hint 2 "^sockt: unknown option -N " "sockt half-closes the socket at the end of stdin already"
	run --separate-stderr sockt fetch-file -O http://127.0.0.1:1/f
	two_line_hint 2 "^sockt: unknown option -O " "fetch-file already saves under the remote name; -o NAME"
	run --separate-stderr sockt fetch-file -L http://127.0.0.1:1/f
	two_line_hint 2 "^sockt: unknown option -L " "fetch-file follows redirects by itself"
	run --separate-stderr sockt fetch-file -I http://127.0.0.1:1/f
	two_line_hint 2 "^sockt: unknown option -I " "fetch-file always fetches the file"
}

@test "a mistyped subcommand gets 'did you mean', exit 2; an unknown one without a near name does not" {
	run --separate-stderr sockt lisen 9000
	one_line_error 2 "^sockt: unknown command 'lisen': did you mean 'listen'\? "
	run --separate-stderr sockt conect 127.0.0.1 1
	one_line_error 2 "did you mean 'connect'\?"
	run --separate-stderr sockt serve 8000 .
	one_line_error 2 "did you mean 'serve-file'\?"
	run --separate-stderr sockt help lsten
	one_line_error 2 "did you mean 'listen'\?"
	run --separate-stderr sockt frobnicate
	one_line_error 2 "^sockt: unknown command 'frobnicate' \(see 'sockt --help'\)$"
}

@test "fetch-file -s URL (curl's silent) never takes the URL as a source address" {
	run --separate-stderr sockt fetch-file -s http://127.0.0.1:1/f
	one_line_error 2 "^sockt: -s takes a source address, not 'http://127.0.0.1:1/f'"
}
