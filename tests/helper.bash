# tests/helper.bash - shared by every tests/*.bats file.
#
# Servers start on port 0 and report their port through --port-file; every
# wait has a deadline; everything started here is killed in teardown.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${SOCKT:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/src/sockt}"
export SOCKT

# The system's python3 and peers first: a version manager's shim (pyenv)
# can take 0.4 s to start, longer than the deadlines some tests set.
PATH=/usr/bin:/bin:$PATH

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
# $BG_PID and for teardown.  Give stdin with redirections around the call
# (it is passed on explicitly; bats' own stdin is /dev/null):
#     bg srv sockt listen 0 <input
bg() {
	local name=$1
	shift
	# the binary itself, not the shell function: $BG_PID is then sockt's
	# own pid, and killing it leaves no orphan behind
	[ "$1" = sockt ] && set -- "$SOCKT" "${@:2}"
	# <&0: an async command otherwise reads /dev/null, not the caller's <
	"$@" <&0 >"$T/$name.out" 2>"$T/$name.err" &
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
	# the binary itself, not the shell function: $BG_PID is then sockt's
	# own pid, and killing it leaves no orphan behind
	[ "$1" = sockt ] && set -- "$SOCKT" "${@:2}"
	bg "$name" sockt listen --port-file "$T/$name.port" "$@"
	PORT=$(wait_port "$T/$name.port") || return 1
}

# checksum FILE: the SHA-256 of FILE.
checksum() {
	sha256sum "$1" | cut -d' ' -f1
}

# same_bytes A B: files A and B both exist and hold the same bytes.
same_bytes() {
	[ -f "$1" ] || fail "$1 is missing"
	[ -f "$2" ] || fail "$2 is missing"
	[ "$(checksum "$1")" = "$(checksum "$2")" ] ||
	    fail "$1 ($(wc -c <"$1") bytes) differs from $2 ($(wc -c <"$2") bytes)"
}

# random_file FILE BYTES: BYTES random bytes.
random_file() {
	head -c "$2" /dev/urandom >"$1"
}

# needs CMD: the peer under test must be installed (design section 5
# runs interop tests against the peers that are there).
needs() {
	has "$1" || skip "$1 is not installed"
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
		# wait for them, so bash prints no "Killed" notices into TAP
		while read -r pid; do
			wait "$pid" 2>/dev/null || true
		done <"$(_pids_file)"
	fi
}

# ---------------------------------------------------------------------
# Helpers for peers, held-open inputs and pipelines (stream, interop).

# Every fd opened by hold_fifo, closed in the jobs that spawn starts.
HELD_FDS=""

# hold_fifo NAME: make the FIFO $T/NAME and hold it open for writing, so
# a reader never sees end of file until `release $HELD`.  The fd is put in
# $HELD; write to it with `printf ... >&$HELD`.  Start jobs that must not
# keep it open with spawn, not bg.
hold_fifo() {
	mkfifo "$T/$1"
	exec {HELD}<>"$T/$1"
	HELD_FDS="$HELD_FDS $HELD"
}

# release FD: close a FIFO held by hold_fifo: its reader gets end of file.
release() {
	eval "exec $1>&-"
	HELD_FDS=$(echo " $HELD_FDS " | sed "s/ $1 / /")
}

# spawn NAME CMD...: bg, but CMD does not inherit the fds of hold_fifo,
# and an external CMD is exec'ed, so $BG_PID is its own pid (for signals).
spawn() {
	local name=$1
	shift
	[ "$1" = sockt ] && set -- "$SOCKT" "${@:2}"
	(
		for fd in $HELD_FDS; do eval "exec $fd>&-"; done
		if declare -F "$1" >/dev/null; then
			"$@"
			exit
		fi
		exec "$@"
	) <&0 >"$T/$name.out" 2>"$T/$name.err" &
	BG_PID=$!
	echo "$BG_PID" >>"$(_pids_file)"
}

