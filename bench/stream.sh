#!/bin/bash
# bench/stream.sh - loopback TCP throughput: sockt against nc.openbsd, ncat
# and socat, in the same run.
#
#   A: TOOL-connect < FILE      into   TOOL-listen > /dev/null
#   B: cat FILE | TOOL-connect  into   TOOL-listen | cat > /dev/null
#
# Every case runs RUNS rounds in turns (bench/lib.sh), so a busy moment
# hits all tools alike; the median counts, and the spread (min-max) is
# printed next to it.  Case B also times its floor: the two cats joined by
# one pipe, no network at all, which bounds what any tool can gain there.
# SIZE (default 2G) and RUNS (default 3) come from the environment.
set -eu
. "$(dirname "$0")/lib.sh"
bench_needs nc.openbsd ncat socat bc ss python3
SIZE=${SIZE:-2G}
file=$(data_file "$SIZE")
bytes=$(stat -c %s "$file")

listen_cmd() {
	case $1 in
	sockt) echo "$SOCKT listen 127.0.0.1 {P}" ;;
	nc) echo "nc.openbsd -l 127.0.0.1 {P}" ;;
	ncat) echo "ncat --recv-only -l 127.0.0.1 {P}" ;;
	socat) echo "socat -b 262144 -u TCP-LISTEN:{P},bind=127.0.0.1,reuseaddr STDOUT" ;;
	esac
}
connect_cmd() {
	case $1 in
	sockt) echo "$SOCKT connect 127.0.0.1 {P}" ;;
	nc) echo "nc.openbsd -N 127.0.0.1 {P}" ;;
	ncat) echo "ncat --send-only 127.0.0.1 {P}" ;;
	socat) echo "socat -b 262144 -u STDIN TCP:127.0.0.1:{P}" ;;
	esac
}

# run_case TOOL A|B: seconds for one transfer (listener exit included).
run_case() {
	local tool=$1 mode=$2 port l c t0 lpid
	if [ "$tool" = floor ]; then
		t0=$(now)
		cat "$file" | cat >/dev/null
		secs_since "$t0"
		return
	fi
	port=$(free_port)
	l=$(listen_cmd "$tool")
	c=$(connect_cmd "$tool")
	l=${l//\{P\}/$port}
	c=${c//\{P\}/$port}
	if [ "$mode" = A ]; then
		$l </dev/null >/dev/null &
	else
		$l </dev/null | cat >/dev/null &
	fi
	lpid=$!
	wait_listening "$port"
	t0=$(now)
	if [ "$mode" = A ]; then
		$c <"$file" >/dev/null
	else
		cat "$file" | $c >/dev/null
	fi
	wait "$lpid"
	secs_since "$t0"
}

echo "loopback, $bytes bytes, median of $RUNS rounds in turns;" \
    "kernel $(uname -r), $(nproc) cores"
for mode in A B; do
	tools="nc sockt ncat socat"
	if [ "$mode" = A ]; then
		echo "A: TOOL-connect < file -> TOOL-listen > /dev/null"
	else
		echo "B: cat file | TOOL-connect -> TOOL-listen | cat > /dev/null"
		tools="$tools floor"
	fi
	declare -A all=()
	for r in $(seq "$RUNS"); do
		for tool in $tools; do
			t=$(run_case "$tool" "$mode") ||
			    { echo "bench: $tool case $mode failed" >&2; exit 1; }
			all[$tool]="${all[$tool]:-} $t"
		done
	done
	declare -A med=()
	for tool in $tools; do
		# shellcheck disable=SC2086
		med[$tool]=$(median ${all[$tool]})
	done
	for tool in sockt nc ncat socat; do
		# shellcheck disable=SC2086
		printf "  %-6s %6.2f s  %5.2f GiB/s  %5sx nc.openbsd  (runs:%s)\n" \
		    "$tool" "${med[$tool]}" \
		    "$(echo "$bytes / ${med[$tool]} / 1073741824" | bc -l)" \
		    "$(ratio "${med[nc]}" "${med[$tool]}")" "${all[$tool]}"
	done
	if [ "$mode" = B ]; then
		printf "  floor  %6.2f s  cat | cat, no network  (runs:%s)\n" \
		    "${med[floor]}" "${all[floor]}"
	fi
	unset all med
done
