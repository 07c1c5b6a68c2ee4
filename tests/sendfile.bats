#!/usr/bin/env bats
# tests/sendfile.bats - send-file: HTTP PUT to python3 servers (exact
# bytes, the digest trailer, Repr-Digest checked, names from the file,
# refusals, a server that cuts the upload); --raw pushes over plain TCP to
# sockt listen, nc.openbsd and python3 peers (exact bytes, done only once
# the peer has every byte and closed), resets, stalls, refused
# connections, bad files and usage errors.
load helper
bats_require_minimum_version 1.5.0

# nc_listen_port: the port of "nc.openbsd -l -v ... 0" started as peer.
nc_listen_port() {
	wait_until -- grep -q '^Listening on' "$T/peer.err" || return 1
	awk '/^Listening on/ { print $NF }' "$T/peer.err"
}

# ---- --raw -----------------------------------------------------------

@test "send-file --raw: every byte of a 20 MB file reaches sockt listen, exit 0, nothing said" {
	random_file "$T/big" 20000000
	spawn_listen srv 127.0.0.1 0 </dev/null
	SRV=$BG_PID
	run --separate-stderr sockt send-file --raw "$T/big" 127.0.0.1 "$PORT"
	assert_equal "$status" 0
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$T/big" "$T/srv.out"
}

@test "send-file --raw: HOST:PORT, an empty file, and a peer that talks back (discarded)" {
	: >"$T/empty"
	printf 'hello from the peer\n' >"$T/greeting"
	spawn_listen srv 127.0.0.1 0 <"$T/greeting"
	SRV=$BG_PID
	run --separate-stderr sockt send-file --raw "$T/empty" "127.0.0.1:$PORT"
	assert_equal "$status" 0
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	[ -f "$T/srv.out" ] && [ ! -s "$T/srv.out" ]
}

@test "send-file --raw -: stdin, from a pipe and from a file, byte for byte" {
	random_file "$T/a" 3000000
	spawn_listen srv 127.0.0.1 0 </dev/null
	SRV=$BG_PID
	run --separate-stderr bash -c 'cat "$1" | "$SOCKT" send-file --raw - 127.0.0.1 "$2"' _ "$T/a" "$PORT"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$SRV"
	same_bytes "$T/a" "$T/srv.out"

	spawn_listen srv2 127.0.0.1 0 </dev/null
	SRV=$BG_PID
	run --separate-stderr sockt send-file --raw - 127.0.0.1 "$PORT" <"$T/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$SRV"
	same_bytes "$T/a" "$T/srv2.out"
}

@test "send-file --raw: every byte reaches nc.openbsd -l, both exit 0" {
	needs nc.openbsd
	random_file "$T/a" 5000000
	spawn peer nc.openbsd -l -n -v 127.0.0.1 0 </dev/null
	PEER=$BG_PID
	local port
	port=$(nc_listen_port)
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 "$port"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$T/a" "$T/peer.out"
}

@test "send-file --raw: waits for the peer to close after it has every byte" {
	random_file "$T/a" 100000
	hold_fifo in
	spawn_listen srv 127.0.0.1 0 <"$T/in"
	SRV=$BG_PID
	spawn send "$SOCKT" send-file -vv --raw "$T/a" 127.0.0.1 "$PORT"
	SEND=$BG_PID
	# the peer has acknowledged everything, yet has not closed its side
	wait_until -- grep -q 'acknowledged every byte' "$T/send.err"
	alive "$SEND" || fail "send-file ended before the peer closed: $(cat "$T/send.err")"
	release "$HELD"
	wait_exit "$SEND"
	assert_equal "$EXIT" 0
	wait_exit "$SRV"
	same_bytes "$T/a" "$T/srv.out"
}

@test "send-file --raw: a peer that resets mid-stream is exit 1, one line with what it acknowledged" {
	random_file "$T/big" 33554432
	py_listen_bg rcv '
c = accept_one(PORTFILE)
got = 0
while got < 65536:
    d = c.recv(65536)
    if not d:
        break
    got += len(d)
reset(c)
'
	run --separate-stderr sockt send-file --raw "$T/big" 127.0.0.1 "$PORT"
	one_line_error 1 "127\.0\.0\.1:$PORT: (Connection reset by peer|Broken pipe).*; the peer acknowledged ([0-9]+) of 33554432 bytes$"
	local acked=${BASH_REMATCH[2]}
	[ "$acked" -ge 65536 ] && [ "$acked" -lt 33554432 ] ||
	    fail "acknowledged $acked"
}

