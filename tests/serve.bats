#!/usr/bin/env bats
# tests/serve.bats - serve-file for people and browsers (design.md section
# 9) and uploads (section 8): content types, inline and attachment,
# index.html, listings, conditional GET, the start line, wget mirrors,
# chromium and python3 as clients; PUT with curl and by hand.
load helper
bats_require_minimum_version 1.5.0

# code URL CURL-ARGS...: the status code curl gets.
code() {
	local url=$1
	shift
	curl -sS -o "$T/body" -w '%{http_code}' "$@" "$url"
}

# ---- content types, display, index.html, listings ----------------------

@test "serve: Content-Type from the extension, charset=utf-8 for text" {
	mkdir "$T/d"
	for f in a.html b.css c.js d.json e.png f.txt g.PDF h.xyzzy noext \
	    i.svg; do
		printf 'x' >"$T/d/$f"
	done
	serve srv 127.0.0.1 0 "$T/d"
	ct() {
		curl -sSI "http://127.0.0.1:$PORT/$1" | tr -d '\r' |
		    sed -n 's/^Content-Type: //p'
	}
	[ "$(ct a.html)" = "text/html; charset=utf-8" ]
	[ "$(ct b.css)" = "text/css; charset=utf-8" ]
	[ "$(ct c.js)" = "text/javascript; charset=utf-8" ]
	[ "$(ct d.json)" = "application/json; charset=utf-8" ]
	[ "$(ct e.png)" = "image/png" ]
	[ "$(ct f.txt)" = "text/plain; charset=utf-8" ]
	[ "$(ct g.PDF)" = "application/pdf" ]
	[ "$(ct h.xyzzy)" = "application/octet-stream" ]
	[ "$(ct noext)" = "application/octet-stream" ]
	[ "$(ct i.svg)" = "image/svg+xml; charset=utf-8" ]
}

@test "serve: files are inline with their name; ?download and --download ask for attachment" {
	mkdir "$T/d"
	printf 'hello' >"$T/d/a.txt"
	printf 'caf' >"$T/d/café \"q\".txt"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sSI "http://127.0.0.1:$PORT/a.txt"
	assert_line 'Content-Disposition: inline; filename="a.txt"'$'\r'
	run curl -sSI "http://127.0.0.1:$PORT/a.txt?download"
	assert_line 'Content-Disposition: attachment; filename="a.txt"'$'\r'
	run curl -sSI "http://127.0.0.1:$PORT/a.txt?x=1&download=1"
	assert_line 'Content-Disposition: attachment; filename="a.txt"'$'\r'
	run curl -sSI "http://127.0.0.1:$PORT/a.txt?downloads"
	assert_line 'Content-Disposition: inline; filename="a.txt"'$'\r'
	# non-ASCII and quotes: an ASCII fallback and the exact RFC 8187 name
	run curl -sSI "http://127.0.0.1:$PORT/caf%C3%A9%20%22q%22.txt"
	assert_line "Content-Disposition: inline; filename=\"caf__ _q_.txt\"; filename*=UTF-8''caf%C3%A9%20%22q%22.txt"$'\r'
	kill "$SRV_PID"
	serve srv2 --download 127.0.0.1 0 "$T/d"
	run curl -sSI "http://127.0.0.1:$PORT/a.txt"
	assert_line 'Content-Disposition: attachment; filename="a.txt"'$'\r'
}

@test "serve: a directory's index.html is served, --no-index lists it, DIR without / is redirected" {
	mkdir -p "$T/d/sub"
	printf '<p>top</p>' >"$T/d/index.html"
	printf '<p>sub</p>' >"$T/d/sub/index.html"
	printf 'x' >"$T/d/sub/other"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sS -D "$T/h" "http://127.0.0.1:$PORT/"
	assert_output '<p>top</p>'
	grep -q '^Content-Type: text/html; charset=utf-8' "$T/h"
	run curl -sS "http://127.0.0.1:$PORT/sub/"
	assert_output '<p>sub</p>'
	run curl -sS -D "$T/h" -o /dev/null "http://127.0.0.1:$PORT/sub"
	run tr -d '\r' <"$T/h"
	assert_line --index 0 'HTTP/1.1 301 Moved Permanently'
	assert_line 'Location: /sub/'
	run curl -sSL "http://127.0.0.1:$PORT/sub"
	assert_output '<p>sub</p>'
	# the query goes along
	run curl -sS -D "$T/h" -o /dev/null "http://127.0.0.1:$PORT/sub?download"
	grep -q '^Location: /sub/?download'$'\r''$' "$T/h"
	kill "$SRV_PID"
	serve srv2 --no-index 127.0.0.1 0 "$T/d"
	run curl -sS -H 'Accept: text/plain' "http://127.0.0.1:$PORT/sub/"
	assert_output "$(printf 'index.html\nother')"
}

