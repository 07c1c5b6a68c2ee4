#!/usr/bin/env bats
# fetch-file --retry: a connection cut inside the body is resumed with
# Range on a new connection (design section 4), and the file still ends
# verified.

bats_require_minimum_version 1.5.0

load helper

# flaky CUTS [MODE]: a python3 HTTP server for $T/f (2,000,000 bytes, ETag
# "v1", its Repr-Digest) that shuts the connection down after 300,000
# body bytes for its first CUTS answers.  MODE "no-range" answers every
# request with the whole file (200).  Each request's Range and If-Range go
# to $T/ranges, one line each.  Sets $PORT.
flaky() {
	random_file "$T/f" 2000000
	export CUTS=$1 MODE=${2:-}
	py_listen_bg web '
import http.server, hashlib, base64
data = open(os.path.join(T, "f"), "rb").read()
digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
cuts = [int(os.environ["CUTS"])]
mode = os.environ["MODE"]
log = open(os.path.join(T, "ranges"), "a")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        rng = self.headers.get("Range")
        log.write("%s|%s\n" % (rng, self.headers.get("If-Range")))
        log.flush()
        start = int(rng.split("=")[1].rstrip("-")) if rng and mode != "no-range" else 0
        body = data[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", "\"v1\"")
        self.send_header("Repr-Digest", "sha-256=:%s:" % digest)
        self.end_headers()
        if cuts[0] > 0:
            cuts[0] -= 1
            self.wfile.write(body[:300000])
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
report_port(srv.socket, PORTFILE)
srv.serve_forever()'
}

@test "fetch-file: a body cut twice is resumed with Range and If-Range, and the file is exact and verified" {
	flaky 2
	run --separate-stderr sockt fetch-file -v -o "$T/out" "http://127.0.0.1:$PORT/f"
	assert_success
	same_bytes "$T/f" "$T/out"
	[ ! -e "$T/out.part" ]
	run cat "$T/ranges"
	assert_output "None|None
bytes=300000-|\"v1\"
bytes=600000-|\"v1\""
	[[ $stderr == *"connection closed after 300000 of 2000000 bytes; resuming in 0.5 s (5 retries left)"* ]]
	[[ $stderr == *"SHA-256 verified"* ]]
}

@test "fetch-file -o -: a cut body is resumed on stdout, every byte once" {
	flaky 1
	run_out "$T/out" sockt fetch-file -o - "http://127.0.0.1:$PORT/f"
	assert_equal "$status" 0
	same_bytes "$T/f" "$T/out"
}

@test "fetch-file --retry 2: a third cut is exit 1 with the count, and NAME.part is kept for resuming" {
	flaky 3
	run --separate-stderr sockt fetch-file --retry 2 -o "$T/out" "http://127.0.0.1:$PORT/f"
	one_line_error 1 "^sockt: http://127\.0\.0\.1:$PORT/f: connection closed after 900000 of 2000000 bytes; .*out\.part kept for resuming$"
	[ ! -e "$T/out" ]
	[ "$(stat -c %s "$T/out.part")" -eq 900000 ]
	# and a later run picks it up from there
	run sockt fetch-file -o "$T/out" "http://127.0.0.1:$PORT/f"
	assert_success
	same_bytes "$T/f" "$T/out"
	run tail -1 "$T/ranges"
	assert_output "bytes=900000-|\"v1\""
}

@test "fetch-file: a server that answers a resume with the whole file is exit 1, never a spliced file" {
	flaky 1 no-range
	run --separate-stderr sockt fetch-file -o "$T/out" "http://127.0.0.1:$PORT/f"
	one_line_error 1 "the server sent the whole file again instead of resuming at byte 300000$"
	[ ! -e "$T/out" ]
}

@test "fetch-file --retry 0 gives up at the first cut; a bad --retry is a usage error" {
	flaky 1
	run --separate-stderr sockt fetch-file --retry 0 -o "$T/out" "http://127.0.0.1:$PORT/f"
	one_line_error 1 "connection closed after 300000 of 2000000 bytes"
	run --separate-stderr sockt fetch-file --retry -1 -o "$T/out" "http://127.0.0.1:$PORT/f"
	one_line_error 2 "^sockt: bad --retry '-1': not a decimal number \\(0-100\\)"
	run --separate-stderr sockt fetch-file --retry 101 -o "$T/out" "http://127.0.0.1:$PORT/f"
	one_line_error 2 "^sockt: bad --retry '101': "
}

@test "fetch-file --retry with --raw is a usage error: a raw stream cannot be resumed" {
	run --separate-stderr sockt fetch-file --raw --retry 3 -o - 127.0.0.1 1
	one_line_error 2 "^sockt: cannot use --retry with --raw"
}
