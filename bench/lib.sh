# bench/lib.sh - what the bench scripts share: a scratch directory on a
# tmpfs, free ports, readiness waits without sleeps as guesses, clocks,
# and the median of a case's runs.  Sourced, not run.
#
# Every script runs its cases in turns, RUNS rounds of all of them, so a
# busy moment of the machine hits them alike, and reports the median of
# the RUNS times with ratios against the peers of the same run.

SOCKT=${SOCKT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src/sockt}
RUNS=${RUNS:-3}

[ -x "$SOCKT" ] || { echo "bench: no sockt at $SOCKT (set SOCKT)" >&2; exit 2; }
[ "$RUNS" -ge 3 ] || { echo "bench: RUNS must be 3 or more" >&2; exit 2; }

# needs CMD...: every tool the script compares with must be there.
bench_needs() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null ||
		    { echo "bench: needs $t" >&2; exit 2; }
	done
}

bench_dir=$(mktemp -d /dev/shm/sockt-bench.XXXXXX)
bench_pids=()
bench_cleanup() {
	local p
	for p in "${bench_pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$bench_dir"
}
trap bench_cleanup EXIT INT TERM

# bench_bg CMD...: run CMD in the background, killed at the end; $! as
# usual.
bench_bg() {
	"$@" &
	bench_pids+=("$!")
}

# now: nanoseconds.
now() {
	date +%s%N
}

# secs_since T0: seconds since T0 (from now), three decimals.
secs_since() {
	echo "scale=3; ($(now) - $1) / 1000000000" | bc -l
}

# free_port: a loopback port nobody listens on now (for peers that cannot
# report the port they bound).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listening PORT: until something listens on 127.0.0.1:PORT.
wait_listening() {
	local end=$((SECONDS + 30))
	until ss -Hltn "sport = :$1" | grep -q .; do
		[ "$SECONDS" -lt "$end" ] ||
		    { echo "bench: nothing listens on $1" >&2; exit 1; }
		sleep 0.01
	done
}

# wait_port_file FILE: until FILE holds a port (or path); prints it.
wait_port_file() {
	local end=$((SECONDS + 60))
	until [ -s "$1" ]; do
		[ "$SECONDS" -lt "$end" ] ||
		    { echo "bench: no port in $1" >&2; exit 1; }
		sleep 0.01
	done
	cat "$1"
}

# median T...: the median of the numbers given.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
	    if (NR % 2) print v[(NR + 1) / 2];
	    else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B, two decimals.
ratio() {
	printf '%.2f' "$(echo "$1 / $2" | bc -l)"
}

# data_file SIZE: a file of SIZE random bytes (head -c units) in the
# scratch directory, cached in the page cache; prints its path.
data_file() {
	local f=$bench_dir/data.$1
	[ -f "$f" ] || head -c "$1" /dev/urandom >"$f"
	cat "$f" >/dev/null
	echo "$f"
}