@test "serve: the HTML listing escapes every name, encodes every link, puts ../ and directories first" {
	mkdir -p "$T/d/zdir" "$T/d/sub"
	printf 'abc' >"$T/d/<b>&\"x y%.txt"
	printf 'a' >"$T/d/afile"
	printf '12345' >"$T/d/sub/five"
	touch -d '2001-02-03 04:05:06 UTC' "$T/d/sub/five"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sS "http://127.0.0.1:$PORT/"
	assert_success
	assert_line --partial '<title>Index of /</title>'
	refute_line --partial '../'
	assert_line --regexp '^<tr><td><a href="/%3Cb%3E%26%22x%20y%25.txt">&lt;b&gt;&amp;&quot;x y%\.txt</a></td><td class="size">3</td><td>[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}</td></tr>$'
	refute_output --partial '<b>&'
	# directories first, each group in name order
	names=$(printf '%s\n' "${lines[@]}" | sed -n 's/^<tr><td><a href="\([^"]*\)".*/\1/p' | tr '\n' ' ')
	[ "$names" = "/sub/ /zdir/ /%3Cb%3E%26%22x%20y%25.txt /afile " ]
	run curl -sS "http://127.0.0.1:$PORT/sub/"
	assert_line '<tr><td><a href="../">../</a></td><td></td><td></td></tr>'
	assert_line '<tr><td><a href="/sub/five">five</a></td><td class="size">5</td><td>2001-02-03 04:05:06</td></tr>'
	# the link works
	run curl -sS "http://127.0.0.1:$PORT/%3Cb%3E%26%22x%20y%25.txt"
	assert_output abc
}

@test "serve: a text listing when Accept ranks text/plain above text/html, HTML for */* and browsers" {
	mkdir -p "$T/d/sub"
	printf 'a' >"$T/d/a b"
	serve srv 127.0.0.1 0 "$T/d"
	for accept in 'text/plain' 'text/plain, text/html;q=0.5' \
	    'text/html;q=0.1, text/*;q=0.9' 'text/html;q=0, */*'; do
		run curl -sS -D "$T/h" -H "Accept: $accept" "http://127.0.0.1:$PORT/"
		assert_output "$(printf 'a b\nsub/')"
		grep -q '^Content-Type: text/plain; charset=utf-8' "$T/h"
	done
	for accept in '*/*' 'text/html' 'text/html,application/xhtml+xml,*/*;q=0.8' \
	    'text/plain;q=0.5, text/html' 'text/plain, text/html' 'image/png'; do
		run curl -sS -D "$T/h" -H "Accept: $accept" "http://127.0.0.1:$PORT/"
		assert_line --partial '<title>Index of /</title>'
		grep -q '^Content-Type: text/html; charset=utf-8' "$T/h"
	done
}

@test "serve: If-None-Match with the ETag and If-Modified-Since with Last-Modified get 304 without a body" {
	mkdir "$T/d"
	random_file "$T/d/f" 5000
	serve srv 127.0.0.1 0 "$T/d"
	curl -sS -D "$T/h" -o /dev/null "http://127.0.0.1:$PORT/f"
	etag=$(tr -d '\r' <"$T/h" | sed -n 's/^ETag: //p')
	lm=$(tr -d '\r' <"$T/h" | sed -n 's/^Last-Modified: //p')
	[ "$etag" = "\"$(checksum "$T/d/f" | cut -c1-32)\"" ]
	[ -n "$lm" ]
	run code "http://127.0.0.1:$PORT/f" -H "If-None-Match: $etag"
	assert_output 304
	[ ! -s "$T/body" ]
	run code "http://127.0.0.1:$PORT/f" -H "If-Modified-Since: $lm"
	assert_output 304
	[ ! -s "$T/body" ]
	# exactly the head: no body bytes on the wire either
	printf 'GET /f HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\nConnection: close\r\n\r\n' "$etag" |
	    http_raw "$PORT" >"$T/raw"
	head -n1 "$T/raw" | grep -q '^HTTP/1.1 304 Not Modified'
	tail -c 4 "$T/raw" | od -An -c | grep -q '\\r  \\n  \\r  \\n'
	# stale validators get the file
	run code "http://127.0.0.1:$PORT/f" -H 'If-None-Match: "other"'
	assert_output 200
	same_bytes "$T/body" "$T/d/f"
	run code "http://127.0.0.1:$PORT/f" -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT'
	assert_output 200
}

