#!/bin/bash
# bench/files.sh - files over loopback into a tmpfs, all in the same run:
#   download: sockt serve-file -> fetch-file (SHA-256 verified end to end,
#     and --raw without a digest) against "nc -N -l < file" -> "nc -d >
#     file" and "python3 -m http.server" -> "curl -o"; the hash alone
#     ("openssl dgst -sha256 FILE") is the limit a verified copy can reach;
#   upload: sockt send-file -> serve-file --upload (digest checked at both
#     ends) against curl -T into the same server;
#   a 40,000-entry directory listing, with a small request answered
#     meanwhile;
#   CLIENTS concurrent fetch-file clients of one MANY_MB file.
#
#   bench/files.sh [SIZE]                 default 2G (head -c units), RUNS=3
#   CLIENTS=200 MANY_MB=20 bench/files.sh  (the defaults)
#
# Every case runs RUNS rounds in turns (bench/lib.sh) and the median is
# reported, each run's time beside it.  A time is the receiving side's
# wall clock with the server already up (readiness is a port file or a
# listening socket, never a sleep).  Every received file is compared with
# the source.
set -eu
. "$(dirname "$0")/lib.sh"
bench_needs nc curl python3 ss cmp openssl
SIZE=${1:-2G}
CLIENTS=${CLIENTS:-200}
MANY_MB=${MANY_MB:-20}
src=$(data_file "$SIZE")
bytes=$(stat -c %s "$src")
srv=$bench_dir/srv
up=$bench_dir/up
mkdir "$srv" "$up"
ln "$src" "$srv/src.bin"

# check NAME FILE: FILE must be the source; then it goes.
check() {
	cmp -s "$2" "$src" || { echo "bench: $1 delivered wrong bytes" >&2; exit 1; }
	rm -f "$2"
}

# The servers that stay up for every round.
port=$(free_port)
bench_bg python3 -m http.server --bind 127.0.0.1 --directory "$srv" "$port"
py_port=$port
wait_listening "$py_port"
bench_bg "$SOCKT" serve-file --port-file "$bench_dir/p1" 127.0.0.1 0 "$srv/src.bin"
sf_port=$(wait_port_file "$bench_dir/p1")
bench_bg "$SOCKT" serve-file --raw --port-file "$bench_dir/p2" 127.0.0.1 0 "$srv/src.bin"
raw_port=$(wait_port_file "$bench_dir/p2")
bench_bg "$SOCKT" serve-file --upload --force --port-file "$bench_dir/p3" 127.0.0.1 0 "$up"
up_port=$(wait_port_file "$bench_dir/p3")

# case NAME: one run, its seconds on stdout.
run_case() {
	local t0 p
	case $1 in
	nc)
		p=$(free_port)
		nc -N -l 127.0.0.1 "$p" <"$src" &
		local npid=$!
		wait_listening "$p"
		t0=$(now)
		nc -d 127.0.0.1 "$p" >"$bench_dir/out"
		secs_since "$t0"
		wait "$npid"
		check nc "$bench_dir/out" ;;
	curl)
		t0=$(now)
		curl -s -o "$bench_dir/out" "http://127.0.0.1:$py_port/src.bin"
		secs_since "$t0"
		check curl "$bench_dir/out" ;;
	hash)
		t0=$(now)
		openssl dgst -sha256 "$src" >/dev/null
		secs_since "$t0" ;;
	fetch)
		t0=$(now)
		"$SOCKT" fetch-file -v -o "$bench_dir/out" \
		    "http://127.0.0.1:$sf_port/src.bin" 2>"$bench_dir/err"
		secs_since "$t0"
		grep -q "SHA-256 verified" "$bench_dir/err" ||
		    { echo "bench: fetch-file verified no digest" >&2; exit 1; }
		check fetch-file "$bench_dir/out" ;;
	raw)
		t0=$(now)
		"$SOCKT" fetch-file --raw -o "$bench_dir/out" 127.0.0.1 "$raw_port"
		secs_since "$t0"
		check "fetch-file --raw" "$bench_dir/out" ;;
	send)
		t0=$(now)
		"$SOCKT" send-file "$src" "http://127.0.0.1:$up_port/got.bin"
		secs_since "$t0"
		check send-file "$up/got.bin" ;;
	curlT)
		t0=$(now)
		curl -s -f -o /dev/null -T "$src" "http://127.0.0.1:$up_port/got.bin"
		secs_since "$t0"
		check "curl -T" "$up/got.bin" ;;
	esac
}

cases="nc curl hash fetch raw send curlT"
declare -A all=() med=()
for _ in $(seq "$RUNS"); do
	for c in $cases; do
		t=$(run_case "$c") || exit 1
		all[$c]="${all[$c]:-} $t"
	done