@test "send-file --raw -w 1: a peer that stops reading is exit 1 once nothing is acknowledged for 1 s" {
	random_file "$T/big" 33554432
	py_listen_bg rcv '
c = accept_one(PORTFILE)
c.recv(65536)
wait_for("never")
'
	run --separate-stderr sockt send-file -w 1 --raw "$T/big" 127.0.0.1 "$PORT"
	one_line_error 1 "^sockt: 127\.0\.0\.1:$PORT: no acknowledgement for 1\.000 s \(-w\); the peer acknowledged [0-9]+ of 33554432 bytes$"
}

@test "send-file --raw -i 1: a peer that has every byte but never closes is exit 1" {
	printf 'twelve bytes' >"$T/a"
	hold_fifo in
	spawn_listen srv 127.0.0.1 0 <"$T/in"
	run --separate-stderr sockt send-file -i 1 --raw "$T/a" 127.0.0.1 "$PORT"
	one_line_error 1 "^sockt: idle timeout: no traffic for 1\.000 s; the peer acknowledged 12 of 12 bytes$"
	same_bytes "$T/a" "$T/srv.out"
}

@test "send-file --raw -P: the last progress line says the size and 100%" {
	random_file "$T/a" 1000000
	spawn_listen srv 127.0.0.1 0 </dev/null
	run --separate-stderr sockt send-file -P --raw "$T/a" 127.0.0.1 "$PORT"
	assert_equal "$status" 0
	[[ "${stderr_lines[-1]}" =~ ^sockt:\ $T/a:\ 976\.6\ KiB\ of\ 976\.6\ KiB\ \(100%\),\ .*B/s\ in\ [0-9]+\.[0-9]\ s$ ]] ||
	    fail "last line: ${stderr_lines[-1]}"
}

@test "send-file --raw: a refused connection is exit 1, one line" {
	random_file "$T/a" 1000
	local port
	port=$(free_port)
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 "$port"
	one_line_error 1 "^sockt: connect 127\.0\.0\.1:$port: Connection refused$"
}

@test "send-file --raw: a missing file or a directory is exit 1, one line, and nothing is dialled" {
	spawn_listen srv -v 127.0.0.1 0 </dev/null
	run --separate-stderr sockt send-file --raw "$T/nope" 127.0.0.1 "$PORT"
	one_line_error 1 "^sockt: $T/nope: No such file or directory$"
	run --separate-stderr sockt send-file --raw "$T" 127.0.0.1 "$PORT"
	one_line_error 1 "^sockt: $T: Is a directory$"
	run ! grep -q 'connection from' "$T/srv.err"
}

@test "send-file: usage errors are exit 2, one line" {
	printf x >"$T/a"
	run --separate-stderr sockt send-file --raw "$T/a"
	one_line_error 2 "^sockt: missing FILE and URL \(see 'sockt send-file --help'\)$"
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1
	one_line_error 2 "^sockt: missing PORT after '127\.0\.0\.1'"
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 0
	one_line_error 2 "^sockt: bad port '0'"
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 70000
	one_line_error 2 "^sockt: bad port '70000'"
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1 9 10
	one_line_error 2 "^sockt: too many arguments: '10'"
	run --separate-stderr sockt send-file --raw "$T/a" 127.0.0.1:9 /x
	one_line_error 2 "^sockt: too many arguments: '/x'"
	run --separate-stderr sockt send-file --raw -k "$T/a" 127.0.0.1 9
	one_line_error 2 "^sockt: unknown option -k"
	run --separate-stderr sockt send-file --raw -o x "$T/a" 127.0.0.1 9
	one_line_error 2 "^sockt: cannot use -o with --raw"
	run --separate-stderr sockt send-file --raw --tls "$T/a" 127.0.0.1 9
	one_line_error 2 "^sockt: cannot use --tls with --raw"
}

@test "send-file --help: usage, the options, exit 0" {
	run --separate-stderr sockt send-file --help
	assert_equal "$status" 0
	assert_line --index 0 --partial "usage: sockt send-file "
	assert_output --partial "--raw"
	assert_equal "$stderr" ""
}

# ---- HTTP PUT ---------------------------------------------------------