@test "serve: -v prints the URL to open on each listening address" {
	mkdir "$T/d"
	serve srv -v 127.0.0.1 0 "$T/d"
	wait_until -- grep -q 'serving' "$T/srv.err"
	run cat "$T/srv.err"
	assert_line "sockt: serving $T/d on http://127.0.0.1:$PORT/"
	kill "$SRV_PID"
	# IPv6 in brackets
	serve srv2 -v ::1 0 "$T/d"
	wait_until -- grep -q 'serving' "$T/srv2.err"
	run cat "$T/srv2.err"
	assert_line "sockt: serving $T/d on http://[::1]:$PORT/"
	kill "$SRV_PID"
	# without -v and a terminal: nothing
	serve srv3 127.0.0.1 0 "$T/d"
	run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/"
	assert_output 200
	[ ! -s "$T/srv3.err" ]
}

@test "serve: the URL line is printed when stderr is a terminal, without -v" {
	needs script
	mkdir "$T/d"
	printf 'x' >"$T/d/f"
	# on a pseudo-terminal; --count 1 ends it after one request
	bg tty script -qec "$SOCKT serve-file --count 1 --port-file '$T/tty.port' 127.0.0.1 0 '$T/d'" /dev/null
	PORT=$(wait_port "$T/tty.port")
	run curl -sS "http://127.0.0.1:$PORT/f"
	assert_output x
	wait_exit "$BG_PID"
	[ "$EXIT" -eq 0 ]
	run tr -d '\r' <"$T/tty.out"
	assert_output "sockt: serving $T/d on http://127.0.0.1:$PORT/"
}

@test "serve: --tls prints an https URL" {
	mkdir "$T/d"
	serve srv -v --tls 127.0.0.1 0 "$T/d"
	wait_until -- grep -q 'serving' "$T/srv.err"
	run grep '^sockt: serving' "$T/srv.err"
	assert_output "sockt: serving $T/d on https://127.0.0.1:$PORT/"
}

@test "serve: wget -r -np mirrors the whole tree byte-exact" {
	needs wget
	mkdir -p "$T/d/a/b/c" "$T/d/sp ace" "$T/d/empty"
	random_file "$T/d/top.bin" 300000
	random_file "$T/d/a/one" 1000
	random_file "$T/d/a/b/two.txt" 2000
	random_file "$T/d/a/b/c/three" 70000
	random_file "$T/d/sp ace/fünf & <x>.dat" 500
	printf '' >"$T/d/a/zero"
	serve srv 127.0.0.1 0 "$T/d"
	mkdir "$T/m"
	(cd "$T/m" && wget -q -r -np -nH -e robots=off "http://127.0.0.1:$PORT/")
	# wget saves each listing as index.html; the files are all there
	(cd "$T/d" && find . -type f -exec sha256sum {} + | sort -k2) >"$T/want"
	(cd "$T/m" && find . -type f ! -name index.html -exec sha256sum {} + | sort -k2) >"$T/got"
	diff "$T/want" "$T/got"
	[ "$(wc -l <"$T/want")" -eq 6 ]
}

@test "serve: headless chromium renders a served page and a listing" {
	needs chromium
	mkdir -p "$T/d/sub"
	printf '<!DOCTYPE html><title>t</title><p id="x">Hello from sockt</p>' >"$T/d/page.html"
	printf 'x' >"$T/d/sub/<i>odd & name.txt"
	serve srv 127.0.0.1 0 "$T/d"
	export HOME=$T
	run timeout 60 chromium --headless --no-sandbox --disable-gpu \
	    --user-data-dir="$T/chrome" --dump-dom "http://127.0.0.1:$PORT/page.html"
	assert_success
	assert_output --partial '<p id="x">Hello from sockt</p>'
	run timeout 60 chromium --headless --no-sandbox --disable-gpu \
	    --user-data-dir="$T/chrome" --dump-dom "http://127.0.0.1:$PORT/sub/"
	assert_success
	assert_output --partial '<a href="../">../</a>'
	assert_output --partial '<a href="/sub/%3Ci%3Eodd%20%26%20name.txt">&lt;i&gt;odd &amp; name.txt</a>'
}

