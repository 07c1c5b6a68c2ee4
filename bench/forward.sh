#!/bin/bash
# bench/forward.sh - port forwarding, all in the same run.
#
# 1. Throughput: SIZE of random bytes, "sockt connect < file" -> relay ->
#    "sockt listen > /dev/null", through sockt forward and through socat
#    TCP-LISTEN,fork TCP:, against the direct transfer with no relay.
# 2. Scale: CONNS connections held open at once through the relay to an
#    echo target (bench/many.py), each echoing BYTES of its own; the
#    relay's RSS with every connection held (with its children for
#    socat's fork per client).  The open-files limit is raised first
#    (root can).
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
# The relay holds two descriptors per connection (client and target): past
# the limit it rightly stops accepting, and the clients left in the
# backlog would wait for ever.  Measure what the limit allows, and say so.
fdmax=$((($(ulimit -n) - 64) / 2))
if [ "$CONNS" -gt "$fdmax" ]; then
	echo "bench: $CONNS connections need $((2 * CONNS + 64)) descriptors" \
	    "in the relay; the limit here ($(ulimit -n)) allows $fdmax" >&2
	CONNS=$fdmax
fi
file=$(data_file "$SIZE")
bytes=$(stat -c %s "$file")

# relay_start KIND TARGETPORT: start the relay; its port in $RPORT, its
# pid in $RPID (not in a $(...): the relay would hold its pipe open).
relay_start() {
	case $1 in
	sockt)
		rm -f "$bench_dir/fport"
		bench_bg "$SOCKT" forward --port-file "$bench_dir/fport" \
		    127.0.0.1 0 "127.0.0.1:$2" 2>/dev/null </dev/null >/dev/null
		RPID=$!
		RPORT=$(wait_port_file "$bench_dir/fport")
		;;
	socat)
		RPORT=$(free_port)
		# -t 30: by default socat drops what the target still has to
		# say 0.5 s after the client's half-close
		bench_bg socat -t 30 TCP-LISTEN:"$RPORT",bind=127.0.0.1,reuseaddr,fork,backlog=4096 \
		    TCP:127.0.0.1:"$2" </dev/null >/dev/null
		RPID=$!
		wait_listening "$RPORT"
		;;
	esac
}

relay_stop() {
	pkill -P "$RPID" 2>/dev/null || true	# socat's children, by parent
	kill "$RPID" 2>/dev/null || true
	wait "$RPID" 2>/dev/null || true
}

# one_run direct|sockt|socat: the seconds of one transfer in $SECS.
one_run() {
	local lport port lpid t0
	rm -f "$bench_dir/lport"
	"$SOCKT" listen --port-file "$bench_dir/lport" 127.0.0.1 0 \
	    </dev/null >/dev/null &
	lpid=$!
	lport=$(wait_port_file "$bench_dir/lport")
	port=$lport
	if [ "$1" != direct ]; then
		relay_start "$1" "$lport"
		port=$RPORT
	fi
	t0=$(now)
	"$SOCKT" connect 127.0.0.1 "$port" <"$file"
	wait "$lpid"
	SECS=$(secs_since "$t0")
	[ "$1" = direct ] || relay_stop
}

# rss_kib PID: the RSS of PID and its children now, KiB.
rss_kib() {
	local p sum=0 v
	for p in $1 $(pgrep -P "$1" || true); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null ||
		    echo 0)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

kinds="direct sockt socat"
declare -A times
for r in $(seq "$RUNS"); do
	for k in $kinds; do
		one_run "$k"
		times[$k]="${times[$k]:-} $SECS"
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
bench_bg python3 many.py echo "$bench_dir/eport" </dev/null >/dev/null
eport=$(wait_port_file "$bench_dir/eport")
for k in sockt socat; do
	relay_start "$k" "$eport"
	sync=$bench_dir/sync.$k
	mkdir "$sync"
	t0=$(now)
	python3 many.py clients "$RPORT" "$CONNS" "$BYTES" "$sync" \
	    >"$sync/out" 2>&1 &
	cpid=$!
	# the relay's memory with every connection held open
	until [ -e "$sync/held" ] || ! kill -0 "$cpid" 2>/dev/null; do
		sleep 0.05
	done
	rss=$(rss_kib "$RPID")
	touch "$sync/go"
	if wait "$cpid"; then res=ok; else res=FAILED; fi
	printf "  %-6s %s in %s s, RSS %d KiB with all held: %s\n" "$k" \
	    "$res" "$(secs_since "$t0")" "$rss" "$(tail -1 "$sync/out")"
	relay_stop
done
