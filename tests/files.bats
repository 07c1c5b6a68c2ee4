#!/usr/bin/env bats
# tests/files.bats - serve-file and fetch-file: HTTP/1.1 with curl, wget and
# python3 -m http.server on the other side, raw mode against nc, path
# safety, resume, digests, overwrite protection, listings, bad requests,
# faults (a killed server, a digest mismatch, a full disk).
load helper
bats_require_minimum_version 1.5.0

# The helper's teardown kills what was started; a test that mounts a tmpfs
# also needs it unmounted, after its processes are gone.
eval "$(declare -f teardown | sed '1s/^teardown/helper_teardown/')"
teardown() {
	helper_teardown
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

# file_size FILE: its size in bytes (0 when missing).
file_size() {
	stat -c %s "$1" 2>/dev/null || echo 0
}

# has_size FILE BYTES: does FILE hold exactly BYTES now?
has_size() {
	[ "$(file_size "$1")" -eq "$2" ]
}

# ---- serve-file with curl and wget --------------------------------------

@test "serve-file: curl GET gets the exact bytes with length, validators and Repr-Digest" {
	random_file "$T/f.bin" 3000000
	serve srv 127.0.0.1 0 "$T/f.bin"
	run curl -sS -D "$T/h" -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	[ "$(checksum "$T/got")" = "$(checksum "$T/f.bin")" ]
	run tr -d '\r' <"$T/h"
	assert_line "HTTP/1.1 200 OK"
	assert_line "Content-Length: 3000000"
	assert_line "Repr-Digest: sha-256=:$(b64sha "$T/f.bin"):"
	assert_line "ETag: \"$(checksum "$T/f.bin" | cut -c1-32)\""
	assert_line "Accept-Ranges: bytes"
	assert_line 'Content-Disposition: inline; filename="f.bin"'
	assert_line 'Content-Type: application/octet-stream'
	assert_line --regexp '^Last-Modified: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$'
}

@test "serve-file: HEAD (curl -I) gets the headers and no body" {
	random_file "$T/f.bin" 100000
	serve srv 127.0.0.1 0 "$T/f.bin"
	run curl -sS -I "http://127.0.0.1:$PORT/f.bin"
	assert_success
	assert_line --partial "HTTP/1.1 200 OK"
	assert_line --partial "Content-Length: 100000"
	assert_line --partial "Repr-Digest: sha-256=:$(b64sha "$T/f.bin"):"
	# exactly the head, nothing after it
	http_raw "$PORT" >"$T/raw" <<-EOF
	HEAD /f.bin HTTP/1.1
	Host: x
	Connection: close

	EOF
	tail -c 4 "$T/raw" | od -An -c | grep -q '\\r  \\n  \\r  \\n'
	[ "$(file_size "$T/raw")" -lt 1000 ]
}

@test "serve-file: curl -r gets 206 with Content-Range and the whole file's digest" {
	random_file "$T/f.bin" 100000
	serve srv 127.0.0.1 0 "$T/f.bin"
	run curl -sS -r 1000-1999 -D "$T/h" -o "$T/part" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	cmp "$T/part" <(tail -c +1001 "$T/f.bin" | head -c 1000)
	run tr -d '\r' <"$T/h"
	assert_line "HTTP/1.1 206 Partial Content"
	assert_line "Content-Range: bytes 1000-1999/100000"
	assert_line "Content-Length: 1000"
	assert_line "Repr-Digest: sha-256=:$(b64sha "$T/f.bin"):"
	# a suffix range and an open-ended one
	run curl -sS -r -10 "http://127.0.0.1:$PORT/f.bin" -o "$T/tail"
	cmp "$T/tail" <(tail -c 10 "$T/f.bin")
	run curl -sS -r 99990- "http://127.0.0.1:$PORT/f.bin" -o "$T/tail2"
	cmp "$T/tail2" <(tail -c 10 "$T/f.bin")
}

@test "serve-file: a range past the end gets 416 with bytes */SIZE" {
	random_file "$T/f.bin" 1000
	serve srv 127.0.0.1 0 "$T/f.bin"
	run curl -sS -r 5000-6000 -D "$T/h" -o /dev/null "http://127.0.0.1:$PORT/f.bin"
	run tr -d '\r' <"$T/h"
	assert_line "HTTP/1.1 416 Range Not Satisfiable"
	assert_line "Content-Range: bytes */1000"
}

@test "serve-file: Range and If-Modified-Since numbers are plain digits, else ignored" {
	random_file "$T/f.bin" 1000
	serve srv 127.0.0.1 0 "$T/f.bin"
	for range in 'bytes=1 - 2' 'bytes=+1-2' 'bytes=0x1-2' 'bytes=1-+2'; do
		run curl -sS -H "Range: $range" -o "$T/got" -w '%{http_code}' "http://127.0.0.1:$PORT/f.bin"
		assert_output 200
		cmp "$T/got" "$T/f.bin"
	done
	run curl -sS -H 'Range: bytes=1-2' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/f.bin"
	assert_output 206
	# a date in 2100 but for its sign: not a date, so the file is sent
	for date in 'Fri, +1 Jan 2100 00:00:00 GMT' 'Fri, 01 Jan 2100 +0:00:00 GMT'; do
		run curl -sS -H "If-Modified-Since: $date" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/f.bin"
		assert_output 200
	done
}

@test "serve-file: several ranges are ignored and the whole file is sent" {
	random_file "$T/f.bin" 5000
	serve srv 127.0.0.1 0 "$T/f.bin"
	run curl -sS -r 0-1,10-20 -D "$T/h" -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	cmp "$T/got" "$T/f.bin"
	grep -q "^HTTP/1.1 200 OK" "$T/h"
}

@test "serve-file: curl -C - resumes a partial download" {
	random_file "$T/f.bin" 2000000
	serve srv 127.0.0.1 0 "$T/f.bin"
	head -c 700000 "$T/f.bin" >"$T/got"
	run curl -sS -C - -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	[ "$(checksum "$T/got")" = "$(checksum "$T/f.bin")" ]
}

@test "serve-file: wget -c resumes a partial download" {
	has wget || skip "wget not installed"
	random_file "$T/f.bin" 2000000
	serve srv 127.0.0.1 0 "$T/f.bin"
	mkdir "$T/w"
	head -c 1234567 "$T/f.bin" >"$T/w/f.bin"
	run wget -q -c -P "$T/w" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	[ "$(checksum "$T/w/f.bin")" = "$(checksum "$T/f.bin")" ]
	grep -q '"GET /f.bin" 206' "$T/srv.err" || [ ! -s "$T/srv.err" ]
}

@test "serve-file: If-None-Match with the ETag or If-Modified-Since gets 304, stale ones 200" {
	random_file "$T/f.bin" 1000
	serve srv 127.0.0.1 0 "$T/f.bin"
	etag="\"$(checksum "$T/f.bin" | cut -c1-32)\""
	run curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "http://127.0.0.1:$PORT/f.bin"
	assert_output 304
	run curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "nope"' "http://127.0.0.1:$PORT/f.bin"
	assert_output 200
	run curl -sS -o /dev/null -w '%{http_code}' -H 'If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT' "http://127.0.0.1:$PORT/f.bin"
	assert_output 304
	run curl -sS -o /dev/null -w '%{http_code}' -H 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT' "http://127.0.0.1:$PORT/f.bin"
	assert_output 200
}

@test "serve-file: an If-Modified-Since with a sign or a blank in a number is no date (200)" {
	local d
	random_file "$T/f.bin" 1000
	serve srv 127.0.0.1 0 "$T/f.bin"
	for d in 'Fri, 01 Jan 2100 -1:00:00 GMT' 'Fri, +1 Jan 2100 00:00:00 GMT' \
	    'Fri,  1 Jan 2100 00:00:00 GMT' 'Fri, 01 Jan +100 00:00:00 GMT'; do
		run curl -sS -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $d" "http://127.0.0.1:$PORT/f.bin"
		assert_output 200
	done
}

@test "serve-file: keep-alive answers pipelined requests in order on one connection" {
	printf 'one' >"$T/a"
	printf 'two!' >"$T/b"
	serve srv 127.0.0.1 0 "$T/a" "$T/b"
	printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	    http_raw "$PORT" >"$T/out"
	[ "$(grep -o 'HTTP/1.1 200 OK' "$T/out" | wc -l)" -eq 3 ]
	[ "$(grep -c '^Connection: keep-alive' "$T/out")" -eq 2 ]
	grep -q '^Connection: close' "$T/out"
	# the bodies, in order
	run python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(b"|".join(p.split(b"\r\n\r\n",1)[1][:4].rstrip(b"H") for p in d.split(b"HTTP/1.1 ")[1:]).decode())' "$T/out"
	assert_output "one|two!|one"
}

@test "serve-file: HTTP/1.0 without keep-alive gets one response and a close" {
	printf 'x' >"$T/a"
	serve srv 127.0.0.1 0 "$T/a"
	run sh -c "printf 'GET /a HTTP/1.0\r\n\r\n' | python3 -c 'import socket,sys
s=socket.create_connection((\"127.0.0.1\",$PORT));s.sendall(sys.stdin.buffer.read())
d=b\"\"
while True:
    c=s.recv(4096)
    if not c: break
    d+=c
sys.stdout.write(d.decode())'"
	assert_success
	assert_line --partial "Connection: close"
}

@test "serve-file: the listing at / is HTML for */* and text when text/plain is ranked higher" {
	mkdir -p "$T/d/sub"
	printf 'a' >"$T/d/plain.txt"
	printf 'b' >"$T/d/a b"
	printf 'c' >"$T/d/x%y"
	printf 'd' >"$T/d/sub/deep"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sS -D "$T/h" -H 'Accept: text/plain' "http://127.0.0.1:$PORT/"
	assert_success
	assert_output "$(printf 'a b\nplain.txt\nsub/\nx%%25y')"
	grep -q '^Content-Type: text/plain; charset=utf-8' "$T/h"
	run curl -sS -D "$T/h" "http://127.0.0.1:$PORT/"
	assert_line --regexp '^<tr><td><a href="/a%20b">a b</a></td><td class="size">1</td><td>[0-9-]{10} [0-9:]{8}</td></tr>$'
	assert_line --regexp '^<tr><td><a href="/sub/">sub/</a></td><td class="size">-</td>'
	assert_line --partial '<title>Index of /</title>'
	grep -q '^Content-Type: text/html; charset=utf-8' "$T/h"
	run curl -sS -H 'Accept: text/plain' "http://127.0.0.1:$PORT/sub/"
	assert_output "deep"
	run curl -sS "http://127.0.0.1:$PORT/sub/deep"
	assert_output "d"
	# a client that refuses HTML (q=0) gets text
	run curl -sS -H 'Accept: text/html;q=0' "http://127.0.0.1:$PORT/sub/"
	assert_output "deep"
}

@test "serve-file: an empty directory gets an empty listing, and the server lives on" {
	mkdir -p "$T/d/empty"
	printf 'x' >"$T/d/x"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sS -D "$T/h" -H 'Accept: text/plain' "http://127.0.0.1:$PORT/empty/"
	assert_success
	assert_output ""
	grep -q '^HTTP/1.1 200' "$T/h"
	run curl -sS "http://127.0.0.1:$PORT/x"
	assert_output "x"
	alive "$SRV_PID"
}

@test "serve-file: FILE and DIR arguments are merged at /, the first name wins" {
	mkdir -p "$T/d"
	printf 'from-dir' >"$T/d/same"
	mkdir -p "$T/e"
	printf 'from-file' >"$T/e/same"
	printf 'only' >"$T/e/only"
	serve srv 127.0.0.1 0 "$T/e/same" "$T/d" "$T/e/only"
	run curl -sS "http://127.0.0.1:$PORT/same"
	assert_output "from-file"
	run curl -sS -H 'Accept: text/plain' "http://127.0.0.1:$PORT/"
	assert_output "$(printf 'only\nsame')"
	# a directory of the earlier argument wins over a later FILE too
	mkdir "$T/d/only"
	run curl -sS -H 'Accept: text/plain' "http://127.0.0.1:$PORT/"
	assert_output "$(printf 'only/\nsame')"
}

@test "serve-file: a listing of 40,000 entries is complete, sorted, and other clients are served meanwhile" {
	mkdir "$T/big"
	python3 -c '
import os, random, sys
names = ["f-%05d" % i for i in range(40000)]
random.shuffle(names)	# so readdir order is not sorted order
d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for n in names:
    os.mknod(n, dir_fd=d)	# an empty regular file, in one system call
' "$T/big"
	printf 'small' >"$T/small"
	serve srv 127.0.0.1 0 "$T/small" "$T/big"
	curl -sS -o "$T/list" -H 'Accept: text/plain' "http://127.0.0.1:$PORT/" &
	lister=$!
	curl -sS -o "$T/html" -H 'Accept: text/html' "http://127.0.0.1:$PORT/" &
	lister2=$!
	run curl -sS "http://127.0.0.1:$PORT/small"
	assert_output small
	wait "$lister"
	wait "$lister2"
	# every name once, in byte order, the FILE argument's among them
	[ "$(wc -l <"$T/list")" -eq 40001 ]
	diff "$T/list" <( (echo small; ls "$T/big") | LC_ALL=C sort)
	[ "$(grep -c '^<tr><td><a href="/f-[0-9]*">f-[0-9]*</a></td><td class="size">0</td>' "$T/html")" -eq 40000 ]
	alive "$BG_PID"
}

@test "serve-file: --count 1 exits 0 after one response" {
	printf 'x' >"$T/a"
	serve srv --count 1 127.0.0.1 0 "$T/a"
	run curl -sS "http://127.0.0.1:$PORT/a"
	assert_output "x"
	wait_exit "$BG_PID"
	[ "$EXIT" -eq 0 ]
}

@test "serve-file: -v reports each response after the listening line" {
	printf 'x' >"$T/a"
	serve srv -v 127.0.0.1 0 "$T/a"
	curl -sS -o /dev/null "http://127.0.0.1:$PORT/a"
	curl -sS -o /dev/null "http://127.0.0.1:$PORT/missing"
	wait_until -- grep -q '"GET /missing" 404' "$T/srv.err"
	run cat "$T/srv.err"
	assert_line "sockt: listening on 127.0.0.1:$PORT"
	assert_line --regexp '^sockt: 127\.0\.0\.1:[0-9]+: "GET /a" 200$'
}

@test "serve-file: FILE arguments are hashed before readiness is reported" {
	random_file "$T/f.bin" 5000000
	serve srv -vv 127.0.0.1 0 "$T/f.bin"
	run cat "$T/srv.err"
	assert_line --index 0 --regexp "^sockt: $T/f.bin: hashed in [0-9]+ ms$"
	assert_line --index 1 "sockt: listening on 127.0.0.1:$PORT"
	# so the first response carries the digest at once
	run curl -sS -D "$T/h" -o /dev/null "http://127.0.0.1:$PORT/f.bin"
	grep -q "^Repr-Digest: sha-256=:$(b64sha "$T/f.bin"):" "$T/h"
}

@test "serve-file: -i closes a connection idle that long" {
	printf 'x' >"$T/a"
	serve srv -i 0.3 127.0.0.1 0 "$T/a"
	run python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
t = time.time()
print(s.recv(10), round(time.time() - t) < 5)
' "$PORT"
	assert_output "b'' True"
}

@test "serve-file: a file changed in place gets a fresh digest, never a stale one" {
	random_file "$T/f.bin" 50000
	serve srv 127.0.0.1 0 "$T/f.bin"
	for i in 1 2 3; do
		# same size, same inode, rewritten at once (same timestamp tick)
		random_file "$T/new" 50000
		dd if="$T/new" of="$T/f.bin" conv=notrunc status=none
		run curl -sS -D "$T/h" -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
		cmp "$T/got" "$T/f.bin"
		grep -q "^Repr-Digest: sha-256=:$(b64sha "$T/f.bin"):" "$T/h"
	done
	# content changed, then the modification time put back: still fresh
	random_file "$T/new" 50000
	stamp=$(stat -c %y "$T/f.bin")
	dd if="$T/new" of="$T/f.bin" conv=notrunc status=none
	touch -d "$stamp" "$T/f.bin"
	run curl -sS -D "$T/h" -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	grep -q "^Repr-Digest: sha-256=:$(b64sha "$T/f.bin"):" "$T/h"
}

@test "serve-file: a file replaced under a directory is served and hashed anew" {
	mkdir "$T/d"
	random_file "$T/d/f" 10000
	serve srv 127.0.0.1 0 "$T/d"
	run sockt fetch-file -o "$T/one" "http://127.0.0.1:$PORT/f"
	assert_success
	random_file "$T/d/f.new" 20000
	mv "$T/d/f.new" "$T/d/f"
	run sockt fetch-file -o "$T/two" "http://127.0.0.1:$PORT/f"
	assert_success
	cmp "$T/two" "$T/d/f"
}

@test "serve-file: a FILE modified in the future (clock skew) does not hold up readiness" {
	random_file "$T/f.bin" 50000
	touch -d '+1 hour' "$T/f.bin"
	serve srv -v 127.0.0.1 0 "$T/f.bin"
	run curl -sS -m 30 -D "$T/h" -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	cmp "$T/got" "$T/f.bin"
	grep -q "^Repr-Digest: sha-256=:$(b64sha "$T/f.bin"):" "$T/h"
	grep -q "^sockt: $T/f.bin: modified in the future: hashed on request" "$T/srv.err"
}

@test "serve-file: a file modified in the future is answered after a capped wait, its digest never cached" {
	mkdir "$T/d"
	random_file "$T/d/f" 50000
	touch -d '+1 hour' "$T/d/f"
	serve srv -vv 127.0.0.1 0 "$T/d"
	# the racy window would last an hour: the wait for it is capped
	for i in 1 2; do
		run curl -sS -m 30 -D "$T/h" -o "$T/got" "http://127.0.0.1:$PORT/f"
		assert_success
		cmp "$T/got" "$T/d/f"
		grep -q "^Repr-Digest: sha-256=:$(b64sha "$T/d/f"):" "$T/h"
	done
	# not trustworthy for the cache: each request hashes it again
	[ "$(grep -c '^sockt: hashing /f$' "$T/srv.err")" -eq 2 ]
}

# A directory whose file "big" takes about a second to hash (a sparse
# GiB: a directory's files are hashed on their first request, while the
# loop keeps serving), and "small".  BIG_DIGEST is its Repr-Digest.
BIG_DIGEST='Sbwg3xXkEqZEckIeE/6G/xxRZeGLKvzPFg1NwZ/mihQ='	# 1 GiB of zeros
big_tree() {
	mkdir "$T/d"
	truncate -s 1G "$T/d/big"
	random_file "$T/d/small" 5000
}

# nfds PID: how many descriptors PID has open.
nfds() {
	ls "/proc/$1/fd" | wc -l
}

# has_nfds PID N: does PID have exactly N descriptors open now?
has_nfds() {
	[ "$(nfds "$1")" -eq "$2" ]
}

# Python for a client that waits until serve-file -vv (stderr in
# $T/srv.err) has started hashing /big.
PY_HASHING='
def wait_hashing(secs=120):
    end = time.time() + secs
    while b"hashing /big" not in open(tpath("srv.err"), "rb").read():
        if time.time() > end:
            sys.exit("timed out waiting for the hashing of /big")
        time.sleep(0.01)
'

@test "serve-file: a client that sends more and resets while its file is hashed leaves the server serving" {
	big_tree
	serve srv -vv 127.0.0.1 0 "$T/d"
	srv=$BG_PID
	# the request, one more byte 10 ms later while /big is hashed, a reset
	py_bg client "$PY_HASHING
s = tcp_connect(sys.argv[1])
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(b'GET /big HTTP/1.1\r\nHost: x\r\n\r\n')
wait_hashing()
time.sleep(0.01)
s.sendall(b'x')
time.sleep(0.01)
reset(s)
" "$PORT"
	wait_exit "$BG_PID"
	[ "$EXIT" -eq 0 ]
	# the next client waits for the same digest (half-closed: it has
	# nothing more to say), and gets it
	printf 'HEAD /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	    http_raw "$PORT" >"$T/head"
	run tr -d '\r' <"$T/head"
	assert_line --index 0 "HTTP/1.1 200 OK"
	assert_line "Repr-Digest: sha-256=:$BIG_DIGEST:"
	run curl -sS -o "$T/got" "http://127.0.0.1:$PORT/small"
	assert_success
	cmp "$T/got" "$T/d/small"
	alive "$srv"
}

@test "serve-file: bytes a client sends while its file is hashed cost no descriptor and are its next request" {
	big_tree
	serve srv -vv 127.0.0.1 0 "$T/d"
	srv=$BG_PID
	before=$(nfds "$srv")
	# a pipelined second request, in 5 packets 10 ms apart during hashing
	py_bg client "$PY_HASHING
s = tcp_connect(sys.argv[1])
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(b'HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n')
wait_hashing()
second = b'HEAD /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
for i in range(5):
    time.sleep(0.01)
    s.sendall(second[i * 12:(i + 1) * 12 if i < 4 else None])
sys.stdout.buffer.write(recv_all(s))
" "$PORT"
	wait_exit "$BG_PID"
	[ "$EXIT" -eq 0 ]
	run tr -d '\r' <"$T/client.out"
	[ "$(grep -c '^HTTP/1.1 ' <<<"$output")" -eq 2 ]
	assert_line --index 0 "HTTP/1.1 200 OK"
	assert_line "Repr-Digest: sha-256=:$BIG_DIGEST:"
	assert_line "Content-Length: 1073741824"
	assert_line "Repr-Digest: sha-256=:$(b64sha "$T/d/small"):"
	assert_line "Content-Length: 5000"
	assert_line "Connection: close"
	# every descriptor of that connection is given back
	wait_until -- has_nfds "$srv" "$before"
	alive "$srv"
}

# ---- path safety --------------------------------------------------------

@test "serve-file: .. and encoded .. never leave the tree (403)" {
	mkdir -p "$T/root/d/sub"
	printf 'SECRET' >"$T/root/secret"
	printf 'ok' >"$T/root/d/sub/f"
	serve srv 127.0.0.1 0 "$T/root/d"
	for p in '/../secret' '/sub/../../secret' '/%2e%2e/secret' '/%2E%2E/secret' \
	    '/sub/%2e%2e/%2e%2e/secret' '/..%2fsecret' '/sub%2f..%2f..%2fsecret' \
	    '/.%2e/secret' '/%2e./secret' '/sub/..'; do
		run curl -sS --path-as-is -o "$T/got" -w '%{http_code}' "http://127.0.0.1:$PORT$p"
		assert_output 403
		! grep -q SECRET "$T/got"
	done
	# a sane path still works
	run curl -sS --path-as-is "http://127.0.0.1:$PORT/sub/./f"
	assert_output ok
}

@test "serve-file: raw requests with .. in every spelling get 403" {
	mkdir -p "$T/root/d"
	printf 'SECRET' >"$T/root/secret"
	serve srv 127.0.0.1 0 "$T/root/d"
	for p in '/../secret' '/%2e%2e%2fsecret' 'http://x/../secret' '/a/b/../../../secret'; do
		printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$p" |
		    http_raw "$PORT" >"$T/out"
		head -n1 "$T/out" | grep -q '^HTTP/1.1 403 '
		! grep -q SECRET "$T/out"
	done
}

@test "serve-file: absolute paths stay inside the tree" {
	mkdir -p "$T/d"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sS --path-as-is -o "$T/got" -w '%{http_code}' "http://127.0.0.1:$PORT//etc/passwd"
	assert_output 404
	run curl -sS --path-as-is -o "$T/got" -w '%{http_code}' "http://127.0.0.1:$PORT/%2fetc%2fpasswd"
	assert_output 404
	printf 'GET http://127.0.0.1/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	    http_raw "$PORT" >"$T/out"
	head -n1 "$T/out" | grep -q '^HTTP/1.1 404 '
	! grep -q root: "$T/out"
}

@test "serve-file: a NUL byte in the path gets 403" {
	mkdir -p "$T/d"
	printf 'x' >"$T/d/a"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/a%00.txt"
	assert_output 403
	run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/a%00"
	assert_output 403
}

@test "serve-file: symlinks leading out of the tree get 403, those inside are served" {
	mkdir -p "$T/root/d/sub"
	printf 'SECRET' >"$T/root/secret"
	printf 'inside' >"$T/root/d/real"
	ln -s ../secret "$T/root/d/rel-out"
	ln -s "$T/root/secret" "$T/root/d/abs-out"
	ln -s "$T/root" "$T/root/d/sub/dir-out"
	ln -s real "$T/root/d/rel-in"
	ln -s ../real "$T/root/d/sub/up-in"
	serve srv 127.0.0.1 0 "$T/root/d"
	for p in /rel-out /abs-out /sub/dir-out/secret; do
		run curl -sS -o "$T/got" -w '%{http_code}' "http://127.0.0.1:$PORT$p"
		assert_output 403
		! grep -q SECRET "$T/got"
	done
	run curl -sS "http://127.0.0.1:$PORT/rel-in"
	assert_output inside
	run curl -sS "http://127.0.0.1:$PORT/sub/up-in"
	assert_output inside
	# the listing shows only what can be fetched
	run curl -sS -H 'Accept: text/plain' "http://127.0.0.1:$PORT/"
	assert_output "$(printf 'real\nrel-in\nsub/')"
}

@test "serve-file: a link through .. is served while files are renamed elsewhere (openat2 EAGAIN is retried)" {
	mkdir -p "$T/d/sub/deeper"
	printf 'b' >"$T/d/sub/b"
	# many components, so that a rename is likely while one resolves
	ln -s "$(printf 'deeper/../%.0s' $(seq 40))b" "$T/d/sub/dotted"
	serve srv 127.0.0.1 0 "$T/d"
	# a rename anywhere makes openat2() fail with EAGAIN while it
	# resolves "..": the kernel asks the caller to retry
	py_bg renamer "
a, b = tpath('r1'), tpath('r2')
open(a, 'w').close()
os.rename(a, b)
os.rename(b, a)
save('renaming', b'go')
while True:
    os.rename(a, b)
    os.rename(b, a)
"
	wait_file "$T/renaming"
	# 5,000 requests on one connection, the last a listing of /sub
	run python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
req = b"GET /sub/dotted HTTP/1.1\r\nHost: x\r\n\r\n" * 4999
req += b"GET /sub/ HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
s.sendall(req)
d = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    d += c
codes = [p.split(b" ", 1)[0].decode() for p in d.split(b"HTTP/1.1 ")[1:]]
print(len(codes), sorted(set(codes)), d.endswith(b"b\ndeeper/\ndotted\n"))
' "$PORT"
	assert_output "5000 ['200'] True"
}

@test "serve-file: FIFOs and devices beneath the tree are not served" {
	mkdir -p "$T/d"
	mkfifo "$T/d/fifo"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/fifo"
	assert_output 404
}

@test "serve-file: a malformed percent escape gets 400" {
	mkdir -p "$T/d"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/a%zz"
	assert_output 400
	run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/a%4"
	assert_output 400
}

# ---- bad requests -------------------------------------------------------

@test "serve-file: garbage gets 400 and the connection is closed" {
	printf 'x' >"$T/a"
	serve srv 127.0.0.1 0 "$T/a"
	printf 'HELLO THERE\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n' | http_raw "$PORT" >"$T/out"
	head -n1 "$T/out" | grep -q '^HTTP/1.1 400 Bad Request'
	grep -q '^Connection: close' "$T/out"
	[ "$(grep -c '^HTTP/1.1' "$T/out")" -eq 1 ]
	for req in 'GET /a\r\n\r\n' 'GET /a HTTP/1.1\r\n\r\n' 'GET  /a HTTP/1.1\r\nHost: x\r\n\r\n' \
	    'GET /a HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n' 'GET /a HTTP/1.1\r\nHost x\r\n\r\n' \
	    'GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n' \
	    'GET a HTTP/1.1\r\nHost: x\r\n\r\n'; do
		run status_of "$PORT" < <(printf "$req")
		assert_output 400
	done
}

@test "serve-file: other methods get 405 with Allow, other versions 505" {
	printf 'x' >"$T/a"
	serve srv 127.0.0.1 0 "$T/a"
	for m in POST PUT DELETE OPTIONS BREW; do
		run curl -sS -X "$m" -D "$T/h" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/a"
		assert_output 405
		grep -q '^Allow: GET, HEAD' "$T/h"
	done
	run status_of "$PORT" < <(printf 'GET /a HTTP/2.0\r\nHost: x\r\n\r\n')
	assert_output 505
}

@test "serve-file: an over-long request line gets 414, an oversized head 431" {
	printf 'x' >"$T/a"
	serve srv 127.0.0.1 0 "$T/a"
	long=$(head -c 9000 /dev/zero | tr '\0' a)
	run status_of "$PORT" < <(printf 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$long")
	assert_output 414
	run status_of "$PORT" < <(printf 'GET /a HTTP/1.1\r\nHost: x\r\nX-Big: %s%s\r\n\r\n' "$long" "$long")
	assert_output 431
	run status_of "$PORT" < <(printf 'GET /a HTTP/1.1\r\nHost: x\r\n'; for i in $(seq 120); do printf 'X-%d: y\r\n' "$i"; done; printf '\r\n')
	assert_output 431
	# a long line that is not even a request
	run status_of "$PORT" < <(head -c 20000 /dev/zero | tr '\0' z)
	assert_output 414
}

@test "serve-file: garbage, oversized and stalled requests never stop it serving others" {
	random_file "$T/f.bin" 500000
	serve srv 127.0.0.1 0 "$T/f.bin"
	# a client that sends half a head and stalls, held open meanwhile
	python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /f.bin HTTP/1.1\r\nHo")
time.sleep(30)
' "$PORT" &
echo $! >>"$BATS_TEST_TMPDIR/.pids"
	head -c 100000 /dev/urandom | http_raw "$PORT" >/dev/null
	head -c 40000 /dev/zero | tr '\0' 'A' | http_raw "$PORT" >/dev/null
	printf '\x00\x01\x02\r\n\r\n' | http_raw "$PORT" >/dev/null
	for i in 1 2 3; do
		run curl -sS -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
		assert_success
		cmp "$T/got" "$T/f.bin"
	done
	kill -0 "$BG_PID"
}

@test "serve-file: --max-conns refuses clients past the limit, --deny refuses by address" {
	printf 'x' >"$T/a"
	serve srv --deny 127.0.0.1 127.0.0.1 0 "$T/a"
	run curl -sS -o /dev/null "http://127.0.0.1:$PORT/a"
	assert_failure
	serve srv2 --max-conns 0 127.0.0.1 0 "$T/a"
	run curl -sS -o /dev/null "http://127.0.0.1:$PORT/a"
	assert_failure
}

@test "serve-file: usage errors exit 2" {
	run sockt serve-file
	assert_failure 2
	assert_output --partial "sockt: missing PORT"
	run sockt serve-file 8000
	assert_failure 2
	assert_output --partial "missing FILE or DIR"
	run sockt serve-file --raw 127.0.0.1 0 a b
	assert_failure 2
	assert_output --partial "--raw serves exactly one FILE"
	run sockt serve-file -k --count 2 0 /etc/hostname
	assert_failure 2
	assert_output --partial "cannot use -k with --count"
	run sockt serve-file 127.0.0.1 0 "$T/nope"
	assert_failure 1
	assert_output "sockt: $T/nope: No such file or directory"
}

@test "serve-file: 20 concurrent fetch-file clients all get verified copies" {
	random_file "$T/f.bin" 4000000
	serve srv 127.0.0.1 0 "$T/f.bin"
	pids=()
	for i in $(seq 20); do
		sockt fetch-file -o "$T/got.$i" "http://127.0.0.1:$PORT/f.bin" 2>"$T/err.$i" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	want=$(checksum "$T/f.bin")
	for i in $(seq 20); do
		[ "$(checksum "$T/got.$i")" = "$want" ]
		[ ! -s "$T/err.$i" ]
	done
}

# ---- raw mode -----------------------------------------------------------

@test "serve-file --raw: nc receives the whole file, every client" {
	has nc || skip "nc not installed"
	random_file "$T/f.bin" 1000000
	serve srv --raw --count 2 127.0.0.1 0 "$T/f.bin"
	nc -d 127.0.0.1 "$PORT" >"$T/got1"
	nc -d 127.0.0.1 "$PORT" >"$T/got2"
	cmp "$T/got1" "$T/f.bin"
	cmp "$T/got2" "$T/f.bin"
	wait_exit "$BG_PID"
	[ "$EXIT" -eq 0 ]
}

@test "serve-file --raw --count 1: a client that aborts mid-transfer counts: exit 1 at once, one line" {
	truncate -s 100M "$T/big"
	serve srv --raw --count 1 127.0.0.1 0 "$T/big"
	py_bg client '
s = tcp_connect(sys.argv[1])
got = 0
while got < 1000:
    got += len(s.recv(1000))
reset(s)
' "$PORT"
	wait_exit "$BG_PID"
	[ "$EXIT" -eq 0 ]
	wait_exit "$SRV_PID"
	[ "$EXIT" -eq 1 ]
	run cat "$T/srv.err"
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^sockt: 127\.0\.0\.1:[0-9]+: (Connection reset by peer|Broken pipe) after [0-9]+ of 104857600 bytes\$"
}

@test "serve-file --count: an aborted response counts, and the status is 1" {
	truncate -s 100M "$T/big"
	printf 'x' >"$T/a"
	serve srv --count 2 127.0.0.1 0 "$T/big" "$T/a"
	run curl -sS "http://127.0.0.1:$PORT/a"
	assert_output x
	py_bg client '
s = tcp_connect(sys.argv[1])
s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
got = 0
while got < 100000:
    got += len(s.recv(65536))
reset(s)
' "$PORT"
	wait_exit "$BG_PID"
	[ "$EXIT" -eq 0 ]
	wait_exit "$SRV_PID"
	[ "$EXIT" -eq 1 ]
	run cat "$T/srv.err"
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^sockt: 127\.0\.0\.1:[0-9]+: \"GET /big\": (Connection reset by peer|Broken pipe) after [0-9]+ of 104857600 bytes\$"
}

@test "fetch-file --raw: takes what nc -l sends until EOF and checks --sha256" {
	has nc || skip "nc not installed"
	random_file "$T/f.bin" 1000000
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	bg nc nc -N -l 127.0.0.1 "$port" <"$T/f.bin"
	wait_until -- sh -c "ss -Hltn 'sport = :$port' | grep -q ."
	run sockt fetch-file --raw --sha256 "$(checksum "$T/f.bin")" -o "$T/got" 127.0.0.1 "$port"
	assert_success
	assert_output ""
	cmp "$T/got" "$T/f.bin"
	[ ! -e "$T/got.part" ]
}

@test "fetch-file --raw from serve-file --raw, to a file and to stdout" {
	random_file "$T/f.bin" 3000000
	serve srv --raw 127.0.0.1 0 "$T/f.bin"
	run sockt fetch-file --raw -o "$T/got" 127.0.0.1 "$PORT"
	assert_success
	cmp "$T/got" "$T/f.bin"
	sockt fetch-file --raw -o - "127.0.0.1:$PORT" >"$T/out"
	cmp "$T/out" "$T/f.bin"
}

@test "fetch-file --raw: a wrong --sha256 exits 1 and publishes nothing" {
	random_file "$T/f.bin" 300000
	serve srv --raw 127.0.0.1 0 "$T/f.bin"
	bad=$(printf '%064d' 0)
	run sockt fetch-file --raw --sha256 "$bad" -o "$T/got" 127.0.0.1 "$PORT"
	assert_failure 1
	assert_output "sockt: $T/got: SHA-256 mismatch: got $(checksum "$T/f.bin"), expected $bad (--sha256); removed the .part"
	[ ! -e "$T/got" ]
	[ ! -e "$T/got.part" ]
}

@test "fetch-file --raw: needs -o, and takes no PATH" {
	run sockt fetch-file --raw 127.0.0.1 9
	assert_failure 2
	assert_output --partial "--raw needs -o FILE or -o -"
	run sockt fetch-file --raw -o x 127.0.0.1 9 /path
	assert_failure 2
	assert_output --partial "--raw takes no PATH"
}

# ---- fetch-file ---------------------------------------------------------

@test "fetch-file: fetches from python3 -m http.server, and resumes by starting over" {
	mkdir "$T/pub" "$T/dl"
	random_file "$T/pub/f.bin" 2500000
	bg py python3 -u -m http.server --bind 127.0.0.1 --directory "$T/pub" 0
	wait_until -- grep -q 'port [0-9]' "$T/py.out"
	port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$T/py.out" | head -n1)
	cd "$T/dl"
	run sockt fetch-file "http://127.0.0.1:$port/f.bin"
	assert_success
	assert_output ""
	cmp f.bin "$T/pub/f.bin"
	# python ignores Range: a .part is started over, and still right
	head -c 1000 "$T/pub/f.bin" >g.part
	run sockt fetch-file -o g 127.0.0.1 "$port" /f.bin
	assert_success
	cmp g "$T/pub/f.bin"
}

@test "fetch-file: resumes NAME.part with a Range and verifies the whole file" {
	random_file "$T/f.bin" 3000000
	serve srv -v 127.0.0.1 0 "$T/f.bin"
	mkdir "$T/dl" && cd "$T/dl"
	head -c 1000000 "$T/f.bin" >f.bin.part
	run sockt fetch-file -v "http://127.0.0.1:$PORT/f.bin"
	assert_success
	assert_line "sockt: f.bin.part: resuming after 1000000 bytes"
	assert_line "sockt: f.bin: SHA-256 verified"
	cmp f.bin "$T/f.bin"
	[ ! -e f.bin.part ]
	grep -q '"GET /f.bin" 206' "$T/srv.err"
}

@test "fetch-file: a complete .part is verified and renamed after a 416" {
	random_file "$T/f.bin" 100000
	serve srv 127.0.0.1 0 "$T/f.bin"
	cp "$T/f.bin" "$T/got.part"
	run sockt fetch-file -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	cmp "$T/got" "$T/f.bin"
}

@test "fetch-file: a .part of other content fails the digest and is removed" {
	random_file "$T/f.bin" 100000
	serve srv 127.0.0.1 0 "$T/f.bin"
	head -c 5000 /dev/urandom >"$T/got.part"
	run sockt fetch-file -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_failure 1
	assert_output --regexp "^sockt: $T/got: SHA-256 mismatch: got [0-9a-f]{64}, expected $(checksum "$T/f.bin") \(Repr-Digest\); removed the .part$"
	[ ! -e "$T/got" ]
	[ ! -e "$T/got.part" ]
	# so the next run starts over and succeeds
	run sockt fetch-file -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	cmp "$T/got" "$T/f.bin"
}

@test "fetch-file: --no-resume starts over" {
	random_file "$T/f.bin" 100000
	serve srv -v 127.0.0.1 0 "$T/f.bin"
	head -c 5000 /dev/urandom >"$T/got.part"
	run sockt fetch-file --no-resume -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	cmp "$T/got" "$T/f.bin"
	! grep -q ' 206$' "$T/srv.err"
}

@test "fetch-file: a server killed mid-transfer leaves NAME.part and the byte count; a rerun resumes and verifies" {
	random_file "$T/f.bin" 2000000
	digest=$(b64sha "$T/f.bin")
	{
		printf 'HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\nRepr-Digest: sha-256=:%s:\r\n\r\n' "$digest"
		head -c 700000 "$T/f.bin"
	} >"$T/resp"
	fake_server fake "$T/resp" hang
	fake=$BG_PID
	mkdir "$T/dl" && cd "$T/dl"
	# one retry, which finds nobody there
	bg fetch sockt fetch-file --retry 1 "http://127.0.0.1:$PORT/f.bin"
	fetch=$BG_PID
	wait_until -- has_size f.bin.part 700000
	kill -KILL "$fake"
	wait_exit "$fetch"
	[ "$EXIT" -eq 1 ]
	run cat "$T/fetch.err"
	# (the old port may refuse, or reset a connection its dying owner
	# had queued)
	assert_output --regexp "^sockt: http://127\.0\.0\.1:$PORT/f\.bin: connection closed after 700000 of 2000000 bytes; resuming failed: [^;]+: (Connection refused|Connection reset by peer before a response); f\.bin\.part kept for resuming$"
	[ ! -e f.bin ]
	[ "$(file_size f.bin.part)" -eq 700000 ]
	# the real server now: the rerun asks for the rest and checks it all
	serve srv -v 127.0.0.1 0 "$T/f.bin"
	run sockt fetch-file -v "http://127.0.0.1:$PORT/f.bin"
	assert_success
	assert_line "sockt: f.bin.part: resuming after 700000 bytes"
	assert_line "sockt: f.bin: SHA-256 verified"
	cmp f.bin "$T/f.bin"
	[ ! -e f.bin.part ]
}

@test "fetch-file: a digest mismatch exits 1 and publishes nothing" {
	random_file "$T/f.bin" 50000
	wrong=$(printf 'other' | openssl dgst -sha256 -binary | base64)
	{
		printf 'HTTP/1.1 200 OK\r\nContent-Length: 50000\r\nRepr-Digest: sha-256=:%s:\r\n\r\n' "$wrong"
		cat "$T/f.bin"
	} >"$T/resp"
	fake_server fake "$T/resp"
	mkdir "$T/dl" && cd "$T/dl"
	run sockt fetch-file "http://127.0.0.1:$PORT/f.bin"
	assert_failure 1
	assert_output "sockt: f.bin: SHA-256 mismatch: got $(checksum "$T/f.bin"), expected $(printf 'other' | sha256sum | cut -c1-64) (Repr-Digest); removed the .part"
	run ls -A
	assert_output ""
}

@test "fetch-file: the request asks for a digest, and a wrong --sha256 stops before the body" {
	random_file "$T/f.bin" 50000
	serve srv 127.0.0.1 0 "$T/f.bin"
	bad=$(printf '%064d' 7)
	run sockt fetch-file --sha256 "$bad" -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_failure 1
	assert_output "sockt: http://127.0.0.1:$PORT/f.bin: the server's SHA-256 $(checksum "$T/f.bin") is not --sha256 $bad"
	[ ! -e "$T/got" ]
	run sockt fetch-file --sha256 "$(checksum "$T/f.bin" | tr a-f A-F)" -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	# what a server sees
	printf 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' >"$T/resp"
	fake_server fake "$T/resp"
	sockt fetch-file -o "$T/empty" "http://127.0.0.1:$PORT/x?y=1#frag"
	run tr -d '\r' <"$T/fake.req"
	assert_line "GET /x?y=1 HTTP/1.1"
	assert_line "Host: 127.0.0.1:$PORT"
	assert_line "Want-Repr-Digest: sha-256=10"
	[ -e "$T/empty" ] && [ ! -s "$T/empty" ]
}

@test "fetch-file: never overwrites NAME without --force" {
	printf 'new' >"$T/f"
	serve srv 127.0.0.1 0 "$T/f"
	mkdir "$T/dl" && cd "$T/dl"
	printf 'old' >f
	run sockt fetch-file "http://127.0.0.1:$PORT/f"
	assert_failure 1
	assert_output "sockt: f: already exists (--force overwrites it)"
	[ "$(cat f)" = old ]
	[ ! -e f.part ]
	run sockt fetch-file --force "http://127.0.0.1:$PORT/f"
	assert_success
	[ "$(cat f)" = new ]
}

@test "fetch-file: --force replaces a regular file only, never a FIFO, a symlink or a directory" {
	printf 'new' >"$T/f"
	serve srv 127.0.0.1 0 "$T/f"
	mkfifo "$T/fifo"
	run --separate-stderr sockt fetch-file --force -o "$T/fifo" "http://127.0.0.1:$PORT/f"
	one_line_error 1 "^sockt: $T/fifo: is a FIFO; --force replaces regular files only\$"
	[ -p "$T/fifo" ]
	[ ! -e "$T/fifo.part" ]
	printf 'old' >"$T/target"
	ln -s "$T/target" "$T/link"
	run --separate-stderr sockt fetch-file --force -o "$T/link" "http://127.0.0.1:$PORT/f"
	one_line_error 1 "^sockt: $T/link: is a symbolic link; --force replaces regular files only\$"
	[ -L "$T/link" ] && [ "$(cat "$T/target")" = old ]
	[ ! -e "$T/link.part" ]
	mkdir -p "$T/dl/f"
	run --separate-stderr sockt fetch-file --force -o "$T/dl" "http://127.0.0.1:$PORT/f"
	one_line_error 1 "^sockt: $T/dl/f: is a directory; --force replaces regular files only\$"
	[ -d "$T/dl/f" ] && [ ! -e "$T/dl/f.part" ]
	# without --force the same refusal, not "--force overwrites it"
	run --separate-stderr sockt fetch-file -o "$T/fifo" "http://127.0.0.1:$PORT/f"
	one_line_error 1 "^sockt: $T/fifo: is a FIFO; --force replaces regular files only\$"
	# a regular file is still replaced
	printf 'old' >"$T/reg"
	run sockt fetch-file --force -o "$T/reg" "http://127.0.0.1:$PORT/f"
	assert_success
	[ "$(cat "$T/reg")" = new ]
}

@test "fetch-file: -o - writes to stdout, -o DIR into the directory" {
	printf 'hello' >"$T/f"
	serve srv 127.0.0.1 0 "$T/f"
	run sockt fetch-file -o - 127.0.0.1 "$PORT" f
	assert_success
	assert_output "hello"
	run sh -c "\"\$SOCKT\" fetch-file -o - 127.0.0.1 $PORT f >&-"
	assert_failure 1
	assert_output "sockt: stdout is closed (-o - has nowhere to write)"
	mkdir "$T/dir"
	run sockt fetch-file -o "$T/dir" "127.0.0.1:$PORT" /f
	assert_success
	[ "$(cat "$T/dir/f")" = hello ]
}

@test "fetch-file: HOST PORT PATH takes a plain path and encodes it" {
	mkdir "$T/d"
	printf 'spaced' >"$T/d/a b%c"
	serve srv 127.0.0.1 0 "$T/d"
	mkdir "$T/dl" && cd "$T/dl"
	run sockt fetch-file 127.0.0.1 "$PORT" "a b%c"
	assert_success
	[ "$(cat "a b%c")" = spaced ]
	run sockt fetch-file --force "http://127.0.0.1:$PORT/a%20b%25c"
	assert_success
	[ "$(cat "a b%c")" = spaced ]
}

@test "fetch-file: a name from the server is reduced to a safe base name" {
	printf 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Disposition: attachment; filename="../../.evil"\r\n\r\nboom' >"$T/resp"
	fake_server fake "$T/resp"
	mkdir -p "$T/a/dl" && cd "$T/a/dl"
	run sockt fetch-file "http://127.0.0.1:$PORT/"
	assert_success
	run ls -A
	assert_output "evil"
	[ ! -e "$T/.evil" ] && [ ! -e "$T/a/.evil" ]
	printf "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Disposition: attachment; filename=\"x\"; filename*=UTF-8''%%C3%%A9t%%C3%%A9.txt\r\n\r\nok" >"$T/resp2"
	fake_server fake2 "$T/resp2"
	run sockt fetch-file "http://127.0.0.1:$PORT/"
	assert_success
	[ "$(cat été.txt)" = ok ]
	# no name anywhere
	printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' >"$T/resp3"
	fake_server fake3 "$T/resp3"
	run sockt fetch-file "http://127.0.0.1:$PORT/"
	assert_failure 1
	assert_output "sockt: http://127.0.0.1:$PORT/: no file name in the URL or from the server; use -o FILE"
}

@test "fetch-file: a chunked response is decoded" {
	printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n' >"$T/resp"
	fake_server fake "$T/resp"
	run sockt fetch-file -o - "http://127.0.0.1:$PORT/c"
	assert_success
	assert_output "hello world"
	printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n' >"$T/resp2"
	fake_server fake2 "$T/resp2"
	run sockt fetch-file -o "$T/x" "http://127.0.0.1:$PORT/c"
	assert_failure 1
	assert_output "sockt: http://127.0.0.1:$PORT/c: unsupported Transfer-Encoding 'gzip, chunked'"
}

@test "fetch-file: a chunk size is hex digits only: 0x5, signs and blanks are malformed" {
	n=0	# not i: bats' own functions change it
	for size in 0x5 +5 -5 ' 5' 5x '5 x'; do
		n=$((n + 1))
		printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\nhello\r\n0\r\n\r\n' "$size" >"$T/resp$n"
		fake_server "fake$n" "$T/resp$n"
		run --separate-stderr sockt fetch-file -o "$T/x" "http://127.0.0.1:$PORT/c"
		one_line_error 1 "^sockt: http://127\.0\.0\.1:$PORT/c: malformed chunked body after 0 bytes\$"
		[ ! -e "$T/x" ] && [ ! -e "$T/x.part" ]
	done
	# blanks before an extension are allowed (RFC 9112 7.1.1)
	printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n' >"$T/resp"
	fake_server fake "$T/resp"
	run sockt fetch-file -o - "http://127.0.0.1:$PORT/c"
	assert_success
	assert_output hello
}

@test "fetch-file: a truncated chunked body is an error with the byte count" {
	printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n12345' >"$T/resp"
	fake_server fake "$T/resp"
	run sockt fetch-file --retry 0 -o "$T/x" "http://127.0.0.1:$PORT/c"
	assert_failure 1
	assert_output "sockt: http://127.0.0.1:$PORT/c: connection closed after 5 bytes; $T/x.part kept for resuming"
	[ ! -e "$T/x" ]
}

@test "fetch-file: the server's reason phrase, Location and file name are printed escaped" {
	printf 'HTTP/1.1 404 Not\033[31mFound\rEVIL\r\nContent-Length: 0\r\n\r\n' >"$T/resp"
	fake_server fake "$T/resp"
	run --separate-stderr sockt fetch-file -o "$T/x" "http://127.0.0.1:$PORT/f"
	assert_equal "$status" 1
	assert_equal "$stderr" "sockt: http://127.0.0.1:$PORT/f: 404 Not\\x1b[31mFound\\x0dEVIL"
	# a lone C1 byte (0x9b is CSI on some terminals) in Location
	printf 'HTTP/1.1 302 Found\r\nLocation: /a\233[2Jb\r\nContent-Length: 0\r\n\r\n' >"$T/resp2"
	fake_server fake2 "$T/resp2"
	run --separate-stderr sockt fetch-file -o "$T/x" "http://127.0.0.1:$PORT/f"
	assert_equal "$status" 1
	assert_equal "$stderr" "sockt: http://127.0.0.1:$PORT/f: 302 Found (Location: /a\\x9b[2Jb)"
	# a name from Content-Disposition, in the message that it exists
	printf "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Disposition: attachment; filename*=UTF-8''a%%9B%%C2%%9Bb\r\n\r\nok" >"$T/resp3"
	fake_server fake3 "$T/resp3"
	mkdir "$T/dl" && cd "$T/dl"
	printf 'old' >$'a\x9b\xc2\x9bb'
	run --separate-stderr sockt fetch-file "http://127.0.0.1:$PORT/"
	assert_equal "$status" 1
	assert_equal "$stderr" "sockt: a\\x9b\\xc2\\x9bb: already exists (--force overwrites it)"
}

@test "serve-file: -v lines show request paths escaped" {
	mkdir "$T/d"
	printf 'x' >"$T/d/"$'e\x1bx'
	serve srv -vv 127.0.0.1 0 "$T/d"
	run curl -sS "http://127.0.0.1:$PORT/e%1Bx"
	assert_output x
	wait_until -- grep -q '"GET /e%1Bx" 200' "$T/srv.err"
	run cat "$T/srv.err"
	assert_line 'sockt: hashing /e\x1bx'
	[[ "$output" != *$'\e'* ]]
}

@test "fetch-file: a 404 exits 1 with the status line, also at the end of a redirect" {
	mkdir "$T/d"
	serve srv 127.0.0.1 0 "$T/d"
	srv=$PORT
	run sockt fetch-file -o "$T/x" "http://127.0.0.1:$srv/missing"
	assert_failure 1
	assert_output "sockt: http://127.0.0.1:$srv/missing: 404 Not Found"
	[ ! -e "$T/x" ] && [ ! -e "$T/x.part" ]
	printf 'HTTP/1.1 301 Moved Permanently\r\nLocation: http://127.0.0.1:%s/elsewhere\r\nContent-Length: 0\r\n\r\n' "$srv" >"$T/resp"
	fake_server fake "$T/resp"
	run sockt fetch-file -o "$T/y" "http://127.0.0.1:$PORT/f"
	assert_failure 1
	assert_output "sockt: http://127.0.0.1:$srv/elsewhere: 404 Not Found"
	[ ! -e "$T/y" ] && [ ! -e "$T/y.part" ]
}

@test "fetch-file: follows a redirect (-v says so) and verifies the file" {
	random_file "$T/f.bin" 300000
	serve srv 127.0.0.1 0 "$T/f.bin"
	srv=$PORT
	printf 'HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%s/f.bin\r\nContent-Length: 0\r\n\r\n' "$srv" >"$T/resp"
	fake_server fake "$T/resp"
	run --separate-stderr sockt fetch-file -v -o "$T/got" "http://127.0.0.1:$PORT/old"
	assert_success
	cmp "$T/got" "$T/f.bin"
	[[ "$stderr" == *"sockt: http://127.0.0.1:$PORT/old: 302 Found: following http://127.0.0.1:$srv/f.bin"* ]] || fail "$stderr"
	[[ "$stderr" == *"SHA-256 verified"* ]] || fail "$stderr"
}

# redirect_maze NAME: an HTTP server on port 0: /loop redirects to
# itself, /a to "b" (relative), /b to "/c", /c is "hello".  Each request
# line goes to $T/NAME.err.  Sets PORT.
redirect_maze() {
	local name=$1
	bg "$name" python3 -c '
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        sys.stderr.write("GET %s\n" % self.path)
        sys.stderr.flush()
        to = {"/loop": "/loop", "/a": "b", "/b": "/c"}.get(self.path)
        if to:
            self.send_response(302)
            self.send_header("Location", to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
' "$T/$name.port"
	PORT=$(wait_port "$T/$name.port") || return 1
}

@test "fetch-file: relative and path-absolute redirects are followed; at most 5, the sixth is the error" {
	redirect_maze maze
	run --separate-stderr sockt fetch-file -v -o "$T/got" "http://127.0.0.1:$PORT/a"
	assert_success
	assert_equal "$(cat "$T/got")" hello
	[[ "$stderr" == *"sockt: http://127.0.0.1:$PORT/a: 302 Found: following b"* ]] || fail "$stderr"
	[[ "$stderr" == *"sockt: http://127.0.0.1:$PORT/b: 302 Found: following /c"* ]] || fail "$stderr"
	run sockt fetch-file -o "$T/x" "http://127.0.0.1:$PORT/loop"
	assert_failure 1
	assert_output "sockt: http://127.0.0.1:$PORT/loop: 302 Found (Location: /loop)"
	[ ! -e "$T/x" ] && [ ! -e "$T/x.part" ]
	assert_equal "$(grep -c '^GET /loop$' "$T/maze.err")" 6
}

@test "fetch-file: no body byte (404, redirect, refused) leaves no .part; an earlier .part stays as it was" {
	mkdir "$T/d" "$T/dl"
	serve srv 127.0.0.1 0 "$T/d"
	srv=$PORT
	printf 'HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%s/elsewhere\r\nContent-Length: 0\r\n\r\n' "$srv" >"$T/resp"
	fake_server fake "$T/resp"
	redirect=$PORT
	refused=$(free_port)
	cd "$T/dl"
	run sockt fetch-file -o x "http://127.0.0.1:$srv/missing"
	assert_failure 1
	run sockt fetch-file "http://127.0.0.1:$srv/named"
	assert_failure 1
	run sockt fetch-file -o y "http://127.0.0.1:$redirect/f"
	assert_output "sockt: http://127.0.0.1:$srv/elsewhere: 404 Not Found"
	run sockt fetch-file -o z "http://127.0.0.1:$refused/f"
	assert_output "sockt: connect 127.0.0.1:$refused: Connection refused"
	run sockt fetch-file --raw -o r 127.0.0.1 "$refused"
	assert_output "sockt: connect 127.0.0.1:$refused: Connection refused"
	run ls -A
	assert_output ""
	# a .part from an earlier fetch is neither removed nor emptied
	random_file old.part 1000
	cp old.part keep.part
	for url in "http://127.0.0.1:$srv/missing" "http://127.0.0.1:$refused/f"; do
		run sockt fetch-file -o keep "$url"
		assert_failure 1
		cmp keep.part old.part
		run sockt fetch-file --no-resume -o keep "$url"
		assert_failure 1
		cmp keep.part old.part
	done
	run sockt fetch-file --raw -o keep 127.0.0.1 "$refused"
	assert_failure 1
	cmp keep.part old.part
}

@test "fetch-file: connection refused exits 1" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	run sockt fetch-file -o "$T/x" "http://127.0.0.1:$port/f"
	assert_failure 1
	assert_output "sockt: connect 127.0.0.1:$port: Connection refused"
}

@test "fetch-file: usage errors exit 2" {
	run sockt fetch-file
	assert_failure 2
	assert_output --partial "missing URL or HOST PORT"
	run sockt fetch-file --sha256 abc http://127.0.0.1:1/f
	assert_failure 2
	assert_output --partial "bad --sha256 'abc': expected 64 hex digits"
	run sockt fetch-file ftp://127.0.0.1/f
	assert_failure 2
	assert_output --partial "unsupported URL 'ftp://127.0.0.1/f': only http:// and https://"
	run sockt fetch-file http://u:p@127.0.0.1/f
	assert_failure 2
	run sockt fetch-file 127.0.0.1 notaport f
	assert_failure 2
	assert_output --partial "bad port 'notaport'"
	run sockt fetch-file http://127.0.0.1:1/f extra
	assert_failure 2
	assert_output --partial "too many arguments"
	run sockt fetch-file -p 99999 http://127.0.0.1:1/f
	assert_failure 2
	assert_output --partial "bad port '99999'"
}

@test "fetch-file: a full disk exits 1 with the reason, and NAME never appears" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	MNT="$T/small"
	mkdir "$MNT"
	mount -t tmpfs -o size=1m tmpfs "$MNT" || skip "cannot mount a tmpfs here"
	random_file "$T/f.bin" 3000000
	serve srv 127.0.0.1 0 "$T/f.bin"
	run sockt fetch-file -o "$MNT/f.bin" "http://127.0.0.1:$PORT/f.bin"
	assert_failure 1
	assert_output "sockt: $MNT/f.bin.part: write: No space left on device"
	[ ! -e "$MNT/f.bin" ]
	# small files and the in-memory path too
	random_file "$T/g.bin" 1500000
	serve srv2 127.0.0.1 0 "$T/g.bin"
	rm -f "$MNT"/*
	st=0
	sockt fetch-file -o - "http://127.0.0.1:$PORT/g.bin" >"$MNT/out" 2>"$T/err" || st=$?
	[ "$st" -eq 1 ]
	[ "$(cat "$T/err")" = "sockt: stdout: write: No space left on device" ]
	rm -f "$MNT/out"
	run sockt fetch-file -o "$MNT/g.bin" "http://127.0.0.1:$PORT/g.bin"
	assert_failure 1
	assert_output "sockt: $MNT/g.bin.part: write: No space left on device"
}

@test "fetch-file: -P prints the progress with bytes, percent and time" {
	random_file "$T/f.bin" 3000000
	serve srv 127.0.0.1 0 "$T/f.bin"
	run sockt fetch-file -P -o "$T/got" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	assert_line --regexp '^sockt: .*/got: 2\.9 MiB of 2\.9 MiB \(100%\), [0-9]+(\.[0-9])? (B|KiB|MiB|GiB)/s in [0-9]+\.[0-9] s$'
}

@test "fetch-file: the progress line updates in place on a terminal" {
	has script || skip "script(1) not installed"
	random_file "$T/f.bin" 3000000
	serve srv 127.0.0.1 0 "$T/f.bin"
	run script -qec "$SOCKT fetch-file -o '$T/got' http://127.0.0.1:$PORT/f.bin" /dev/null
	assert_success
	[[ "$output" == *$'\r'"sockt: $T/got: 2.9 MiB of 2.9 MiB (100%)"* ]]
	cmp "$T/got" "$T/f.bin"
}

@test "fetch-file: -i ends a stalled transfer with status 1" {
	{
		printf 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'
		printf 'only ten b'
	} >"$T/resp"
	fake_server fake "$T/resp" hang
	run sockt fetch-file -i 0.3 -o "$T/x" "http://127.0.0.1:$PORT/f"
	assert_failure 1
	assert_output "sockt: http://127.0.0.1:$PORT/f: no data for 0.300 s (-i)"
	[ "$(file_size "$T/x.part")" -eq 10 ]
}
