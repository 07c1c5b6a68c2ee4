#!/usr/bin/env bats
# fetch-file over HTTPS: verification by default, --pin, --ca, --insecure,
# --servername, resume, and redirects from http:// to https://.

load helper
bats_require_minimum_version 1.5.0

# serve_tls NAME ARGS...: serve-file --tls on port 0; sets PORT and PIN
# (the ephemeral key's pin, printed before the port file is written).
serve_tls() {
	local name=$1
	shift
	bg "$name" sockt serve-file --tls --port-file "$T/$name.port" "$@"
	PORT=$(wait_port "$T/$name.port") || return 1
	PIN=$(sed -n 's/^sockt: tls pin //p' "$T/$name.err")
	[ -n "$PIN" ] || fail "no pin line: $(cat "$T/$name.err")"
}

# make_ca: a test CA in $T/ca.pem and a certificate for 127.0.0.1 and
# localhost signed by it in $T/srv.pem, its key in $T/srv.key.
make_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj /CN=sockt-test-ca \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/srv.key" -out "$T/srv.csr" -subj /CN=localhost 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$T/ext"
	openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -out "$T/srv.pem" -days 2 -extfile "$T/ext" 2>/dev/null
}

# py_https NAME DIR: python3's http.server over TLS with $T/srv.pem,
# serving DIR on port 0; sets PORT.
py_https() {
	local name=$1 dir=$2
	bg "$name" python3 -c '
import http.server, os, ssl, sys, functools
portfile, cert, key, root = sys.argv[1:5]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
' "$T/$name.port" "$T/srv.pem" "$T/srv.key" "$dir"
	PORT=$(wait_port "$T/$name.port") || return 1
}

# redirect_server NAME LOCATION: a one-shot HTTP server answering 302 to
# LOCATION; sets PORT.
redirect_server() {
	printf 'HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n' "$2" >"$T/$1.resp"
	fake_server "$1" "$T/$1.resp"
}

@test "https: fetch from serve-file --tls with its printed pin gives the exact file" {
	random_file "$T/f.bin" 3000000
	serve_tls srv 127.0.0.1 0 "$T/f.bin"
	mkdir "$T/dl" && cd "$T/dl"
	run sockt fetch-file --pin "$PIN" "https://127.0.0.1:$PORT/f.bin"
	assert_success
	assert_output ""
	assert_equal "$(checksum f.bin)" "$(checksum "$T/f.bin")"
	[ ! -e f.bin.part ]
	# HOST PORT PATH with --tls, and to stdout
	run sockt fetch-file --tls --pin "$PIN" -o g.bin 127.0.0.1 "$PORT" f.bin
	assert_success
	assert_equal "$(checksum g.bin)" "$(checksum "$T/f.bin")"
	sockt fetch-file --pin "$PIN" -o - "https://127.0.0.1:$PORT/f.bin" >h.bin
	assert_equal "$(checksum h.bin)" "$(checksum "$T/f.bin")"
}

@test "https: verification is on by default: a self-signed server fails, exit 1, no file" {
	random_file "$T/f.bin" 1000
	serve_tls srv 127.0.0.1 0 "$T/f.bin"
	mkdir "$T/dl" && cd "$T/dl"
	run sockt fetch-file "https://127.0.0.1:$PORT/f.bin"
	assert_failure 1
	assert_output "sockt: tls 127.0.0.1:$PORT: certificate verify failed: self-signed certificate"
	run ls -A
	assert_output ""
}

@test "https: --insecure fetches from an unverified server" {
	random_file "$T/f.bin" 100000
	serve_tls srv 127.0.0.1 0 "$T/f.bin"
	run sockt fetch-file --insecure -o "$T/got" "https://127.0.0.1:$PORT/f.bin"
	assert_success
	assert_equal "$(checksum "$T/got")" "$(checksum "$T/f.bin")"
}

