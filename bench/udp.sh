#!/bin/bash
# bench/udp.sh - loopback UDP: datagrams per second and loss, sockt
# udp-recv / udp-send against nc.openbsd -u and socat, in the same run.
#
#   A, receivers: one sender (sockt udp-send --size SIZE) sends COUNT
#      datagrams as fast as it can to each receiver in turn - sockt
#      udp-recv, nc -u -l, socat UDP-RECV - all writing into wc -c and all
#      with the same receive buffer (RCVBUF, at most net.core.rmem_max).
#   B, senders: sockt udp-send --size SIZE and socat -b SIZE send COUNT
#      datagrams of SIZE bytes to one sockt udp-recv.  (nc -u has no
#      sender row: it sends whatever read() returned, up to 16 KiB, so it
#      cannot send COUNT datagrams of SIZE bytes from a file.)
#
# Received datagrams are counted as bytes / SIZE.  Rates are per second of
# the sender's run; loss is what the receiver never saw.  Each row runs
# for every SIZE in SIZES (default "64 1400"); COUNT defaults to 200000,
# which keeps the whole run well under a minute.  SOCKT names the binary
# (default ../src/sockt).
set -eu
cd "$(dirname "$0")"
SOCKT=${SOCKT:-$PWD/../src/sockt}
COUNT=${COUNT:-200000}
SIZES=${SIZES:-64 1400}
max=$(cat /proc/sys/net/core/rmem_max)
RCVBUF=${RCVBUF:-$((max < 4194304 ? max : 4194304))}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

now() {
	date +%s.%N
}

# udp_port_of PID: the UDP port process PID has bound, once it has.
udp_port_of() {
	local pid=$1 port i
	for i in $(seq 2000); do
		port=$(ss -Hlunp 2>/dev/null | grep "pid=$pid," |
		    awk '{ n = split($4, a, ":"); print a[n]; exit }')
		[ -n "$port" ] && { echo "$port"; return 0; }
		sleep 0.005
	done
	echo "pid $pid bound no UDP port" >&2
	return 1
}

# start_receiver TOOL: start it on 127.0.0.1, port 0, its output counted
# into $dir/count; sets RPID and RPORT.
start_receiver() {
	rm -f "$dir/count" "$dir/port"
	case $1 in
	sockt)
		"$SOCKT" udp-recv --rcvbuf "$RCVBUF" --port-file "$dir/port" \
		    127.0.0.1 0 </dev/null > >(wc -c >"$dir/count") &
		RPID=$!
		while [ ! -s "$dir/port" ]; do sleep 0.005; done
		RPORT=$(cat "$dir/port")
		;;
	nc)
		nc.openbsd -u -l -I "$RCVBUF" 127.0.0.1 0 </dev/null \
		    > >(wc -c >"$dir/count") &
		RPID=$!
		RPORT=$(udp_port_of "$RPID")
		;;
	socat)
		socat -u -b 65536 \
		    "UDP4-RECV:0,bind=127.0.0.1,rcvbuf=$RCVBUF" - \
		    > >(wc -c >"$dir/count") &
		RPID=$!
		RPORT=$(udp_port_of "$RPID")
		;;
	esac
}

# stop_receiver: let the last datagrams drain, stop it, read the count.
stop_receiver() {
	sleep 0.3
	kill "$RPID" 2>/dev/null || true
	wait "$RPID" 2>/dev/null || true
	while [ ! -s "$dir/count" ]; do sleep 0.005; done
	RECEIVED=$(($(cat "$dir/count") / SIZE))
}

# send TOOL: COUNT datagrams of SIZE bytes to $RPORT; sets SECS.
send() {
	local t0 t1
	t0=$(now)
	case $1 in
	sockt)
		"$SOCKT" udp-send --size "$SIZE" -q 0 127.0.0.1 "$RPORT" \
		    <"$dir/data"
		;;
	socat)
		socat -u -b "$SIZE" "OPEN:$dir/data" \
		    "UDP4-SENDTO:127.0.0.1:$RPORT"
		;;
	esac
	t1=$(now)
	SECS=$(echo "$t1 - $t0" | bc -l)
}

# row LABEL: print one result line; the rate goes in $RATE.
row() {
	RATE=$(echo "$RECEIVED / $SECS" | bc -l)
	printf "  %-26s %9.0f datagrams/s  %7d of %d received  loss %5.2f%%\n" \
	    "$1" "$RATE" "$RECEIVED" "$COUNT" \
	    "$(echo "100 * ($COUNT - $RECEIVED) / $COUNT" | bc -l)"
}

echo "loopback UDP, $COUNT datagrams per run, receive buffer $RCVBUF bytes"
for SIZE in $SIZES; do
	head -c $((COUNT * SIZE)) /dev/zero | tr '\0' x >"$dir/data"
	echo
	echo "A. receivers, SIZE $SIZE bytes (sender: sockt udp-send)"
	declare -A rates=()
	for tool in sockt nc socat; do
		start_receiver "$tool"
		send sockt
		stop_receiver
		row "$tool"
		rates[$tool]=$RATE
	done
	printf "  sockt udp-recv delivers %.2fx nc -u, %.2fx socat\n" \
	    "$(echo "${rates[sockt]} / ${rates[nc]}" | bc -l)" \
	    "$(echo "${rates[sockt]} / ${rates[socat]}" | bc -l)"
	echo "B. senders, SIZE $SIZE bytes (receiver: sockt udp-recv)"
	for tool in sockt socat; do
		start_receiver sockt
		send "$tool"
		stop_receiver
		row "$tool"
		rates[$tool]=$RATE
	done
	printf "  sockt udp-send delivers %.2fx socat\n" \
	    "$(echo "${rates[sockt]} / ${rates[socat]}" | bc -l)"
	unset rates
done