@test "serve: python3 urllib gets a file, a listing, and uploads" {
	mkdir "$T/d"
	random_file "$T/d/f.bin" 100000
	serve srv --upload 127.0.0.1 0 "$T/d"
	run python3 -c '
import base64, hashlib, sys, urllib.request
base = "http://127.0.0.1:%s/" % sys.argv[1]
data = urllib.request.urlopen(base + "f.bin").read()
print(hashlib.sha256(data).hexdigest())
r = urllib.request.urlopen(base)
print(r.headers["Content-Type"], b"f.bin" in r.read())
body = b"uploaded by urllib\n"
d = base64.b64encode(hashlib.sha256(body).digest()).decode()
req = urllib.request.Request(base + "new.txt", data=body, method="PUT",
    headers={"Content-Digest": "sha-256=:%s:" % d})
r = urllib.request.urlopen(req)
print(r.status, r.headers["Repr-Digest"] == "sha-256=:%s:" % d)
' "$PORT"
	assert_success
	assert_line --index 0 "$(checksum "$T/d/f.bin")"
	assert_line --index 1 "text/html; charset=utf-8 True"
	assert_line --index 2 "201 True"
	[ "$(cat "$T/d/new.txt")" = "uploaded by urllib" ]
}

# ---- uploads ----------------------------------------------------------

@test "upload: curl -T stores the exact bytes, 201 with the stored file's Repr-Digest, then GET serves it" {
	mkdir "$T/up"
	random_file "$T/f.bin" 3000000
	serve srv --upload 127.0.0.1 0 "$T/up"
	run curl -sS -D "$T/h" -T "$T/f.bin" "http://127.0.0.1:$PORT/f.bin"
	assert_success
	assert_output "201 Created"
	run tr -d '\r' <"$T/h"
	assert_line "HTTP/1.1 201 Created"
	assert_line "Repr-Digest: sha-256=:$(b64sha "$T/f.bin"):"
	assert_line "Location: /f.bin"
	same_bytes "$T/up/f.bin" "$T/f.bin"
	# nothing else in the directory: no temporary file left
	[ "$(ls -A "$T/up")" = "f.bin" ]
	curl -sS -o "$T/back" "http://127.0.0.1:$PORT/f.bin"
	same_bytes "$T/back" "$T/f.bin"
	# into a subdirectory, with a name to encode
	mkdir "$T/up/sub"
	run code "http://127.0.0.1:$PORT/sub/a%20b.bin" -T "$T/f.bin"
	assert_output 201
	same_bytes "$T/up/sub/a b.bin" "$T/f.bin"
}

@test "upload: a chunked body (curl -T -) and Expect: 100-continue" {
	mkdir "$T/up"
	random_file "$T/f.bin" 2500000
	serve srv --upload 127.0.0.1 0 "$T/up"
	run code "http://127.0.0.1:$PORT/piped" -T - <"$T/f.bin"
	assert_output 201
	same_bytes "$T/up/piped" "$T/f.bin"
	# by hand: the head with Expect, "100 Continue", only then the body
	run python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"PUT /expect HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
          b"Expect: 100-continue\r\n\r\n")
print(repr(s.recv(100)))
s.sendall(b"hello")
print(s.recv(100).split(b"\r\n")[0].decode())
' "$PORT"
	assert_line --index 0 "b'HTTP/1.1 100 Continue\\r\\n\\r\\n'"
	assert_line --index 1 "HTTP/1.1 201 Created"
	[ "$(cat "$T/up/expect")" = hello ]
}

