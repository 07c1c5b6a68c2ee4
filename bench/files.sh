#!/bin/bash
# bench/files.sh - one file over loopback into a tmpfs, all in the same
# run: sockt serve-file -> fetch-file (SHA-256 verified end to end, and
# --raw without a digest) against "nc -N -l < file" -> "nc -d > file" and
# "python3 -m http.server" -> "curl -o".  Then CLIENTS concurrent
# fetch-file clients of one MANY_MB file from one serve-file process,
# every digest verified.
#
#   bench/files.sh [SIZE_MIB [RUNS]]        default 2048 MiB, best of 3
#   CLIENTS=200 MANY_MB=20 bench/files.sh   (the defaults)
#
# Each time is the receiving side's wall clock, from starting the client
# to its exit, with the server already up (readiness is a port file or a
# listening socket, never a sleep); the best of RUNS is reported.  Every
# received file is compared with the source afterwards.  The work happens
# in a directory on /dev/shm (a tmpfs), so disks play no part.
set -eu
cd "$(dirname "$0")"
SOCKT=${SOCKT:-$PWD/../src/sockt}
SIZE_MIB=${1:-2048}
RUNS=${2:-3}
CLIENTS=${CLIENTS:-200}
MANY_MB=${MANY_MB:-20}

for tool in nc curl python3 ss cmp; do
	command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 2; }
done
[ -x "$SOCKT" ] || { echo "bench: no sockt at $SOCKT (set SOCKT)" >&2; exit 2; }
[ "$(stat -f -c %T /dev/shm)" = tmpfs ] ||
	{ echo "bench: /dev/shm is not a tmpfs" >&2; exit 2; }

dir=$(mktemp -d /dev/shm/sockt-bench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

now() {
	date +%s%N
}

# A free loopback port for the servers that cannot report one.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listening PORT: until something listens on 127.0.0.1:PORT.
wait_listening() {
	local end=$((SECONDS + 30))
	until ss -Hltn "sport = :$1" | grep -q .; do
		[ "$SECONDS" -lt "$end" ] || { echo "bench: nothing listens on $1" >&2; exit 1; }
		sleep 0.01
	done
}

# wait_port_file FILE: until FILE holds a port; prints it.
wait_port_file() {
	local end=$((SECONDS + 600))
	until [ -s "$1" ]; do
		[ "$SECONDS" -lt "$end" ] || { echo "bench: no port in $1" >&2; exit 1; }
		sleep 0.01
	done
	cat "$1"
}

# check NAME: the received file must be the source; then drop it.
check() {
	if ! cmp -s "$dir/out" "$dir/srv/src.bin"; then
		echo "bench: $1 delivered wrong bytes" >&2
		exit 1
	fi
	rm -f "$dir/out"
}

best=""
# keep_best MS: remember the smallest.
keep_best() {
	if [ -z "$best" ] || [ "$1" -lt "$best" ]; then
		best=$1
	fi
}

mkdir "$dir/srv"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$dir/srv/src.bin"
echo "files: $SIZE_MIB MiB over loopback into tmpfs, best of $RUNS;" \
    "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"

# --- nc: one client per listener, so a new listener each run -----------
best=""
for _ in $(seq "$RUNS"); do
	port=$(free_port)
	nc -N -l 127.0.0.1 "$port" <"$dir/srv/src.bin" &
	pids+=($!)
	wait_listening "$port"
	t0=$(now)
	nc -d 127.0.0.1 "$port" >"$dir/out"
	t1=$(now)
	keep_best $(((t1 - t0) / 1000000))
	check nc
done
nc_ms=$best

# --- python3 -m http.server -> curl -o -----------------------------------
port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$dir/srv" "$port" \
    >/dev/null 2>&1 &
pids+=($!)
wait_listening "$port"
best=""
for _ in $(seq "$RUNS"); do
	t0=$(now)
	curl -s -o "$dir/out" "http://127.0.0.1:$port/src.bin"
	t1=$(now)
	keep_best $(((t1 - t0) / 1000000))
	check curl
done
py_ms=$best

# --- sockt: HTTP with the digest checked, then --raw ---------------------
# serve-file hashes its FILE arguments before it reports the port.
"$SOCKT" serve-file --port-file "$dir/p1" 127.0.0.1 0 "$dir/srv/src.bin" &
pids+=($!)
port=$(wait_port_file "$dir/p1")
best=""
for _ in $(seq "$RUNS"); do
	t0=$(now)
	"$SOCKT" fetch-file -v -o "$dir/out" "http://127.0.0.1:$port/src.bin" \
	    2>"$dir/err"
	t1=$(now)
	grep -q "SHA-256 verified" "$dir/err" ||
		{ echo "bench: fetch-file did not verify a digest" >&2; exit 1; }
	keep_best $(((t1 - t0) / 1000000))
	check fetch-file
done
sockt_ms=$best

"$SOCKT" serve-file --raw --port-file "$dir/p2" 127.0.0.1 0 "$dir/srv/src.bin" &
pids+=($!)
port=$(wait_port_file "$dir/p2")
best=""
for _ in $(seq "$RUNS"); do
	t0=$(now)
	"$SOCKT" fetch-file --raw -o "$dir/out" 127.0.0.1 "$port"
	t1=$(now)
	keep_best $(((t1 - t0) / 1000000))
	check "fetch-file --raw"
done
raw_ms=$best

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'
}
rate() {
	awk -v ms="$1" -v mib="$SIZE_MIB" 'BEGIN { printf "%.2f GB/s", mib * 1048576 / ms / 1e6 }'
}
printf "  %-40s %6d ms  %s\n" "nc -N -l < file -> nc -d > file" "$nc_ms" "$(rate "$nc_ms")"
printf "  %-40s %6d ms  %s\n" "python3 -m http.server -> curl -o" "$py_ms" "$(rate "$py_ms")"
printf "  %-40s %6d ms  %s  (%s nc, %s python+curl; aim 2x)\n" \
    "serve-file -> fetch-file, SHA-256 checked" "$sockt_ms" "$(rate "$sockt_ms")" \
    "$(ratio "$nc_ms" "$sockt_ms")" "$(ratio "$py_ms" "$sockt_ms")"