done
for c in $cases; do
	# shellcheck disable=SC2086
	med[$c]=$(median ${all[$c]})
done
rate() {
	awk -v s="$1" -v b="$bytes" 'BEGIN { printf "%5.2f GB/s", b / s / 1e9 }'
}
row() {
	printf "  %-44s %6.2f s  %s  %s  (runs:%s)\n" "$1" "${med[$2]}" \
	    "$(rate "${med[$2]}")" "$3" "${all[$2]}"
}
echo "files: $bytes bytes over loopback into tmpfs, median of $RUNS rounds" \
    "in turns; $(nproc) CPUs, $(uname -r)"
echo " download"
row "nc -N -l < file -> nc -d > file" nc ""
row "python3 -m http.server -> curl -o" curl "$(ratio "${med[nc]}" "${med[curl]}")x nc"
row "openssl dgst -sha256 FILE (the hash alone)" hash ""
row "serve-file -> fetch-file, SHA-256 checked" fetch \
    "$(ratio "${med[nc]}" "${med[fetch]}")x nc, $(ratio "${med[curl]}" "${med[fetch]}")x python+curl, $(ratio "${med[fetch]}" "${med[hash]}")x the hash alone"
row "serve-file --raw -> fetch-file --raw" raw "$(ratio "${med[nc]}" "${med[raw]}")x nc"
echo " upload into serve-file --upload"
row "curl -T FILE (no digest sent)" curlT ""
row "send-file FILE, digest checked both ends" send "$(ratio "${med[curlT]}" "${med[send]}")x curl -T"
rm -f "$srv/src.bin"

# --- a 40,000-entry listing, and a small request meanwhile ---------------
mkdir "$bench_dir/big"
python3 -c 'import os, sys
for i in range(40000):
    open(os.path.join(sys.argv[1], "entry-%05d.txt" % i), "w").close()' "$bench_dir/big"
printf 'small' >"$bench_dir/big/small"
bench_bg "$SOCKT" serve-file --port-file "$bench_dir/p4" 127.0.0.1 0 "$bench_dir/big"
lport=$(wait_port_file "$bench_dir/p4")
ls_all="" sm_all=""
for _ in $(seq "$RUNS"); do
	t0=$(now)
	curl -s -o "$bench_dir/listing" "http://127.0.0.1:$lport/" &
	lpid=$!
	t1=$(now)
	curl -s -o /dev/null "http://127.0.0.1:$lport/small"
	sm_all="$sm_all $(secs_since "$t1")"
	wait "$lpid"
	ls_all="$ls_all $(secs_since "$t0")"
	[ "$(grep -c 'entry-' "$bench_dir/listing")" -ge 40000 ] ||
	    { echo "bench: the listing lacks entries" >&2; exit 1; }
done
# shellcheck disable=SC2086
printf "  40,000-entry HTML listing: %.3f s (runs:%s); a small file asked" \
    "$(median $ls_all)" "$ls_all"
# shellcheck disable=SC2086
printf " meanwhile: %.3f s (runs:%s)\n" "$(median $sm_all)" "$sm_all"

# --- many clients at once --------------------------------------------------
mkdir "$bench_dir/many"
head -c $((MANY_MB * 1000000)) /dev/urandom >"$bench_dir/many/f.bin"
ulimit -n 4096 2>/dev/null || true
bench_bg "$SOCKT" serve-file --port-file "$bench_dir/p5" 127.0.0.1 0 "$bench_dir/many/f.bin"
port=$(wait_port_file "$bench_dir/p5")
cpids=()
t0=$(now)
for i in $(seq "$CLIENTS"); do
	"$SOCKT" fetch-file -v -o "$bench_dir/many/out.$i" \
	    "http://127.0.0.1:$port/f.bin" 2>"$bench_dir/many/err.$i" &
	cpids+=($!)
done
failed=0
for p in "${cpids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
secs=$(secs_since "$t0")
verified=$(grep -l "SHA-256 verified" "$bench_dir"/many/err.* | wc -l)
same=0
for i in $(seq "$CLIENTS"); do
	cmp -s "$bench_dir/many/out.$i" "$bench_dir/many/f.bin" && same=$((same + 1))
	rm -f "$bench_dir/many/out.$i"
done
printf "  %d concurrent fetch-file of %d MB from one serve-file: %.2f s," \
    "$CLIENTS" "$MANY_MB" "$secs"
printf " %d failed, %d digests verified, %d identical\n" "$failed" "$verified" "$same"
[ "$failed" -eq 0 ] && [ "$verified" -eq "$CLIENTS" ] && [ "$same" -eq "$CLIENTS" ]
