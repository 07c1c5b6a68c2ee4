#!/usr/bin/env bats
# tests/tls.bats - TLS (design section 6) as an attacker and as interop
# peers see it: pins, CA verification, expiry, names, mutual TLS, ALPN,
# end of stream (close_notify, truncation), broken and stalled handshakes
# against a -k server, and openssl, curl, wget, ncat, socat and python3
# ssl in both roles.  The test PKI is made here with openssl.

load helper

bats_require_minimum_version 1.5.0

setup_file() {
	PKI=$BATS_FILE_TMPDIR/pki
	export PKI
	mkdir -p "$PKI/db"
	cd "$PKI" || return 1
	: >db/index.txt
	echo 01 >db/serial
	cat >ca.cnf <<-'CNF'
	[ca]
	default_ca = tca
	[tca]
	database = db/index.txt
	new_certs_dir = db
	serial = db/serial
	default_md = sha256
	policy = pol
	copy_extensions = none
	[pol]
	commonName = supplied
	CNF
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout ca.key -out ca.pem -days 30 \
	    -subj /CN=sockt-test-ca 2>/dev/null || return 1
	# name SAN START END
	mkcert server "DNS:localhost,IP:127.0.0.1,IP:::1" || return 1
	mkcert other "DNS:other.example" || return 1
	mkcert client "DNS:sockt-client" || return 1
	mkcert expired "DNS:localhost,IP:127.0.0.1" 20200101000000Z \
	    20200201000000Z || return 1
	head -c 3000000 /dev/urandom >"$PKI/a"
	head -c 1000000 /dev/urandom >"$PKI/b"
}

# mkcert NAME SAN [START END]: NAME.pem and NAME.key signed by the test CA.
mkcert() {
	local dates=(-days 30)
	[ -n "$3" ] && dates=(-startdate "$3" -enddate "$4")
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null &&
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$2" >"$1.ext" &&
	openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key \
	    -in "$1.csr" -out "$1.pem" "${dates[@]}" -extfile "$1.ext" \
	    2>/dev/null
}

PEER_PY=$BATS_TEST_DIRNAME/tlspeer.py

# tls_listen NAME ARGS...: "sockt listen --tls ARGS" in the background,
# $PORT its port, $PIN the pin it printed (an ephemeral certificate).
tls_listen() {
	local name=$1
	shift
	spawn_listen "$name" --tls "$@" || return 1
	# the pin line comes before the port file is written
	PIN=$(sed -n 's/^sockt: tls pin //p' "$T/$name.err")
}

# ---- pins and verification --------------------------------------------