# put_server NAME MODE [CERT KEY]: a python3 PUT server on port 0 (sets
# PORT), over TLS with CERT and KEY; one request per connection.  It stores each body under $T/store/PATH, the
# request head in $T/NAME.req, a chunked body's trailer in
# $T/NAME.trailer, and answers by MODE: ok (201 with the Repr-Digest of
# what it stored), lie (201 with the digest of something else), nodigest
# (204, no digest), 403, 409 (a reason with an escape sequence in it), cut
# (reads 64 KiB of the body, then closes), early (201 at once, before the
# body, which it never reads).
put_server() {
	py_bg "$1" "PORTFILE = os.path.join(T, NAME + '.port')
$PUT_SERVER" "${@:2}"
	PORT=$(wait_port "$T/$1.port")
}
PUT_SERVER='
import base64, hashlib, ssl, urllib.parse
mode = sys.argv[1]
srv = tcp_listen(PORTFILE)
held = []
if len(sys.argv) > 2:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    srv = ctx.wrap_socket(srv, server_side=True)
while True:
    try:
        c, _ = srv.accept()
    except ssl.SSLError:
        continue
    f = c.makefile("rb")
    head = b""
    while True:
        line = f.readline(65536)
        if not line:
            break
        head += line
        if line in (b"\r\n", b"\n"):
            break
    save(NAME + ".req", head)
    fields = {}
    for l in head.split(b"\r\n")[1:]:
        if b":" in l:
            k, v = l.split(b":", 1)
            fields[k.strip().lower()] = v.strip()
    target = head.split(b" ")[1].decode()
    if fields.get(b"expect", b"").lower() == b"100-continue":
        c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = b""
    if mode == "early":
        # 201 at once, and the body never read: the 32 MB cannot all
        # fit in the socket buffers, so the client must see the answer
        # before its last byte goes out; the connection stays open
        held.append((c, f))
        c.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        continue
    if mode == "cut":
        f.read(65536)
        f.close()
        c.close()
        continue
    if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
        trailer = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                break
            body += f.read(size)
            f.readline()
        while True:
            line = f.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            trailer += line
        save(NAME + ".trailer", trailer)
    else:
        body = f.read(int(fields.get(b"content-length", b"0")))
    path = os.path.join(T, "store", urllib.parse.unquote(target.lstrip("/")))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(body)
    digest = hashlib.sha256(body + (b"x" if mode == "lie" else b"")).digest()
    if mode in ("ok", "lie"):
        resp = (b"HTTP/1.1 201 Created\r\nRepr-Digest: sha-256=:" +
            base64.b64encode(digest) + b":\r\nContent-Length: 0\r\n\r\n")
    elif mode == "nodigest":
        resp = b"HTTP/1.1 204 No Content\r\n\r\n"
    elif mode == "403":
        resp = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nno.\n"
    else:
        resp = b"HTTP/1.1 409 Conflict \x1b[31m\r\nContent-Length: 0\r\n\r\n"
    c.sendall(resp)
    f.close()
    c.close()
'

@test "send-file: PUT with a chunked body; the server stores the exact bytes, and the trailer holds their SHA-256" {
	random_file "$T/a" 3000000
	put_server srv ok
	run --separate-stderr sockt send-file "$T/a" "http://127.0.0.1:$PORT/up/x.bin"
	assert_equal "$status" 0
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	same_bytes "$T/a" "$T/store/up/x.bin"
	grep -q '^PUT /up/x\.bin HTTP/1\.1' "$T/srv.req"
	grep -qi '^Transfer-Encoding: chunked' "$T/srv.req"
	grep -qi '^Trailer: Content-Digest' "$T/srv.req"
	assert_equal "$(cat "$T/srv.trailer")" "Content-Digest: sha-256=:$(b64sha "$T/a"):$(printf '\r')"
}

@test "send-file: a URL ending in / gets the file's base name, percent-encoded; -o NAME another" {
	printf 'first' >"$T/a b%.txt"
	printf 'second' >"$T/b"
	put_server srv ok
	run --separate-stderr sockt send-file "$T/a b%.txt" "http://127.0.0.1:$PORT/up/"
	assert_equal "$status" 0
	grep -q '^PUT /up/a%20b%25\.txt HTTP/1\.1' "$T/srv.req"
	same_bytes "$T/a b%.txt" "$T/store/up/a b%.txt"
	run --separate-stderr sockt send-file -o renamed.txt "$T/b" "http://127.0.0.1:$PORT/"
	assert_equal "$status" 0
	same_bytes "$T/b" "$T/store/renamed.txt"
}