printf "  %-40s %6d ms  %s  (%s nc; aim 2.5x)\n" \
    "serve-file --raw -> fetch-file --raw" "$raw_ms" "$(rate "$raw_ms")" \
    "$(ratio "$nc_ms" "$raw_ms")"
rm -f "$dir/srv/src.bin"

# --- many clients at once --------------------------------------------------
mkdir "$dir/many"
head -c $((MANY_MB * 1000000)) /dev/urandom >"$dir/many/f.bin"
ulimit -n 4096 2>/dev/null || true
"$SOCKT" serve-file --port-file "$dir/p3" 127.0.0.1 0 "$dir/many/f.bin" &
pids+=($!)
port=$(wait_port_file "$dir/p3")
cpids=()
t0=$(now)
for i in $(seq "$CLIENTS"); do
	"$SOCKT" fetch-file -v -o "$dir/many/out.$i" \
	    "http://127.0.0.1:$port/f.bin" 2>"$dir/many/err.$i" &
	cpids+=($!)
done
failed=0
for p in "${cpids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
t1=$(now)
ms=$(((t1 - t0) / 1000000))
verified=$(grep -l "SHA-256 verified" "$dir"/many/err.* | wc -l)
same=0
for i in $(seq "$CLIENTS"); do
	cmp -s "$dir/many/out.$i" "$dir/many/f.bin" && same=$((same + 1))
	rm -f "$dir/many/out.$i"
done
printf "  %d concurrent fetch-file of %d MB from one serve-file: %d ms," \
    "$CLIENTS" "$MANY_MB" "$ms"
awk -v n="$CLIENTS" -v mb="$MANY_MB" -v ms="$ms" \
    'BEGIN { printf " %.2f GB/s in all;", n * mb / ms }'
printf " %d failed, %d digests verified, %d identical\n" "$failed" "$verified" "$same"
[ "$failed" -eq 0 ] && [ "$verified" -eq "$CLIENTS" ] && [ "$same" -eq "$CLIENTS" ]
