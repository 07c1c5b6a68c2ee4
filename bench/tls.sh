#!/bin/bash
# bench/tls.sh - TLS throughput over loopback, all in the same run:
# SIZE of random bytes from "TOOL connect < file" into "TOOL listen >
# /dev/null" with TLS, for sockt (ephemeral key, --pin), socat OPENSSL and
# ncat --ssl (a test certificate, not verified), and the cipher's own
# limit: "openssl speed" of AES-256-GCM on one core.  Medians of RUNS
# rounds taken in turns (bench/lib.sh).
#
#   bench/tls.sh [SIZE]        default 2G (head -c units), RUNS=3
set -eu
cd "$(dirname "$0")"
. ./lib.sh
bench_needs socat ncat openssl ss python3 bc
SIZE=${1:-2G}
file=$(data_file "$SIZE")
bytes=$(stat -c %s "$file")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$bench_dir/key.pem" -out "$bench_dir/cert.pem" -days 1 \
    -subj /CN=localhost 2>/dev/null

# one_run TOOL: seconds from starting the sender to the receiver's exit
# (its receivers do exit: this runs fine inside $(...)).
one_run() {
	local t0 port lpid pin
	case $1 in
	sockt)
		rm -f "$bench_dir/port" "$bench_dir/err"
		"$SOCKT" listen --tls --port-file "$bench_dir/port" 127.0.0.1 0 \
		    </dev/null >/dev/null 2>"$bench_dir/err" &
		lpid=$!
		port=$(wait_port_file "$bench_dir/port")
		pin=$(sed -n 's/^sockt: tls pin //p' "$bench_dir/err")
		t0=$(now)
		"$SOCKT" connect --tls --pin "$pin" 127.0.0.1 "$port" <"$file"
		;;
	socat)
		port=$(free_port)
		socat -u OPENSSL-LISTEN:"$port",bind=127.0.0.1,reuseaddr,cert="$bench_dir/cert.pem",key="$bench_dir/key.pem",verify=0 \
		    OPEN:/dev/null &
		lpid=$!
		wait_listening "$port"
		t0=$(now)
		socat -u OPEN:"$file" OPENSSL:127.0.0.1:"$port",verify=0
		;;
	ncat)
		port=$(free_port)
		ncat --ssl --ssl-cert "$bench_dir/cert.pem" --ssl-key \
		    "$bench_dir/key.pem" --recv-only -l 127.0.0.1 "$port" \
		    >/dev/null &
		lpid=$!
		wait_listening "$port"
		t0=$(now)
		ncat --ssl --send-only 127.0.0.1 "$port" <"$file"
		;;
	esac
	wait "$lpid"
	secs_since "$t0"
}

tools="sockt socat ncat"
declare -A times
for r in $(seq "$RUNS"); do
	for t in $tools; do
		times[$t]="${times[$t]:-} $(one_run "$t")"
	done
done
gcm=$(openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3 2>/dev/null |
    awk '/^AES-256-GCM/ { sub(/k$/, "", $NF); printf "%.0f\n", $NF * 1000 }')
echo "TLS over loopback, $bytes bytes, median of $RUNS; $(uname -r), $(nproc) cores"
declare -A med
for t in $tools; do
	# shellcheck disable=SC2086
	med[$t]=$(median ${times[$t]})
done
for t in $tools; do
	printf "  %-6s %6.2f s  %5.2f GiB/s  sockt is %sx\n" "$t" "${med[$t]}" \
	    "$(echo "$bytes / ${med[$t]} / 1073741824" | bc -l)" \
	    "$(ratio "${med[$t]}" "${med[sockt]}")"
done
printf "  AES-256-GCM alone, one core: %.2f GiB/s (%.2f s for the file)\n" \
    "$(echo "$gcm / 1073741824" | bc -l)" "$(echo "$bytes / $gcm" | bc -l)"