@test "send-file: FILE HOST PORT PATH, and stdin as the body" {
	random_file "$T/a" 100000
	put_server srv ok
	run --separate-stderr sockt send-file "$T/a" 127.0.0.1 "$PORT" /dir/one
	assert_equal "$status" 0
	same_bytes "$T/a" "$T/store/dir/one"
	run --separate-stderr sockt send-file - "127.0.0.1:$PORT" /dir/two <"$T/a"
	assert_equal "$status" 0
	same_bytes "$T/a" "$T/store/dir/two"
}

@test "send-file -P -v: the progress ends at 100%, and -v says the digest the server stored" {
	random_file "$T/a" 1048576
	put_server srv ok
	run --separate-stderr sockt send-file -P -v "$T/a" "http://127.0.0.1:$PORT/a"
	assert_equal "$status" 0
	[[ "$stderr" =~ sockt:\ $T/a:\ 1\.0\ MiB\ of\ 1\.0\ MiB\ \(100%\),\ .*B/s\ in\ [0-9]+\.[0-9]\ s ]] ||
	    fail "no final progress line: $stderr"
	assert_equal "$(grep -c "^sockt: http://127\.0\.0\.1:$PORT/a: 201, the server stored sha-256=:$(b64sha "$T/a"):$" <<<"$stderr")" 1
	same_bytes "$T/a" "$T/store/a"
}

@test "send-file: a 2xx without Repr-Digest is exit 0" {
	printf 'data' >"$T/a"
	put_server srv nodigest
	run --separate-stderr sockt send-file "$T/a" "http://127.0.0.1:$PORT/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	same_bytes "$T/a" "$T/store/a"
}

@test "send-file: a server whose Repr-Digest differs from what was sent is exit 1, one line" {
	random_file "$T/a" 100000
	put_server srv lie
	run --separate-stderr sockt send-file "$T/a" "http://127.0.0.1:$PORT/a"
	one_line_error 1 "^sockt: http://127\.0\.0\.1:$PORT/a: server stored a different digest \(sent sha-256=:$(b64sha "$T/a" | sed 's/[+/.]/\\&/g'):, stored sha-256=:[A-Za-z0-9+/=]{44}:\)$"
}

@test "send-file: 403 and 409 are exit 1 with the status line, escaped" {
	printf 'data' >"$T/a"
	put_server srv 403
	run --separate-stderr sockt send-file "$T/a" "http://127.0.0.1:$PORT/a"
	one_line_error 1 "^sockt: http://127\.0\.0\.1:$PORT/a: 403 Forbidden$"
	put_server srv2 409
	run --separate-stderr sockt send-file "$T/a" "http://127.0.0.1:$PORT/a"
	one_line_error 1 "^sockt: http://127\.0\.0\.1:$PORT/a: 409 Conflict \\\\x1b\[31m$"
}

@test "send-file: a server that closes mid-upload is exit 1, one line" {
	random_file "$T/a" 33554432
	put_server srv cut
	run --separate-stderr sockt send-file "$T/a" "http://127.0.0.1:$PORT/a"
	one_line_error 1 "^sockt: http://127\.0\.0\.1:$PORT/a: (Connection reset by peer|Broken pipe|connection closed before a response)"
}

@test "send-file: a 2xx that comes before the whole body is exit 1" {
	random_file "$T/a" 33554432
	put_server srv early
	run --separate-stderr sockt send-file "$T/a" "http://127.0.0.1:$PORT/a"
	one_line_error 1 "^sockt: http://127\.0\.0\.1:$PORT/a: the server answered 201 before it had the whole file$"
}

@test "send-file: usage errors of the HTTP form are exit 2" {
	printf 'data' >"$T/a"
	run --separate-stderr sockt send-file -o x "$T/a" http://127.0.0.1:9/file
	one_line_error 2 "^sockt: -o NAME needs a URL that ends in /"
	run --separate-stderr sockt send-file - http://127.0.0.1:9/ </dev/null
	one_line_error 2 "^sockt: stdin has no name: give -o NAME"
	run --separate-stderr sockt send-file "$T/a" http://127.0.0.1:0/x
	one_line_error 2 "^sockt: bad port '0'"
	run --separate-stderr sockt send-file "$T/a" http://127.0.0.1:9/x extra
	one_line_error 2 "^sockt: too many arguments: 'extra'"
}

