#!/usr/bin/env bats
# tests/completion.bats - shell completion written by sockt from its own
# tables (sockt --completion bash|zsh): subcommands, each subcommand's
# options, file and host arguments; installed under the prefix.

bats_require_minimum_version 1.5.0
load helper

# complete WORD...: what the bash script offers for the last WORD of the
# command line WORD... (as bash would call it), one a line.
complete() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_sockt
	printf '%s\n' "${COMPREPLY[@]}"
}

load_bash() {
	sockt --completion bash >"$T/sockt.bash"
	# shellcheck disable=SC1091
	source "$T/sockt.bash"
}

@test "bash: 'sockt li' completes to listen; 'sockt help fo' to forward" {
	load_bash
	run complete sockt li
	assert_output listen
	run complete sockt help fo
	assert_output forward
}

@test "bash: 'sockt listen --max' completes to --max-conns; connect offers its own options, not listen's" {
	load_bash
	run complete sockt listen --max
	assert_output --max-conns
	run complete sockt connect --max
	assert_output ""
	run complete sockt connect --raw
	assert_output --raw-tty
	run complete sockt exec --pty
	assert_output $'--pty\n--pty-size'
}

@test "bash: file arguments (--port-file FILE, serve-file's FILE, -U PATH) complete to file names; an option's number to nothing" {
	load_bash
	mkdir "$T/d"
	touch "$T/d/portfile.txt" "$T/d/other"
	run complete sockt listen --port-file "$T/d/port"
	assert_output "$T/d/portfile.txt"
	run complete sockt serve-file 8000 "$T/d/oth"
	assert_output "$T/d/other"
	run complete sockt listen -U "$T/d/port"
	assert_output "$T/d/portfile.txt"
	run complete sockt listen -w "$T/d/port"
	assert_output ""
}

@test "bash: a host argument completes to host names; after exec's -- a program name" {
	load_bash
	run complete sockt connect localhos
	assert_line localhost
	run complete sockt exec 9000 -- bas
	assert_line bash
}

@test "bash: every option of every subcommand's --help is offered after '-'" {
	load_bash
	local cmd opt offered
	for cmd in $(sockt --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
		offered=" $(complete sockt "$cmd" - | tr '\n' ' ') "
		for opt in $(sockt "$cmd" --help | grep -oE '^  (-[a-zA-Z0-9], )?--?[a-z0-9-]+' | grep -oE -- '--?[a-z0-9-]+$'); do
			[[ $offered == *" $opt "* ]] || fail "$cmd: $opt not offered"
		done
	done
}

@test "zsh: the script parses (zsh -n), loads under compinit and registers _sockt for sockt" {
	needs zsh
	sockt --completion zsh >"$T/_sockt"
	run zsh -n "$T/_sockt"
	assert_success
	run zsh -f -c "autoload -U compinit; compinit -u -d '$T/zcompdump'; source '$T/_sockt'; print -r -- \$_comps[sockt]; whence -w _sockt"
	assert_success
	assert_output $'_sockt\n_sockt: function'
	grep -qF "'*--max-conns=[at most N clients at once; more are closed at once]:N: '" "$T/_sockt"
	grep -qF "'*--port-file=[write the bound port to FILE once listening]:FILE:_files'" "$T/_sockt"
}

@test "--completion: an unknown or missing shell is a usage error" {
	run sockt --completion fish
	assert_failure 2
	assert_output "sockt: --completion takes bash or zsh (see 'sockt --help')"
	run sockt --completion
	assert_failure 2
	assert_output "sockt: --completion takes bash or zsh (see 'sockt --help')"
}

# builddir: the build tree of the sockt under test, or skip.
builddir() {
	local dir
	dir=$(cd "$(dirname "$SOCKT")/.." && pwd)
	[ -f "$dir/Makefile" ] || skip "$SOCKT is not in a configured build tree"
	echo "$dir"
}

@test "make install DESTDIR=... and prefix=...: bash's sockt and zsh's _sockt land under the prefix, as sockt prints them" {
	local dir
	dir=$(builddir)
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$dir" install DESTDIR="$T/dest"
	assert_success
	local bash zsh
	bash=$(find "$T/dest" -path '*/share/bash-completion/completions/sockt')
	zsh=$(find "$T/dest" -path '*/share/zsh/site-functions/_sockt')
	[ -n "$bash" ] || fail "no bash completion under $T/dest"
	[ -n "$zsh" ] || fail "no zsh completion under $T/dest"
	cmp "$bash" <(sockt --completion bash)
	cmp "$zsh" <(sockt --completion zsh)
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$dir" install prefix="$T/pfx"
	assert_success
	cmp "$T/pfx/share/bash-completion/completions/sockt" <(sockt --completion bash)
	cmp "$T/pfx/share/zsh/site-functions/_sockt" <(sockt --completion zsh)
}
