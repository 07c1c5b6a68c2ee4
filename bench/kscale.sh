#!/bin/bash
# bench/kscale.sh - "listen -k" at scale: N concurrent clients (default
# 10000) each send a line and must get a 4 KiB broadcast and then end of
# file, against sockt and ncat -k in the same run.  Reports the server's
# RSS with everyone connected and whether every check passed.
set -u
cd "$(dirname "$0")"
SOCKT=${SOCKT:-$PWD/../src/sockt}
N=${N:-10000}
ulimit -n 20000 2>/dev/null || true
run() {
	local name=$1 server=$2 t0 t1 out
	t0=$(date +%s.%N)
	out=$(python3 ../tests/manyclients.py --server "$server" --clients "${N}" \
	    --deadline 60 2>&1 | tail -1)
	t1=$(date +%s.%N)
	printf "%-8s %5.1f s  %s\n" "$name" "$(echo "$t1 - $t0" | bc -l)" "$out"
}
echo "listen -k with $N concurrent clients (fd limit $(ulimit -n))"
run sockt "$SOCKT listen -k 127.0.0.1 {port}"
run ncat "ncat -k -l 127.0.0.1 {port}"
N=1000 run "ncat@1000" "ncat -k -l 127.0.0.1 {port}"
