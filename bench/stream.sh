#!/bin/bash
# bench/stream.sh - loopback TCP throughput: sockt against nc.openbsd, ncat
# and socat, in the same run.
#
#   A: TOOL-connect < FILE      into   TOOL-listen > /dev/null
#   B: cat FILE | TOOL-connect  into   TOOL-listen | cat > /dev/null
#
# Each case runs REPS times; the best time counts.  Prints GiB/s and the
# ratio to nc.openbsd.  SIZE (default 2G) and REPS (default 3) come from
# the environment; SOCKT names the binary (default ../src/sockt).
set -eu
cd "$(dirname "$0")"
SOCKT=${SOCKT:-$PWD/../src/sockt}
SIZE=${SIZE:-2G}
REPS=${REPS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"; kill $(jobs -p) 2>/dev/null || true' EXIT
file=$dir/data
head -c "$SIZE" /dev/urandom >"$file"
bytes=$(stat -c %s "$file")
cat "$file" >/dev/null	# warm the page cache

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_listening() {
	local port=$1 i
	for i in $(seq 1000); do
		ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.005
	done
	echo "nothing listens on $port" >&2
	return 1
}

# The listener and connector of each tool; {P} is the port.
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
	local tool=$1 mode=$2 port l c t0 t1 lpid
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
	wait_listening "$port" || exit 1
	t0=$(date +%s.%N)
	if [ "$mode" = A ]; then
		$c <"$file" >/dev/null || exit 1
	else
		cat "$file" | $c >/dev/null || exit 1
	fi
	wait "$lpid" || exit 1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

best() {
	local tool=$1 mode=$2 i t b=
	for i in $(seq "$REPS"); do
		t=$(run_case "$tool" "$mode") || {
			echo "$tool: case $mode failed" >&2
			exit 1
		}
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}

echo "loopback, $bytes bytes, best of $REPS; kernel $(uname -r), $(nproc) cores"
for mode in A B; do
	if [ "$mode" = A ]; then
		echo "A: TOOL-connect < file -> TOOL-listen > /dev/null"
	else
		echo "B: cat file | TOOL-connect -> TOOL-listen | cat > /dev/null"
	fi
	declare -A secs=()
	for tool in nc sockt ncat socat; do
		secs[$tool]=$(best "$tool" "$mode") || exit 1
	done
	for tool in sockt nc ncat socat; do
		printf "  %-6s %6.2f s  %5.2f GiB/s  %5.2fx nc.openbsd\n" "$tool" \
		    "${secs[$tool]}" \
		    "$(echo "$bytes / ${secs[$tool]} / 1073741824" | bc -l)" \
		    "$(echo "${secs[nc]} / ${secs[$tool]}" | bc -l)"
	done
	unset secs
done