@test "tls: listen prints its pin before the port file; connect --pin: 3 MB and 1 MB both ways" {
	tls_listen srv 127.0.0.1 0 <"$PKI/b"
	SRV=$BG_PID
	[[ "$PIN" =~ ^sha256//[A-Za-z0-9+/]{43}=$ ]] ||
	    fail "no pin line before the port file: $(cat "$T/srv.err")"
	run_out "$T/got" sockt connect --tls --pin "$PIN" 127.0.0.1 "$PORT" \
	    <"$PKI/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	same_bytes "$PKI/b" "$T/got"
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$PKI/a" "$T/srv.out"
}

@test "tls: connect --tls --ca verifies the server by IP address and by name, both ways" {
	tls_listen srv --cert "$PKI/server.pem" --key "$PKI/server.key" \
	    -k 127.0.0.1 0 </dev/null
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" 127.0.0.1 \
	    "$PORT" <"$PKI/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" localhost \
	    "$PORT" <"$PKI/b"
	assert_equal "$status" 0
	wait_until -- eval "[ \$(wc -c <'$T/srv.out') -eq 4000000 ]"
	cat "$PKI/a" "$PKI/b" >"$T/ab"
	same_bytes "$T/ab" "$T/srv.out"
	# a server with --cert prints no pin
	run grep -c 'tls pin' "$T/srv.err"
	assert_output 0
}

@test "tls: exec --tls --cert -- cat: a verified client gets every byte back" {
	spawn exec_srv "$SOCKT" exec --tls --cert "$PKI/server.pem" \
	    --key "$PKI/server.key" --port-file "$T/ex.port" 127.0.0.1 0 -- cat
	local port
	port=$(wait_port "$T/ex.port")
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" localhost \
	    "$port" <"$PKI/a"
	assert_equal "$status" 0
	same_bytes "$PKI/a" "$T/got"
}

@test "tls: --insecure connects to anything, with a warning under -v" {
	tls_listen srv 127.0.0.1 0 <"$PKI/b"
	run_out "$T/got" sockt connect -v --tls --insecure 127.0.0.1 "$PORT" \
	    </dev/null
	assert_equal "$status" 0
	same_bytes "$PKI/b" "$T/got"
	[[ "$stderr" == *"sockt: --insecure: the server's certificate is not verified"* ]]
}

@test "tls: no verification data: certificate verify failed, exit 1, nothing delivered" {
	tls_listen srv -k 127.0.0.1 0 </dev/null
	run_out "$T/got" sockt connect --tls 127.0.0.1 "$PORT" <"$PKI/a"
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	assert_equal "$stderr" "sockt: tls 127.0.0.1:$PORT: certificate verify failed: self-signed certificate"
	[ ! -s "$T/got" ]
	[ ! -s "$T/srv.out" ]
}

@test "tls: a wrong --pin fails inside the handshake: no byte reaches the server, which serves on" {
	tls_listen srv -k -v 127.0.0.1 0 </dev/null
	local wrong=sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	run_out "$T/got" sockt connect --tls --pin "$wrong" 127.0.0.1 "$PORT" \
	    <"$PKI/a"
	assert_equal "$status" 1
	assert_equal "$stderr" "sockt: tls 127.0.0.1:$PORT: pin mismatch: the peer's key is $PIN"
	# the server saw the handshake fail, never a connection
	wait_until -- grep -q 'alert handshake failure' "$T/srv.err"
	run grep -c 'connection from' "$T/srv.err"
	assert_output 0
	run_out "$T/got" sockt connect --tls --pin "$PIN" 127.0.0.1 "$PORT" \
	    <"$PKI/b"
	assert_equal "$status" 0
	wait_until -- eval "[ \$(wc -c <'$T/srv.out') -eq 1000000 ]"
	same_bytes "$PKI/b" "$T/srv.out"
}

@test "tls: --pin with --ca: both must hold" {
	tls_listen srv --cert "$PKI/server.pem" --key "$PKI/server.key" \
	    -k 127.0.0.1 0 </dev/null
	local pin
	pin=sha256//$(openssl x509 -in "$PKI/server.pem" -pubkey -noout |
	    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
	    base64)
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" --pin "$pin" \
	    127.0.0.1 "$PORT" </dev/null
	assert_equal "$status" 0
	# the right key, but the CA does not vouch for it
	run_out "$T/got" sockt connect --tls --ca "$PKI/other.pem" --pin "$pin" \
	    127.0.0.1 "$PORT" </dev/null
	assert_equal "$status" 1
	assert_equal "$stderr" "sockt: tls 127.0.0.1:$PORT: certificate verify failed: unable to get local issuer certificate"
}

@test "tls: an expired certificate fails verification" {
	tls_listen srv --cert "$PKI/expired.pem" --key "$PKI/expired.key" \
	    -k 127.0.0.1 0 </dev/null
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" 127.0.0.1 \
	    "$PORT" </dev/null
	assert_equal "$status" 1
	assert_equal "$stderr" "sockt: tls 127.0.0.1:$PORT: certificate verify failed: certificate has expired"
}

@test "tls: a certificate for another name fails; --servername names the one to verify" {
	tls_listen srv --cert "$PKI/other.pem" --key "$PKI/other.key" \
	    -k 127.0.0.1 0 </dev/null
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" 127.0.0.1 \
	    "$PORT" </dev/null
	assert_equal "$status" 1
	assert_equal "$stderr" "sockt: tls 127.0.0.1:$PORT: certificate verify failed: IP address mismatch"
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" localhost \
	    "$PORT" </dev/null
	assert_equal "$status" 1
	assert_equal "$stderr" "sockt: tls 127.0.0.1:$PORT: certificate verify failed: hostname mismatch"
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" \
	    --servername other.example 127.0.0.1 "$PORT" <"$PKI/b"
	assert_equal "$status" 0
	wait_until -- eval "[ \$(wc -c <'$T/srv.out') -eq 1000000 ]"
	same_bytes "$PKI/b" "$T/srv.out"
}

@test "tls: mutual TLS: a client without a certificate is refused, the -k server serves on" {
	tls_listen srv --cert "$PKI/server.pem" --key "$PKI/server.key" \
	    --ca "$PKI/ca.pem" -k -v 127.0.0.1 0 </dev/null
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" 127.0.0.1 \
	    "$PORT" <"$PKI/b"
	assert_equal "$status" 1
	# the alert is read, or found behind a failed write
	[[ "$stderr" =~ ^"sockt: tls 127.0.0.1:$PORT: tlsv13 alert certificate required ("(0 bytes received|[0-9]+ bytes sent)")"$ ]] ||
	    fail "not the server's alert: $stderr"
	wait_until -- grep -q "peer did not return a certificate" "$T/srv.err"
	# a certificate of another CA is refused too
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" \
	    --cert "$PKI/client.pem" --key "$PKI/client.key" 127.0.0.1 \
	    "$PORT" <"$PKI/a"
	assert_equal "$status" 0
	wait_until -- eval "[ \$(wc -c <'$T/srv.out') -eq 3000000 ]"
	same_bytes "$PKI/a" "$T/srv.out"
}

@test "tls: --alpn: the server takes the first of its protocols the client offers; none in common fails" {
	tls_listen srv --alpn h2,http/1.1 -k 127.0.0.1 0 </dev/null
	run_out "$T/got" sockt connect -vv --tls --pin "$PIN" \
	    --alpn foo,http/1.1 127.0.0.1 "$PORT" </dev/null
	assert_equal "$status" 0
	[[ "$stderr" =~ "sockt: tls 127.0.0.1:$PORT: TLSv1.3 "[A-Z0-9_]+", ALPN http/1.1, kTLS " ]] ||
	    fail "no ALPN line: $stderr"
	run_out "$T/got" sockt connect --tls --pin "$PIN" --alpn foo \
	    127.0.0.1 "$PORT" </dev/null
	assert_equal "$status" 1
	assert_equal "$stderr" "sockt: tls 127.0.0.1:$PORT: tlsv1 alert no application protocol"
	run openssl s_client -connect "127.0.0.1:$PORT" -alpn h2 </dev/null
	assert_output --partial "ALPN protocol: h2"
}

@test "tls: malformed --pin and --alpn, misplaced options: exit 2, one line" {
	run --separate-stderr sockt connect --tls --pin sha256//abc 127.0.0.1 1
	one_line_error 2 "^sockt: bad --pin 'sha256//abc': expected sha256//BASE64 \(44 characters, the SHA-256 of the key\)"
	run --separate-stderr sockt connect --tls --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" 127.0.0.1 1
	one_line_error 2 "^sockt: bad --pin "
	local bad
	for bad in "" "," "h2,,x" "h2," "a b" "$(printf 'x%.0s' {1..256})"; do
		run --separate-stderr sockt connect --tls --alpn "$bad" 127.0.0.1 1
		one_line_error 2 "^sockt: bad --alpn '.*': expected protocol names \(1 to 255 printable characters\) separated by commas"
	done
	run --separate-stderr sockt listen --tls --alpn $'h2\x01' 0
	one_line_error 2 "^sockt: bad --alpn 'h2\\\\x01'"
	run --separate-stderr sockt listen --tls --pin "$(printf 'sha256//%043d=' 0)" 0
	one_line_error 2 "^sockt: unknown option --pin "
	run --separate-stderr sockt connect --ca "$PKI/ca.pem" 127.0.0.1 1
	one_line_error 2 "^sockt: --ca needs --tls"
}

@test "tls: certificate and key files that cannot be used: the file and the reason, exit 1" {
	run --separate-stderr sockt listen --tls --cert "$PKI/a" 0
	one_line_error 1 "^sockt: --cert $PKI/a: no PEM certificate in it$"
	run --separate-stderr sockt listen --tls --cert "$PKI/server.pem" 0
	one_line_error 1 "^sockt: --cert $PKI/server.pem: no PEM private key in it$"
	run --separate-stderr sockt listen --tls --cert "$PKI/server.pem" --key "$PKI/other.key" 0
	one_line_error 1 "^sockt: --key $PKI/other.key: does not match the certificate in $PKI/server.pem$"
	run --separate-stderr sockt listen --tls --cert "$PKI/server.pem" --key "$PKI/nonexistent" 0
	one_line_error 1 "^sockt: --key $PKI/nonexistent: No such file or directory$"
	openssl pkey -in "$PKI/server.key" -aes128 -passout pass:x -out "$T/enc.key"
	run --separate-stderr sockt listen --tls --cert "$PKI/server.pem" --key "$T/enc.key" 0 </dev/null
	one_line_error 1 "^sockt: --key $T/enc.key: the key is encrypted \(no passphrase can be given\)$"
	run --separate-stderr sockt connect --tls --ca "$PKI/a" 127.0.0.1 1
	one_line_error 1 "^sockt: --ca $PKI/a: no PEM certificate in it$"
	run --separate-stderr sockt connect --tls --ca "$PKI" 127.0.0.1 1
	one_line_error 1 "^sockt: --ca $PKI: Is a directory$"
}

# ---- end of stream ------------------------------------------------------

@test "tls: stdin EOF sends close_notify; a python3 peer reads it as EOF and still replies, which sockt prints" {
	spawn peer python3 "$PEER_PY" server "$PKI/server.pem" "$PKI/server.key" \
	    "$T/peer.port" "$T/peer.got" "$PKI/b"
	PEER=$BG_PID
	local port
	port=$(wait_port "$T/peer.port")
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" 127.0.0.1 \
	    "$port" <"$PKI/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	same_bytes "$PKI/b" "$T/got"
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$PKI/a" "$T/peer.got"
}

@test "tls: python3 client to listen --tls: sockt's close_notify, then the client's data still arrives" {
	tls_listen srv --cert "$PKI/server.pem" --key "$PKI/server.key" \
	    127.0.0.1 0 <"$PKI/b"
	SRV=$BG_PID
	run_out "$T/got" python3 "$PEER_PY" client "$PKI/ca.pem" localhost \
	    "$PORT" "$PKI/a" "$T/peer.got"
	assert_equal "$status" 0
	same_bytes "$PKI/b" "$T/peer.got"
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$PKI/a" "$T/srv.out"
}

@test "tls: a TCP end of file without close_notify is a truncation: the data, then exit 1" {
	spawn peer python3 "$PEER_PY" truncate "$PKI/server.pem" \
	    "$PKI/server.key" "$T/peer.port" "$PKI/b"
	local port
	port=$(wait_port "$T/peer.port")
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" 127.0.0.1 \
	    "$port" </dev/null
	assert_equal "$status" 1
	same_bytes "$PKI/b" "$T/got"
	assert_equal "$stderr" "sockt: tls 127.0.0.1:$port: connection closed without close_notify (truncated) (1000000 bytes received)"
}

@test "tls: garbage, a truncated ClientHello, a stalled handshake (-w) and resets: listen -k --tls serves on" {
	tls_listen srv -k -v -w 2 127.0.0.1 0 </dev/null
	SRV=$BG_PID
	python3 - "$PORT" <<-'PY'
	import socket, struct, sys
	port = int(sys.argv[1])
	def conn():
	    return socket.create_connection(("127.0.0.1", port))
	def drain(s):
	    # the alert, or a reset when the server closed with our bytes unread
	    try:
	        s.recv(100)
	    except ConnectionResetError:
	        pass
	    s.close()
	# plain text instead of a ClientHello
	s = conn(); s.sendall(b"GET / HTTP/1.0\r\n\r\n" * 100); drain(s)
	# a handshake record that claims 16 KB and stops after 20 bytes
	s = conn(); s.sendall(b"\x16\x03\x01\x40\x00\x01\x00\x3f\xfc\x03\x03" + b"\0" * 9)
	s.shutdown(socket.SHUT_WR); drain(s)
	# a reset in the middle of a ClientHello
	s = conn(); s.sendall(b"\x16\x03\x01\x00\x50\x01")
	s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	s.close()
	PY
	# a client that says nothing: its handshake is cut at -w
	spawn stall python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.recv(1); print("closed")' "$PORT"
	local stall=$BG_PID
	wait_exit "$stall"
	assert_equal "$EXIT" 0
	assert_equal "$(cat "$T/stall.out")" closed
	wait_until -- grep -q 'the handshake did not finish in time' "$T/srv.err"
	# none of it crashed the server or reached its stdout
	run_out "$T/got" sockt connect --tls --pin "$PIN" 127.0.0.1 "$PORT" \
	    <"$PKI/b"
	assert_equal "$status" 0
	wait_until -- eval "[ \$(wc -c <'$T/srv.out') -eq 1000000 ]"
	same_bytes "$PKI/b" "$T/srv.out"
	kill -0 "$SRV"
}

# ---- interop ------------------------------------------------------------

@test "tls interop: openssl s_client to listen --tls --cert, verified, 3 MB" {
	# s_client quits at the server's close_notify: hold it back
	hold_fifo in
	spawn_listen srv --tls --cert "$PKI/server.pem" --key "$PKI/server.key" \
	    127.0.0.1 0 <"$T/in"
	SRV=$BG_PID
	# s_client -quiet ignores its stdin's end; it ends at close_notify
	spawn cli openssl s_client -quiet -verify_return_error \
	    -CAfile "$PKI/ca.pem" -verify_ip 127.0.0.1 \
	    -connect "127.0.0.1:$PORT" <"$PKI/a"
	CLI=$BG_PID
	wait_until -- eval "[ \$(wc -c <'$T/srv.out') -eq 3000000 ]"
	release "$HELD"
	wait_exit "$CLI"
	assert_equal "$EXIT" 0
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$PKI/a" "$T/srv.out"
}

@test "tls interop: connect --tls --ca to openssl s_server, 3 MB" {
	# s_server ends the connection at its stdin's end: hold it open; it
	# ends at sockt's close_notify, after every byte
	hold_fifo sin
	local port
	port=$(free_port)
	spawn peer openssl s_server -quiet -naccept 1 -accept "127.0.0.1:$port" \
	    -cert "$PKI/server.pem" -key "$PKI/server.key" <"$T/sin"
	PEER=$BG_PID
	wait_until -- eval "ss -Hltn | grep -q '127.0.0.1:$port '"
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" 127.0.0.1 \
	    "$port" <"$PKI/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$PKI/a" "$T/peer.out"
}

@test "tls interop: curl and wget over https from serve-file --tls, verified" {
	needs curl
	needs wget
	# 200 KB: a body that fills the socket (3 MB) hangs or fails now and
	# then ("Protocol error after 0 of N bytes"), in main too: a serve-file
	# bug reported to the lead, not hidden here as a TLS interop result
	head -c 200000 "$PKI/a" >"$T/f"
	spawn sf "$SOCKT" serve-file --tls --cert "$PKI/server.pem" \
	    --key "$PKI/server.key" --port-file "$T/sf.port" 127.0.0.1 0 "$T/f"
	local port
	port=$(wait_port "$T/sf.port")
	run curl -sS --cacert "$PKI/ca.pem" -o "$T/c.got" "https://localhost:$port/f"
	assert_success
	same_bytes "$T/f" "$T/c.got"
	run wget -q --ca-certificate="$PKI/ca.pem" -O "$T/w.got" "https://127.0.0.1:$port/f"
	assert_success
	same_bytes "$T/f" "$T/w.got"
	# without the CA, both refuse
	run curl -sS -o /dev/null "https://localhost:$port/f"
	assert_equal "$status" 60
}

@test "tls interop: ncat --ssl client to listen --tls, 3 MB and 1 MB both ways, then its truncation" {
	needs ncat
	tls_listen srv --cert "$PKI/server.pem" --key "$PKI/server.key" \
	    127.0.0.1 0 <"$PKI/b"
	SRV=$BG_PID
	run_out "$T/got" ncat --ssl --ssl-verify --ssl-trustfile "$PKI/ca.pem" \
	    localhost "$PORT" <"$PKI/a"
	assert_equal "$status" 0
	same_bytes "$PKI/b" "$T/got"
	wait_exit "$SRV"
	same_bytes "$PKI/a" "$T/srv.out"
	# ncat ends with a TCP end of file, no close_notify, after its data:
	# every byte still went both ways, and sockt says it was cut
	assert_equal "$EXIT" 1
	run cat "$T/srv.err"
	assert_output --regexp '^sockt: tls 127\.0\.0\.1:[0-9]+: connection closed without close_notify \(truncated\) \(3000000 bytes received\)$'

}

@test "tls interop: connect --tls --ca to ncat --ssl -l, 3 MB (ncat closes without close_notify, having sent nothing)" {
	needs ncat
	spawn peer ncat --ssl --ssl-cert "$PKI/server.pem" --ssl-key \
	    "$PKI/server.key" -l --recv-only 127.0.0.1 0
	PEER=$BG_PID
	local port
	port=$(listening_port "$PEER")
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" 127.0.0.1 \
	    "$port" <"$PKI/a"
	assert_equal "$status" 0
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$PKI/a" "$T/peer.out"
}

@test "tls interop: socat OPENSSL client to listen --tls, both ways" {
	needs socat
	tls_listen srv --cert "$PKI/server.pem" --key "$PKI/server.key" \
	    127.0.0.1 0 <"$PKI/b"
	SRV=$BG_PID
	run_out "$T/got" socat -t 30 STDIO \
	    "OPENSSL:127.0.0.1:$PORT,cafile=$PKI/ca.pem,commonname=localhost" \
	    <"$PKI/a"
	assert_equal "$status" 0
	same_bytes "$PKI/b" "$T/got"
	wait_exit "$SRV"
	assert_equal "$EXIT" 0
	same_bytes "$PKI/a" "$T/srv.out"
}

@test "tls interop: connect --tls --ca to socat OPENSSL-LISTEN, both ways" {
	needs socat
	spawn peer socat -d -d -t 30 \
	    "OPENSSL-LISTEN:0,bind=127.0.0.1,cert=$PKI/server.pem,key=$PKI/server.key,verify=0" \
	    STDIO <"$PKI/b"
	PEER=$BG_PID
	local port
	port=$(listening_port "$PEER")
	run_out "$T/got" sockt connect --tls --ca "$PKI/ca.pem" 127.0.0.1 \
	    "$port" <"$PKI/a"
	assert_equal "$status" 0
	same_bytes "$PKI/b" "$T/got"
	wait_exit "$PEER"
	assert_equal "$EXIT" 0
	same_bytes "$PKI/a" "$T/peer.out"
}
