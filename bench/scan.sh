#!/bin/bash
# bench/scan.sh - scanning ports whose packets are dropped: sockt connect
# -z (concurrent probes) against nc -z (one port after another).  Builds
# two network namespaces joined by a veth pair; the target drops every TCP
# packet with nft, so each probe lasts its whole -w timeout.  Needs root.
set -eu
cd "$(dirname "$0")"
SOCKT=${SOCKT:-$PWD/../src/sockt}
PORTS=${PORTS:-20}
WAIT=${WAIT:-1}
a=sockt-scan-a-$$
b=sockt-scan-b-$$
cleanup() {
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add veth-a netns "$a" type veth peer name veth-b netns "$b"
ip -n "$a" addr add 10.250.0.1/24 dev veth-a
ip -n "$b" addr add 10.250.0.2/24 dev veth-b
ip -n "$a" link set veth-a up
ip -n "$b" link set veth-b up
ip -n "$a" link set lo up
ip -n "$b" link set lo up
ip netns exec "$b" nft -f - <<'NFT'
table inet sockt_bench {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 1-65535 drop
	}
}
NFT
range="1-$PORTS"
time_it() {
	local t0 t1
	t0=$(date +%s.%N)
	ip netns exec "$a" "$@" >/dev/null 2>&1 || true
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}
s=$(time_it "$SOCKT" connect -z -w "$WAIT" 10.250.0.2 "$range")
n=$(time_it nc.openbsd -z -w "$WAIT" 10.250.0.2 "$range")
echo "scanning $PORTS filtered ports, -w $WAIT (ports x timeout = $((PORTS * WAIT)) s)"
printf "  sockt -z  %6.2f s\n  nc -z     %6.2f s\n  sockt is %.1fx faster\n" \
    "$s" "$n" "$(echo "$n / $s" | bc -l)"
