#!/bin/bash
# bench/forward.sh - port forwarding, all in the same run.
#
# 1. Throughput: SIZE of random bytes, "sockt connect < file" -> relay ->
#    "sockt listen > /dev/null", through sockt forward and through socat
#    TCP-LISTEN,fork TCP:, against the direct transfer with no relay.
# 2. Scale: CONNS connections held open at once through the relay to an
#    echo target (bench/many.py), each echoing BYTES of its own; the
#    relay's peak RSS (VmHWM, with its children for socat's fork per
#    client).  The open-files limit is raised first (root can).
#
#   bench/forward.sh [SIZE]     default 2G; CONNS=10000 BYTES=4096 RUNS=3
set -eu
cd "$(dirname "$0")"
. ./lib.sh
bench_needs socat python3 ss bc
SIZE=${1:-2G}
CONNS=${CONNS:-10000}
BYTES=${BYTES:-4096}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
file=$(data_file "$SIZE")
bytes=$(stat -c %s "$file")

# relay_start KIND TARGETPORT: start the relay; prints its port.
relay_start() {
	local port
	case $1 in
	sockt)
		rm -f "$bench_dir/fport"
		bench_bg "$SOCKT" forward --port-file "$bench_dir/fport" \
		    127.0.0.1 0 "127.0.0.1:$2" 2>/dev/null
		wait_port_file "$bench_dir/fport"
		;;
	socat)
		port=$(free_port)
		bench_bg socat TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork,backlog=4096 \
		    TCP:127.0.0.1:"$2"
		wait_listening "$port"
		echo "$port"
		;;
	esac
}

relay_stop() {
	local p=${bench_pids[${#bench_pids[@]} - 1]}
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	unset 'bench_pids[${#bench_pids[@]}-1]'
}

# one_run direct|sockt|socat: seconds for one transfer.
one_run() {
	local lport port lpid t0
	rm -f "$bench_dir/lport"
	"$SOCKT" listen --port-file "$bench_dir/lport" 127.0.0.1 0 \
	    </dev/null >/dev/null &
	lpid=$!
	lport=$(wait_port_file "$bench_dir/lport")
	port=$lport
	[ "$1" = direct ] || port=$(relay_start "$1" "$lport")
	t0=$(now)
	"$SOCKT" connect 127.0.0.1 "$port" <"$file"
	wait "$lpid"
	secs_since "$t0"
	[ "$1" = direct ] || relay_stop
}

# rss_kib PID: peak RSS of PID and its children, KiB.
rss_kib() {
	local p sum=0 v
	for p in $1 $(pgrep -P "$1" || true); do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null ||
		    echo 0)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

kinds="direct sockt socat"
declare -A times
for r in $(seq "$RUNS"); do
	for k in $kinds; do
		times[$k]="${times[$k]:-} $(one_run "$k")"
	done
done
echo "forwarding over loopback, $bytes bytes, median of $RUNS; $(uname -r), $(nproc) cores"
declare -A med
for k in $kinds; do
	# shellcheck disable=SC2086
	med[$k]=$(median ${times[$k]})
done
for k in $kinds; do
	printf "  %-7s %6.2f s  %5.2f GiB/s  %sx direct, sockt is %sx\n" "$k" \
	    "${med[$k]}" "$(echo "$bytes / ${med[$k]} / 1073741824" | bc -l)" \
	    "$(ratio "${med[$k]}" "${med[direct]}")" \
	    "$(ratio "${med[$k]}" "${med[sockt]}")"
done

echo "$CONNS connections held at once, each echoing $BYTES bytes through the relay"
rm -f "$bench_dir/eport"
bench_bg python3 many.py echo "$bench_dir/eport"
eport=$(wait_port_file "$bench_dir/eport")
for k in sockt socat; do
	port=$(relay_start "$k" "$eport")
	rpid=${bench_pids[${#bench_pids[@]} - 1]}
	t0=$(now)
	if out=$(python3 many.py clients "$port" "$CONNS" "$BYTES" 2>&1); then
		res=ok
	else
		res=FAILED
	fi
	printf "  %-6s %s in %s s, peak RSS %d KiB: %s\n" "$k" "$res" \
	    "$(secs_since "$t0")" "$(rss_kib "$rpid")" "$(echo "$out" | tail -1)"
	relay_stop
done