@test "upload: a Content-Digest in the chunked trailer is verified (send-file's form)" {
	mkdir "$T/up"
	serve srv --upload 127.0.0.1 0 "$T/up"
	put_chunked() {
		python3 -c '
import base64, hashlib, socket, sys
port, name, digest = sys.argv[1], sys.argv[2], sys.argv[3]
body = b"0123456789" * 10000
if digest == "right":
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
req = (b"PUT /" + name.encode() + b" HTTP/1.1\r\nHost: x\r\n"
       b"Transfer-Encoding: chunked\r\nTrailer: Content-Digest\r\n\r\n")
for i in range(0, len(body), 7000):
    c = body[i:i + 7000]
    req += b"%x\r\n" % len(c) + c + b"\r\n"
req += b"0\r\nContent-Digest: sha-256=:" + digest.encode() + b":\r\n\r\n"
s.sendall(req)
print(s.recv(65536).split(b"\r\n")[0].decode())
' "$PORT" "$@"
	}
	run put_chunked good right
	assert_output "HTTP/1.1 201 Created"
	[ "$(checksum "$T/up/good")" = "$(printf '0123456789%.0s' $(seq 10000) | sha256sum | cut -d' ' -f1)" ]
	run put_chunked bad AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	assert_output "HTTP/1.1 400 Bad Request"
	[ "$(ls -A "$T/up")" = "good" ]
}

@test "upload: a wrong Content-Digest or Repr-Digest header gets 400 and stores nothing" {
	mkdir "$T/up"
	random_file "$T/f.bin" 100000
	serve srv --upload 127.0.0.1 0 "$T/up"
	zero='sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:'
	run code "http://127.0.0.1:$PORT/f.bin" -T "$T/f.bin" -H "Content-Digest: $zero"
	assert_output 400
	run code "http://127.0.0.1:$PORT/f.bin" -T "$T/f.bin" -H "Repr-Digest: $zero"
	assert_output 400
	run code "http://127.0.0.1:$PORT/f.bin" -T "$T/f.bin" -H "Content-Digest: sha-256=:not base64:"
	assert_output 400
	[ -z "$(ls -A "$T/up")" ]
	run code "http://127.0.0.1:$PORT/f.bin" -T "$T/f.bin" -H "Content-Digest: sha-256=:$(b64sha "$T/f.bin"):"
	assert_output 201
	same_bytes "$T/up/f.bin" "$T/f.bin"
}

@test "upload: an existing name gets 409 without --force; --force replaces a regular file (200), never a symlink or directory" {
	mkdir -p "$T/up/adir" "$T/outside"
	printf 'old' >"$T/up/f"
	printf 'keep' >"$T/outside/target"
	ln -s "$T/outside/target" "$T/up/link"
	printf 'new' >"$T/new"
	serve srv --upload 127.0.0.1 0 "$T/up"
	run code "http://127.0.0.1:$PORT/f" -T "$T/new"
	assert_output 409
	[ "$(cat "$T/up/f")" = old ]
	kill "$SRV_PID"
	serve srv2 --upload --force 127.0.0.1 0 "$T/up"
	run code "http://127.0.0.1:$PORT/f" -T "$T/new"
	assert_output 200
	[ "$(cat "$T/up/f")" = new ]
	run code "http://127.0.0.1:$PORT/link" -T "$T/new"
	assert_output 409
	[ -L "$T/up/link" ]
	[ "$(cat "$T/outside/target")" = keep ]
	run code "http://127.0.0.1:$PORT/adir" -T "$T/new"
	assert_output 409
	[ -d "$T/up/adir" ]
	[ "$(ls -A "$T/up")" = "$(printf 'adir\nf\nlink')" ]
}

@test "upload: --max-size refuses a larger body with 413, by Content-Length or as a chunked body grows" {
	mkdir "$T/up"
	random_file "$T/small" 1000
	random_file "$T/big" 1001
	random_file "$T/huge" 3000000
	serve srv --upload --max-size 1000 127.0.0.1 0 "$T/up"
	run code "http://127.0.0.1:$PORT/big" -T "$T/big"
	assert_output 413
	run code "http://127.0.0.1:$PORT/huge" -T - <"$T/huge"
	assert_output 413
	[ -z "$(ls -A "$T/up")" ]
	run code "http://127.0.0.1:$PORT/small" -T - <"$T/small"
	assert_output 201
	same_bytes "$T/up/small" "$T/small"
}

