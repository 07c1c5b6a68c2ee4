# tests/helper.bash - shared by every tests/*.bats file.
#
# Servers start on port 0 and report their port through --port-file; every
# wait has a deadline; everything started here is killed in teardown.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${SOCKT:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/src/sockt}"
export SOCKT

# The binary, under the name users type.
sockt() {
	"$SOCKT" "$@"
}

# Default deadline (seconds) for every wait below.
DEADLINE=${DEADLINE:-20}

_pids_file() {
	echo "$BATS_TEST_TMPDIR/.pids"
}

# bg NAME CMD... : run CMD in the background, stdout to $T/NAME.out and
# stderr to $T/NAME.err (T is the test's temp dir); remembers the pid in
# $BG_PID and for teardown.  Give stdin with redirections around the call:
#     bg srv sockt listen 0 <input
bg() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	BG_PID=$!
	echo "$BG_PID" >>"$(_pids_file)"
}

# wait_file FILE [SECS]: wait until FILE exists and is non-empty.
wait_file() {
	local file=$1 secs=${2:-$DEADLINE} end
	end=$((SECONDS + secs))
	while [ ! -s "$file" ]; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out waiting for $file" >&2
			return 1
		fi
		sleep 0.01
	done
}

# wait_port FILE: wait for a --port-file and print the port.
wait_port() {
	wait_file "$1" || return 1
	# the file is renamed into place whole, so one read sees all of it
	cat "$1"
}

# wait_until [SECS] -- CMD...: retry CMD until it succeeds or time runs out.
wait_until() {
	local secs=$DEADLINE end
	if [ "$1" != "--" ]; then secs=$1; shift; fi
	shift
	end=$((SECONDS + secs))
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.01
	done
}

# wait_exit PID [SECS]: wait for a background job to end; its status is
# put in $EXIT.  Fails (and kills it) if it outlives the deadline.
wait_exit() {
	local pid=$1 secs=${2:-$DEADLINE} end
	end=$((SECONDS + secs))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "pid $pid still running after ${secs}s" >&2
			kill -9 "$pid" 2>/dev/null
			return 1
		fi
		# a finished child stays a zombie until waited for
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null)" = Z ]; then
			break
		fi
		sleep 0.01
	done
	EXIT=0
	wait "$pid" || EXIT=$?
}

# listen_bg NAME ARGS...: start "sockt listen --port-file ... ARGS" (ARGS
# must end with the port, usually 0) in the background; sets $PORT and
# $BG_PID.
listen_bg() {
	local name=$1
	shift
	bg "$name" sockt listen --port-file "$T/$name.port" "$@"
	PORT=$(wait_port "$T/$name.port") || return 1
}

# checksum FILE: the SHA-256 of FILE.
checksum() {
	sha256sum "$1" | cut -d' ' -f1
}

# random_file FILE BYTES: BYTES random bytes.
random_file() {
	head -c "$2" /dev/urandom >"$1"
}

# has CMD: is CMD installed?  Interop tests run only against real peers.
has() {
	command -v "$1" >/dev/null 2>&1
}

setup() {
	T=$BATS_TEST_TMPDIR
	export T
}

teardown() {
	local pid
	if [ -f "$(_pids_file)" ]; then
		while read -r pid; do
			pkill -KILL -P "$pid" 2>/dev/null || true
			kill -KILL "$pid" 2>/dev/null || true
		done <"$(_pids_file)"
	fi
}