# alive PID: is PID running (not gone, not a zombie)?
alive() {
	kill -0 "$1" 2>/dev/null &&
	    [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# spawn_listen NAME ARGS...: listen_bg with spawn: $BG_PID is sockt's pid.
# Fails at once, showing its stderr, if sockt exits before it listens.
spawn_listen() {
	local name=$1 end=$((SECONDS + DEADLINE))
	shift
	spawn "$name" "$SOCKT" listen --port-file "$T/$name.port" "$@"
	until [ -s "$T/$name.port" ]; do
		if ! alive "$BG_PID" && [ ! -s "$T/$name.port" ]; then
			echo "sockt listen $* exited: $(cat "$T/$name.err")" >&2
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out waiting for $T/$name.port" >&2
			return 1
		fi
		sleep 0.01
	done
	PORT=$(cat "$T/$name.port")
}

# Python helpers for peer scripts (py_bg and py_listen_bg put them first).
PY_PRELUDE='
import os, socket, struct, sys, time

def report_port(s, path):
    """Write the bound port of S to PATH atomically, like --port-file."""
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(path + ".tmp", path)

def tcp_listen(path, host="127.0.0.1", backlog=8):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(backlog)
    report_port(s, path)
    return s

def accept_one(path, host="127.0.0.1"):
    s = tcp_listen(path, host)
    c, _ = s.accept()
    s.close()
    return c

def tcp_connect(port, host="127.0.0.1"):
    return socket.create_connection((host, int(port)))

def recv_all(c):
    """Everything until end of file."""
    parts = []
    while True:
        d = c.recv(1 << 16)
        if not d:
            return b"".join(parts)
        parts.append(d)

def reset(c):
    """Close C with a TCP reset (SO_LINGER 0)."""
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()

def tpath(name):
    """NAME inside the test temp dir."""
    return os.path.join(os.environ["T"], name)

def save(name, data):
    """Write DATA to $T/NAME atomically (wait_file sees it whole)."""
    with open(tpath(name) + ".tmp", "wb") as f:
        f.write(data)
    os.rename(tpath(name) + ".tmp", tpath(name))

def wait_for(name, secs=20):
    """Wait until $T/NAME exists (the test says go), with a deadline."""
    end = time.time() + secs
    while not os.path.exists(tpath(name)):
        if time.time() > end:
            sys.exit("timed out waiting for " + name)
        time.sleep(0.01)
'

# py_bg NAME CODE [ARGS...]: run python3 CODE (after PY_PRELUDE) in the
# background like spawn; in CODE, T is the test's temp dir.
py_bg() {
	local name=$1 code=$2
	shift 2
	spawn "$name" python3 -c "$PY_PRELUDE
T = os.environ['T']
NAME = '$name'
$code" "$@"
}

# py_listen_bg NAME CODE: a python3 server; CODE calls tcp_listen(PORTFILE)
# or accept_one(PORTFILE); sets $PORT once it listens.
py_listen_bg() {
	local name=$1 code=$2
	py_bg "$name" "PORTFILE = os.path.join(T, NAME + '.port')
$code"
	PORT=$(wait_port "$T/$name.port") || return 1
}

# listening_port PID: wait until process PID listens on a TCP port, print it
# (for peers such as ncat that do not report port 0).
listening_port() {
	local pid=$1 port end=$((SECONDS + DEADLINE))
	while :; do
		port=$(ss -Hltnp 2>/dev/null | grep "pid=$pid," |
		    awk '{ n = split($4, a, ":"); print a[n]; exit }')
		[ -n "$port" ] && { echo "$port"; return 0; }
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out waiting for pid $pid to listen" >&2
			return 1
		fi
		sleep 0.01
	done
}

# free_port: a TCP port on 127.0.0.1 that nobody uses at this moment.
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# one_line_error STATUS REGEX: after `run --separate-stderr`, assert the
# exit status, an empty stdout and exactly one stderr line, starting with
# "sockt: " and matching the extended REGEX.
one_line_error() {
	assert_equal "$status" "$1"
	assert_equal "$output" ""
	assert_equal "${#stderr_lines[@]}" 1
	[[ "${stderr_lines[0]}" == "sockt: "* ]] ||
	    fail "stderr does not start with 'sockt: ': $stderr"
	[[ "${stderr_lines[0]}" =~ $2 ]] ||
	    fail "stderr '$stderr' does not match /$2/"
}

# run_out FILE CMD...: like `run --separate-stderr`, but CMD's stdout goes
# to FILE (bats' run would capture it), and an external CMD gets $DEADLINE
# seconds (status 124 after that).  Sets $status, $stderr and
# $stderr_lines; $output is empty.
run_out() {
	local file=$1 errfile="$BATS_TEST_TMPDIR/.run_out.err"
	shift
	status=0
	if declare -F "$1" >/dev/null; then
		"$@" >"$file" 2>"$errfile" || status=$?
	else
		timeout "$DEADLINE" "$@" >"$file" 2>"$errfile" || status=$?
	fi
	stderr=$(cat "$errfile")
	mapfile -t stderr_lines <"$errfile"
	output=""
	lines=()
}

# ---- HTTP servers and clients the file suites share ---------------------

# serve NAME ARGS...: "sockt serve-file --port-file ... ARGS" in the
# background; sets PORT, and BG_PID and SRV_PID once it is ready.
serve() {
	local name=$1
	shift
	bg "$name" sockt serve-file --port-file "$T/$name.port" "$@"
	SRV_PID=$BG_PID
	PORT=$(wait_port "$T/$name.port") || return 1
}

# b64sha FILE: the SHA-256 of FILE in base64, as Repr-Digest carries it.
b64sha() {
	openssl dgst -sha256 -binary "$1" | base64
}

# http_raw PORT: send stdin as it is, half-close, print all the server
# sends until it closes (a 120 s deadline against a hang).
http_raw() {
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=120)
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
while True:
    d = s.recv(65536)
    if not d:
        break
    sys.stdout.buffer.write(d)
' "$1"
}

# status_of PORT: the status code of the raw request on stdin.
status_of() {
	http_raw "$1" | head -n1 | cut -d' ' -f2
}

# fake_server NAME RESPONSE [hang]: a one-shot HTTP server on port 0 that
# reads a request head (saved in $T/NAME.req), sends the bytes of file
# RESPONSE, then closes, or with "hang" waits to be killed.  Sets PORT.
fake_server() {
	local name=$1 response=$2 hang=${3:-}
	bg "$name" python3 -c '
import os, socket, sys, time
portfile, response, reqfile, hang = sys.argv[1:5]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
c, _ = ls.accept()
req = b""
while b"\r\n\r\n" not in req:
    d = c.recv(4096)
    if not d:
        break
    req += d
open(reqfile, "wb").write(req)
c.sendall(open(response, "rb").read())
if hang:
    while True:
        time.sleep(1)
c.close()
' "$T/$name.port" "$response" "$T/$name.req" "$hang"
	PORT=$(wait_port "$T/$name.port") || return 1
}

# web: python3's http.server on 127.0.0.1 serving $T/www (f: 1 MB of
# random bytes); its request log goes to $T/web.err; sets $WPORT.
web() {
	mkdir -p "$T/www"
	random_file "$T/www/f" 1000000
	py_listen_bg web '
import http.server, functools
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=os.path.join(T, "www"))
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
report_port(srv.socket, PORTFILE)
srv.serve_forever()'
	WPORT=$PORT
}