@test "upload: paths stay in the tree: .. in any spelling and symlinks leading out are refused" {
	mkdir -p "$T/root/up" "$T/outside"
	ln -s "$T/outside" "$T/root/up/out"
	mkdir "$T/root/up/in"
	ln -s in "$T/root/up/inlink"
	serve srv --upload 127.0.0.1 0 "$T/root/up"
	for p in '/../x' '/%2e%2e/x' '/%2E%2E/x' '/in/../../x' '/in/%2e%2e/%2e%2e/x'; do
		run status_put "$p"
		assert_output 403
	done
	run code "http://127.0.0.1:$PORT/out/x" -T /etc/hostname
	assert_output 403
	[ -z "$(ls -A "$T/outside")" ]
	[ ! -e "$T/root/x" ]
	# a link inside the tree is followed
	run code "http://127.0.0.1:$PORT/inlink/y" -T /etc/hostname
	assert_output 201
	[ -f "$T/root/up/in/y" ]
	# a directory name, and the temporary files' own names, take no PUT
	run status_put /in/
	assert_output 405
	run code "http://127.0.0.1:$PORT/.sockt-upload-x" -T /etc/hostname
	assert_output 403
}

# status_put PATH: the status of a raw PUT of 2 bytes to PATH, as sent.
status_put() {
	printf 'PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi' "$1" |
	    http_raw "$PORT" | head -n1 | cut -d' ' -f2
}

@test "upload: a client that dies mid-body leaves nothing, and the server serves on" {
	mkdir "$T/up"
	serve srv -v --upload 127.0.0.1 0 "$T/up"
	for framing in length chunked; do
		python3 -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
if sys.argv[2] == "length":
    s.sendall(b"PUT /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
    s.sendall(b"x" * 100000)
else:
    s.sendall(b"PUT /cut HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    s.sendall(b"186a0\r\n" + b"x" * 50000)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()	# a reset
' "$PORT" "$framing"
	done
	wait_until -- test "$(grep -c 'request body cut' "$T/srv.err")" -eq 2
	[ -z "$(ls -A "$T/up")" ]
	# a client that half-closes mid-body: cut too
	printf 'PUT /half HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a part' |
	    http_raw "$PORT" >/dev/null
	wait_until -- test "$(grep -c 'request body cut' "$T/srv.err")" -eq 3
	[ -z "$(ls -A "$T/up")" ]
	run code "http://127.0.0.1:$PORT/after" -T /etc/hostname
	assert_output 201
	alive "$SRV_PID"
}

@test "upload: malformed chunked framing gets 400 and stores nothing" {
	mkdir "$T/up"
	serve srv --upload 127.0.0.1 0 "$T/up"
	first_line() {
		printf 'PUT /m HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n' |
		    http_raw "$PORT" | head -n1
	}
	run first_line
	assert_output $'HTTP/1.1 400 Bad Request\r'
	[ -z "$(ls -A "$T/up")" ]
}

@test "upload: without --upload, PUT gets 405 with Allow" {
	mkdir "$T/d"
	serve srv 127.0.0.1 0 "$T/d"
	run curl -sS -D "$T/h" -o /dev/null -w '%{http_code}' -T /etc/hostname "http://127.0.0.1:$PORT/x"
	assert_output 405
	grep -q '^Allow: GET, HEAD'$'\r''$' "$T/h"
	[ -z "$(ls -A "$T/d")" ]
	kill "$SRV_PID"
	serve srv2 --upload 127.0.0.1 0 "$T/d"
	run curl -sS -D "$T/h" -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$PORT/x"
	assert_output 405
	grep -q '^Allow: GET, HEAD, PUT'$'\r''$' "$T/h"
}

@test "upload: usage errors exit 2 with one line" {
	mkdir "$T/d" "$T/e"
	run -2 sockt serve-file --upload 0 "$T/d" "$T/e"
	assert_output "sockt: --upload takes exactly one DIR (see 'sockt serve-file --help')"
	run -2 sockt serve-file --max-size 10 0 "$T/d"
	assert_output "sockt: --max-size needs --upload (see 'sockt serve-file --help')"
	run -2 sockt serve-file --force 0 "$T/d"
	assert_output "sockt: --force needs --upload (see 'sockt serve-file --help')"
	run -2 sockt serve-file --upload --max-size 0 0 "$T/d"
	assert_output --partial "sockt: bad --max-size '0'"
	run -1 sockt serve-file --upload 0 /etc/hostname
	assert_output "sockt: /etc/hostname: not a directory (--upload takes one DIR)"
	run -2 sockt serve-file --upload --raw 0 "$T/d"
	assert_output "sockt: cannot use --upload with --raw (see 'sockt serve-file --help')"
}