@test "send-file https://: verified with --ca; an unverified server is exit 1 and gets nothing" {
	random_file "$T/a" 500000
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/srv.key" -out "$T/srv.pem" -days 2 -subj /CN=localhost \
	    -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
	put_server srv ok "$T/srv.pem" "$T/srv.key"
	run --separate-stderr sockt send-file --ca "$T/srv.pem" "$T/a" "https://127.0.0.1:$PORT/up/"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	same_bytes "$T/a" "$T/store/up/a"
	assert_equal "$(cat "$T/srv.trailer")" "Content-Digest: sha-256=:$(b64sha "$T/a"):$(printf '\r')"
	run --separate-stderr sockt send-file "$T/a" "https://127.0.0.1:$PORT/up/b"
	one_line_error 1 "certificate verify failed"
	[ ! -e "$T/store/up/b" ]
}

# ---- against sockt serve-file --upload, and through proxies --------------

# upload_server NAME ARGS...: sockt serve-file --upload ARGS ... 127.0.0.1
# 0 $T/inbox; sets $PORT.
upload_server() {
	local name=$1
	shift
	mkdir -p "$T/inbox"
	spawn "$name" "$SOCKT" serve-file --upload --port-file "$T/$name.port" \
	    "$@" 127.0.0.1 0 "$T/inbox"
	PORT=$(wait_port "$T/$name.port")
}

@test "send-file to serve-file --upload: stored exact and verified both ends; a second time is 409 and changes nothing" {
	random_file "$T/a.bin" 5000000
	upload_server srv
	run --separate-stderr sockt send-file -v "$T/a.bin" "http://127.0.0.1:$PORT/"
	assert_equal "$status" 0
	same_bytes "$T/a.bin" "$T/inbox/a.bin"
	[[ $stderr == *"sockt: http://127.0.0.1:$PORT/a.bin: 201, the server stored sha-256=:$(b64sha "$T/a.bin"):"* ]] ||
	    fail "no verified answer under -v: $stderr"
	run --separate-stderr sockt send-file "$T/a.bin" "http://127.0.0.1:$PORT/"
	one_line_error 1 " 409 "
	same_bytes "$T/a.bin" "$T/inbox/a.bin"
	[ -z "$(ls -A "$T/inbox" | grep -v '^a\.bin$')" ]
}

@test "send-file over TLS with the server's pin to serve-file --tls --upload" {
	random_file "$T/a.bin" 2000000
	upload_server srv --tls
	pin=$(sed -n 's/^sockt: tls pin //p' "$T/srv.err")
	[ -n "$pin" ]
	run --separate-stderr sockt send-file --pin "$pin" -o b.bin "$T/a.bin" "https://127.0.0.1:$PORT/"
	assert_equal "$status" 0
	same_bytes "$T/a.bin" "$T/inbox/b.bin"
}

@test "send-file through forward --proxy-server: --proxy, and http_proxy from the environment; a bad variable is exit 2" {
	random_file "$T/a.bin" 1000000
	upload_server srv
	spawn px "$SOCKT" forward -v --proxy-server --port-file "$T/px.port" 127.0.0.1 0
	local pport
	pport=$(wait_port "$T/px.port")
	run --separate-stderr sockt send-file --proxy "socks5://127.0.0.1:$pport" -o one.bin "$T/a.bin" "http://127.0.0.1:$PORT/"
	assert_equal "$status" 0
	same_bytes "$T/a.bin" "$T/inbox/one.bin"
	run --separate-stderr env -u no_proxy -u NO_PROXY http_proxy="http://127.0.0.1:$pport" \
	    "$SOCKT" send-file -o two.bin "$T/a.bin" "http://127.0.0.1:$PORT/"
	assert_equal "$status" 0
	same_bytes "$T/a.bin" "$T/inbox/two.bin"
	wait_until -- test "$(grep -c ' bytes up' "$T/px.err")" -eq 2
	run --separate-stderr env -u no_proxy -u NO_PROXY http_proxy="gopher://x" \
	    "$SOCKT" send-file -o three.bin "$T/a.bin" "http://127.0.0.1:$PORT/"
	one_line_error 2 "^sockt: http_proxy: "
	[ ! -e "$T/inbox/three.bin" ]
}