@test "https: a wrong --pin fails with the server's real pin, and leaves nothing" {
	random_file "$T/f.bin" 1000
	serve_tls srv 127.0.0.1 0 "$T/f.bin"
	mkdir "$T/dl" && cd "$T/dl"
	run sockt fetch-file --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" "https://127.0.0.1:$PORT/f.bin"
	assert_failure 1
	assert_output "sockt: tls 127.0.0.1:$PORT: pin mismatch: the peer's key is $PIN"
	run ls -A
	assert_output ""
}

@test "https: --ca trusts a test CA (python3 http.server over TLS); --servername picks the name verified" {
	needs openssl
	make_ca
	mkdir "$T/www"
	random_file "$T/www/f.bin" 500000
	py_https web "$T/www"
	mkdir "$T/dl" && cd "$T/dl"
	run sockt fetch-file --ca "$T/ca.pem" "https://127.0.0.1:$PORT/f.bin"
	assert_success
	assert_equal "$(checksum f.bin)" "$(checksum "$T/www/f.bin")"
	run sockt fetch-file --ca "$T/ca.pem" --servername localhost -o g.bin "https://127.0.0.1:$PORT/f.bin"
	assert_success
	assert_equal "$(checksum g.bin)" "$(checksum "$T/www/f.bin")"
	run sockt fetch-file --ca "$T/ca.pem" --servername other.example -o h.bin "https://127.0.0.1:$PORT/f.bin"
	assert_failure 1
	assert_output "sockt: tls 127.0.0.1:$PORT: certificate verify failed: hostname mismatch"
	[ ! -e h.bin ] && [ ! -e h.bin.part ]
	# without --ca the test CA is unknown
	run sockt fetch-file -o i.bin "https://127.0.0.1:$PORT/f.bin"
	assert_failure 1
	assert_output "sockt: tls 127.0.0.1:$PORT: certificate verify failed: unable to get local issuer certificate"
}

@test "https: a .part is resumed with a Range over TLS and the whole file verified" {
	random_file "$T/f.bin" 2000000
	serve_tls srv -v 127.0.0.1 0 "$T/f.bin"
	mkdir "$T/dl" && cd "$T/dl"
	head -c 700000 "$T/f.bin" >f.bin.part
	run --separate-stderr sockt fetch-file -v --pin "$PIN" "https://127.0.0.1:$PORT/f.bin"
	assert_success
	[[ "$stderr" == *"sockt: f.bin.part: resuming after 700000 bytes"* ]] || fail "$stderr"
	[[ "$stderr" == *"sockt: f.bin: SHA-256 verified"* ]] || fail "$stderr"
	assert_equal "$(checksum f.bin)" "$(checksum "$T/f.bin")"
	[ ! -e f.bin.part ]
	grep -q '"GET /f.bin" 206' "$T/srv.err" || fail "$(cat "$T/srv.err")"
}

@test "https: an http:// URL redirecting to https:// is followed, verified as ever" {
	random_file "$T/f.bin" 400000
	serve_tls srv 127.0.0.1 0 "$T/f.bin"
	tls=$PORT
	mkdir "$T/dl" && cd "$T/dl"
	# the TLS options given with an http:// URL hold for the https:// hop
	redirect_server r1 "https://127.0.0.1:$tls/f.bin"
	run sockt fetch-file --pin "$PIN" -o got "http://127.0.0.1:$PORT/old"
	assert_success
	assert_equal "$(checksum got)" "$(checksum "$T/f.bin")"
	# without them, the hop is verified against the system's CAs
	redirect_server r2 "https://127.0.0.1:$tls/f.bin"
	run sockt fetch-file -o got2 "http://127.0.0.1:$PORT/old"
	assert_failure 1
	assert_output "sockt: tls 127.0.0.1:$tls: certificate verify failed: self-signed certificate"
	[ ! -e got2 ] && [ ! -e got2.part ]
}

