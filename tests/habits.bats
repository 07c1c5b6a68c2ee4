#!/usr/bin/env bats
# tests/habits.bats - what users of nc, ncat and curl look for (issue 15):
# examples in every --help, --pty-size, and a manual entry for every
# option --help lists.

bats_require_minimum_version 1.5.0
load helper

MAN="$BATS_TEST_DIRNAME/../man/sockt.1"

# subcommands: every subcommand "sockt --help" lists, one a line.
subcommands() {
	sockt --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

# examples CMD: the example lines of "sockt CMD --help", unindented.
examples() {
	sockt "$1" --help | awk '/^examples:$/ { on = 1; next } on { sub(/^  /, ""); print }'
}

# fetch-file's entry is being rewritten on another branch, which adds its
# examples; every other subcommand must have them.
NO_EXAMPLES_YET=" "

@test "--help: each subcommand ends with 2 to 4 examples, each starting 'sockt SUBCOMMAND '" {
	local cmd n line count=0
	for cmd in $(subcommands); do
		[[ $NO_EXAMPLES_YET == *" $cmd "* ]] && continue
		count=$((count + 1))
		n=$(examples "$cmd" | wc -l)
		[ "$n" -ge 2 ] && [ "$n" -le 4 ] ||
		    fail "$cmd --help has $n example lines"
		# the examples block is the last thing printed
		[ "$(sockt "$cmd" --help | tail -n "$((n + 1))" | head -1)" = examples: ] ||
		    fail "$cmd --help: examples are not at the end"
		while IFS= read -r line; do
			[[ $line == "sockt $cmd "* ]] || fail "$cmd example: '$line'"
		done < <(examples "$cmd")
	done
	[ "$count" -ge 7 ] || fail "only $count subcommands checked"
}

@test "--help: every example's options parse (each option known, each value in bounds)" {
	local cmd line words w i n=0
	for cmd in $(subcommands); do
		while IFS= read -r line; do
			# the command alone: cut shell redirections and pipes
			line=${line%%[<>|]*}
			eval "words=($line)"
			# --help before a "--" (after it, words are the program's)
			local -a args=()
			for ((i = 2; i < ${#words[@]}; i++)); do
				[ "${words[i]}" = -- ] && break
				args+=("${words[i]}")
			done
			run sockt "$cmd" "${args[@]}" --help
			[ "$status" -eq 0 ] ||
			    fail "'$line' does not parse: $output"
			[[ ${lines[0]} == "usage: sockt $cmd "* ]] ||
			    fail "'$line': ${lines[0]}"
			n=$((n + 1))
		done < <(examples "$cmd")
	done
	[ "$n" -ge 14 ] || fail "only $n examples"
}

@test "--help: a bad option value in an example would be caught by the check above" {
	run sockt listen --max-conns -1 9000 --help
	assert_failure 2
	run sockt exec --pty-size 80 9000 --help
	assert_failure 2
}

@test "every option any --help lists has an entry in sockt(1)" {
	local cmd opt
	for cmd in $(subcommands); do
		for opt in $(sockt "$cmd" --help | grep -oE '^  (-[a-zA-Z0-9], )?--?[a-z0-9-]+' | grep -oE -- '--?[a-z0-9-]+$'); do
			case $opt in
			--*) grep -qE "^\.It .*Fl -${opt#--}( |$)" "$MAN" ||
			    fail "$cmd $opt has no .It entry" ;;
			*) grep -qE "^\.It .*Fl ${opt#-}( |$)" "$MAN" ||
			    fail "$cmd $opt has no .It entry" ;;
			esac
		done
	done
}

@test "man page: -C/--crlf and --mptcp have OPTIONS entries, --pty-size one under exec; mandoc -Tlint is clean" {
	grep -qx '.It Fl C , Fl -crlf' "$MAN"
	grep -qx '.It Fl -mptcp' "$MAN"
	grep -qx '.It Fl -pty-size Ar cols Ns Cm x Ns Ar rows' "$MAN"
	needs mandoc
	run mandoc -Tlint -W warning "$MAN"
	assert_success
	assert_output ""
}

@test "man page: EXAMPLES shows every subcommand" {
	local cmd
	for cmd in $(subcommands); do
		sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$MAN" | grep -q "^\\\$ .*sockt $cmd " ||
		    fail "no example of $cmd"
	done
}

@test "exec --pty-size 132x43: 'stty size' in the terminal says 43 132" {
	spawn srv "$SOCKT" exec --pty-size 132x43 --port-file "$T/srv.port" 127.0.0.1 0 --sh 'stty size'
	local srv=$BG_PID port
	port=$(wait_port "$T/srv.port")
	run sockt connect 127.0.0.1 "$port" </dev/null
	assert_success
	assert_output $'43 132\r'
	wait_exit "$srv"
	assert_equal "$EXIT" 0
}

@test "exec --pty without --pty-size: 'stty size' says 24 80" {
	spawn srv "$SOCKT" exec --pty --port-file "$T/srv.port" 127.0.0.1 0 --sh 'stty size'
	local srv=$BG_PID port
	port=$(wait_port "$T/srv.port")
	run sockt connect 127.0.0.1 "$port" </dev/null
	assert_success
	assert_output $'24 80\r'
	wait_exit "$srv"
	assert_equal "$EXIT" 0
}

@test "exec --pty-size: malformed or out-of-range sizes and --stderr are usage errors" {
	run sockt exec --pty-size 80 0 -- cat
	assert_failure 2
	assert_output "sockt: bad --pty-size '80': not COLSxROWS (see 'sockt exec --help')"
	run sockt exec --pty-size 0x24 0 -- cat
	assert_failure 2
	assert_output "sockt: bad --pty-size columns '0': too small (1-9999) (see 'sockt exec --help')"
	run sockt exec --pty-size 80x10000 0 -- cat
	assert_failure 2
	assert_output "sockt: bad --pty-size rows '10000': too large (1-9999) (see 'sockt exec --help')"
	run sockt exec --pty-size 80x24 --stderr 0 -- cat
	assert_failure 2
	assert_output "sockt: cannot use --pty-size with --stderr (see 'sockt exec --help')"
}