@test "https: never follows https:// to http://" {
	printf 'HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\nContent-Length: 0\r\n\r\n' >"$T/resp"
	bg srv sockt listen --tls --port-file "$T/srv.port" 127.0.0.1 0 <"$T/resp"
	PORT=$(wait_port "$T/srv.port")
	PIN=$(sed -n 's/^sockt: tls pin //p' "$T/srv.err")
	run sockt fetch-file --pin "$PIN" -o "$T/z" "https://127.0.0.1:$PORT/f"
	assert_failure 1
	assert_output "sockt: https://127.0.0.1:$PORT/f: 302 Found (Location: http://127.0.0.1:1/x)"
	[ ! -e "$T/z" ] && [ ! -e "$T/z.part" ]
}

@test "https: --raw --tls takes a TLS stream until close_notify (listen --tls < file)" {
	random_file "$T/f.bin" 1000000
	bg srv sockt listen --tls --port-file "$T/srv.port" 127.0.0.1 0 <"$T/f.bin"
	PORT=$(wait_port "$T/srv.port")
	PIN=$(sed -n 's/^sockt: tls pin //p' "$T/srv.err")
	run sockt fetch-file --raw --tls --pin "$PIN" --sha256 "$(checksum "$T/f.bin")" -o "$T/got" 127.0.0.1 "$PORT"
	assert_success
	assert_equal "$(checksum "$T/got")" "$(checksum "$T/f.bin")"
}

# tls_raw_server NAME RESPONSE: a one-shot TLS server ($T/srv.pem) that
# sends the bytes of RESPONSE and closes TCP without close_notify.
tls_raw_server() {
	local name=$1
	bg "$name" python3 -c '
import os, socket, ssl, sys
portfile, cert, key, response = sys.argv[1:5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
c, _ = ls.accept()
s = ctx.wrap_socket(c, server_side=True)
req = b""
while b"\r\n\r\n" not in req:
    d = s.recv(4096)
    if not d:
        break
    req += d
s.sendall(open(response, "rb").read())
# no unwrap(): the TCP connection ends without close_notify
c.shutdown(socket.SHUT_RDWR)
c.close()
' "$T/$name.port" "$T/srv.pem" "$T/srv.key" "$2"
	PORT=$(wait_port "$T/$name.port") || return 1
}

@test "https: a body complete by Content-Length or chunked is no truncation without close_notify; a close-framed one is" {
	needs openssl
	make_ca
	printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' >"$T/r1"
	tls_raw_server s1 "$T/r1"
	run sockt fetch-file --ca "$T/ca.pem" -o "$T/a" "https://127.0.0.1:$PORT/a"
	assert_success
	assert_equal "$(cat "$T/a")" hello
	printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' >"$T/r2"
	tls_raw_server s2 "$T/r2"
	run sockt fetch-file --ca "$T/ca.pem" -o "$T/b" "https://127.0.0.1:$PORT/b"
	assert_success
	assert_equal "$(cat "$T/b")" hello
	printf 'HTTP/1.0 200 OK\r\n\r\nhello' >"$T/r3"
	tls_raw_server s3 "$T/r3"
	run sockt fetch-file --retry 0 --ca "$T/ca.pem" -o "$T/c" "https://127.0.0.1:$PORT/c"
	assert_failure 1
	assert_output "sockt: https://127.0.0.1:$PORT/c: connection closed without close_notify (truncated) after 5 bytes; $T/c.part kept for resuming"
	[ ! -e "$T/c" ]
}

@test "https: usage errors: --tls with http://, --insecure with --pin, --key without --cert" {
	run sockt fetch-file --tls http://127.0.0.1:1/f
	assert_failure 2
	assert_line --index 0 "sockt: --tls with an http:// URL: use https:// (see 'sockt fetch-file --help')"
	run sockt fetch-file --insecure --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" https://127.0.0.1:1/f
	assert_failure 2
	assert_line --index 0 "sockt: cannot use --insecure with --pin (see 'sockt fetch-file --help')"
	run sockt fetch-file --key "$T/k" https://127.0.0.1:1/f
	assert_failure 2
	assert_line --index 0 "sockt: --key needs --cert (see 'sockt fetch-file --help')"
}
