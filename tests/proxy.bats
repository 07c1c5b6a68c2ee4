#!/usr/bin/env bats
# --proxy, --proxy-type, --proxy-auth: the client side, through proxies
# that are not sockt (tests/proxypeer.py) (design section 7, issue 16).

bats_require_minimum_version 1.5.0

load helper

# peer NAME TYPE [USER:PASS]: tests/proxypeer.py in the background; sets
# $PPORT.  What it saw is in $T/NAME.port.log.
peer() {
	local name=$1
	shift
	spawn "$name" python3 "$BATS_TEST_DIRNAME/proxypeer.py" "$1" \
	    "$T/$name.port" "${@:2}"
	PPORT=$(wait_port "$T/$name.port")
}

@test "proxy: connect --proxy through a SOCKS5 proxy with auth: exact bytes both ways, the name goes to the proxy" {
	random_file "$T/a" 2000000
	random_file "$T/b" 1000000
	peer p5 socks5 'ann:pw'
	spawn_listen dst 127.0.0.1 0 <"$T/b"
	local dst=$BG_PID
	run_out "$T/got" sockt connect --proxy "127.0.0.1:$PPORT" --proxy-auth ann:pw localhost "$PORT" <"$T/a"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	wait_exit "$dst"
	same_bytes "$T/a" "$T/dst.out"
	same_bytes "$T/b" "$T/got"
	run cat "$T/p5.port.log"
	assert_output $'auth ok\nsocks5 CONNECT localhost:'"$PORT"
}

@test "proxy: connect --proxy-type http through an HTTP CONNECT proxy with Basic auth: exact bytes both ways" {
	random_file "$T/a" 1000000
	random_file "$T/b" 2000000
	peer ph http 'ann:pw'
	spawn_listen dst 127.0.0.1 0 <"$T/b"
	local dst=$BG_PID
	run_out "$T/got" sockt connect --proxy "127.0.0.1:$PPORT" --proxy-type http --proxy-auth ann:pw 127.0.0.1 "$PORT" <"$T/a"
	assert_equal "$status" 0
	wait_exit "$dst"
	same_bytes "$T/a" "$T/dst.out"
	same_bytes "$T/b" "$T/got"
	run cat "$T/ph.port.log"
	assert_output $'auth ok\nhttp CONNECT 127.0.0.1:'"$PORT"
}

@test "proxy: --proxy-type socks4 sends an IPv4 address, or a name as SOCKS4a; http:// in --proxy sets the type" {
	peer p4 socks4
	spawn_listen d1 127.0.0.1 0 </dev/null
	run sockt connect --proxy "127.0.0.1:$PPORT" --proxy-type socks4 127.0.0.1 "$PORT" <<<"one"
	assert_success
	spawn_listen d2 127.0.0.1 0 </dev/null
	run sockt connect --proxy "socks4a://127.0.0.1:$PPORT" localhost "$PORT" <<<"two"
	assert_success
	wait_until -- test -s "$T/d2.out"
	run cat "$T/d1.out" "$T/d2.out"
	assert_output $'one\ntwo'
	run grep -c 'socks4 CONNECT' "$T/p4.port.log"
	assert_output 2
	run grep -c 'socks4 CONNECT localhost:' "$T/p4.port.log"
	assert_output 1
	peer ph http
	spawn_listen d3 127.0.0.1 0 </dev/null
	run sockt connect --proxy "http://127.0.0.1:$PPORT" 127.0.0.1 "$PORT" <<<"three"
	assert_success
	run cat "$T/ph.port.log"
	assert_output "http CONNECT 127.0.0.1:$PORT"
}

@test "proxy: a wrong password, a missing one, a refused target and a dead proxy are one line naming the proxy, exit 1" {
	peer p5 socks5 'ann:pw'
	peer ph http 'ann:pw'
	local dead
	dead=$(free_port)
	spawn_listen dst 127.0.0.1 0 </dev/null
	run --separate-stderr sockt connect --proxy "127.0.0.1:$(cat "$T/p5.port")" --proxy-auth ann:no 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:[0-9]+: authentication failed \(SOCKS5 username/password status 1\)$"
	run --separate-stderr sockt connect --proxy "127.0.0.1:$(cat "$T/p5.port")" 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:[0-9]+: the proxy requires authentication \(--proxy-auth\)$"
	run --separate-stderr sockt connect --proxy "127.0.0.1:$PPORT" --proxy-type http --proxy-auth ann:no 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:$PPORT: HTTP 407 Proxy Authentication Required$"
	run --separate-stderr sockt connect --proxy "127.0.0.1:$(cat "$T/p5.port")" --proxy-auth ann:pw 127.0.0.1 "$dead" </dev/null
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:[0-9]+: connection to target refused \(SOCKS5 reply 5\)$"
	run --separate-stderr sockt connect --proxy "127.0.0.1:$PPORT" --proxy-type http --proxy-auth ann:pw 127.0.0.1 "$dead" </dev/null
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:$PPORT: HTTP 502 Bad Gateway$"
	run --separate-stderr sockt connect --proxy "127.0.0.1:$dead" 127.0.0.1 "$PORT" </dev/null
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:$dead: Connection refused$"
}

@test "proxy: a proxy that says nothing is bounded by -w" {
	py_listen_bg mute '
c = accept_one(PORTFILE)
wait_for("done", 60)'
	run --separate-stderr sockt connect -w 1 --proxy "127.0.0.1:$PORT" 127.0.0.1 9 </dev/null
	one_line_error 1 "^sockt: proxy 127\.0\.0\.1:$PORT: the handshake did not finish in time$"
	touch "$T/done"
}

@test "proxy: bytes the target sends right after the proxy's reply are not lost" {
	peer p5 socks5
	py_listen_bg dst '
c = accept_one(PORTFILE)
c.sendall(b"banner\n")
c.close()'
	run sockt connect --proxy "127.0.0.1:$PPORT" 127.0.0.1 "$PORT" </dev/null
	assert_success
	assert_output "banner"
}

@test "proxy: exec --connect --proxy runs its program against a target reached through the proxy" {
	peer p5 socks5 'ann:pw'
	spawn_listen dst 127.0.0.1 0 <<<"hello through"
	local dst=$BG_PID
	run --separate-stderr sockt exec --connect --proxy "127.0.0.1:$PPORT" --proxy-auth ann:pw 127.0.0.1 "$PORT" -- tr a-z A-Z
	assert_equal "$status" 0
	wait_exit "$dst"
	run cat "$T/dst.out"
	assert_output "HELLO THROUGH"
}

@test "proxy: forward's target side through --proxy; the proxy resolves TARGET" {
	random_file "$T/a" 1000000
	peer p5 socks5 'ann:pw'
	spawn_listen dst 127.0.0.1 0 </dev/null
	local dst=$BG_PID
	spawn fw "$SOCKT" forward -v --port-file "$T/fw.port" --proxy "127.0.0.1:$PPORT" --proxy-auth ann:pw 127.0.0.1 0 "localhost:$PORT"
	local fport
	fport=$(wait_port "$T/fw.port")
	run_out "$T/got" sockt connect 127.0.0.1 "$fport" <"$T/a"
	assert_equal "$status" 0
	wait_exit "$dst"
	same_bytes "$T/a" "$T/dst.out"
	run cat "$T/p5.port.log"
	assert_output $'auth ok\nsocks5 CONNECT localhost:'"$PORT"
}

@test "proxy: forward --proxy-server chained through an upstream --proxy" {
	peer ph http
	spawn_listen dst 127.0.0.1 0 <<<"reply"
	spawn px "$SOCKT" forward --proxy-server --port-file "$T/px.port" --proxy "127.0.0.1:$PPORT" --proxy-type http 0
	local xport
	xport=$(wait_port "$T/px.port")
	run sockt connect --proxy "127.0.0.1:$xport" localhost "$PORT" <<<"request"
	assert_success
	assert_output "reply"
	run cat "$T/ph.port.log"
	assert_output "http CONNECT localhost:$PORT"
}

@test "proxy: usage errors exit 2 with one line" {
	run --separate-stderr sockt connect --proxy-type socks5 127.0.0.1 1
	one_line_error 2 "^sockt: --proxy-type needs --proxy "
	run --separate-stderr sockt connect --proxy 127.0.0.1 --proxy-type gopher 127.0.0.1 1
	one_line_error 2 "^sockt: bad --proxy-type 'gopher': expected socks5, socks4 or http "
	run --separate-stderr sockt connect --proxy-auth a:b 127.0.0.1 1
	one_line_error 2 "^sockt: --proxy-auth needs --proxy or --proxy-server "
	run --separate-stderr sockt connect --proxy 127.0.0.1 --proxy-type socks4 --proxy-auth a:b 127.0.0.1 1
	one_line_error 2 "^sockt: cannot use proxy credentials with socks4 \(it has no passwords\) "
	run --separate-stderr sockt connect --proxy 127.0.0.1:0 127.0.0.1 1
	one_line_error 2 "^sockt: bad proxy '127\.0\.0\.1:0': port 0 "
	run --separate-stderr sockt connect --proxy 'ftp://127.0.0.1' 127.0.0.1 1
	one_line_error 2 "^sockt: bad proxy 'ftp://127\.0\.0\.1': unsupported scheme "
	run --separate-stderr sockt connect --proxy 'http://127.0.0.1' --proxy-type socks5 127.0.0.1 1
	one_line_error 2 "^sockt: bad proxy 'http://127\.0\.0\.1': the scheme contradicts --proxy-type socks5 "
	run --separate-stderr sockt connect --proxy 127.0.0.1 -U "$T/s"
	one_line_error 2 "^sockt: cannot use --proxy with -U "
	run --separate-stderr sockt exec --proxy 127.0.0.1 0 -- cat
	one_line_error 2 "^sockt: --proxy needs --connect "
	run --separate-stderr sockt forward --proxy 127.0.0.1 0 "$T/unix.sock"
	one_line_error 2 "^sockt: cannot use --proxy with a Unix socket TARGET "
}

# penv VAR=VALUE... -- SCHEME HOST: what proxy_from_env() picks with only
# these variables set (tests/proxyenv.c, built by make check).
penv() {
	local vars=()
	while [ "$1" != -- ]; do vars+=("$1"); shift; done
	shift
	run --separate-stderr env -i "${vars[@]}" \
	    "${PROXYENV:-$BATS_TEST_DIRNAME/proxyenv}" "$@"
}

@test "proxy: the environment as curl reads it: http_proxy lowercase only, https_proxy, all_proxy, empty is unset" {
	penv http_proxy=p1:8080 -- http example.com
	assert_output "http p1 8080"
	penv HTTP_PROXY=p1:8080 -- http example.com
	assert_output "none"
	penv HTTPS_PROXY=socks5://u:pw@p2 -- https example.com
	assert_output "socks5 p2 1080 u:pw"
	penv https_proxy=p3 HTTPS_PROXY=p4 -- https example.com
	assert_output "http p3 3128"
	penv http_proxy=p3 -- https example.com
	assert_output "none"
	penv all_proxy='socks4a://[::1]:9' -- http example.com
	assert_output "socks4 ::1 9"
	penv ALL_PROXY=p5:1 -- https example.com
	assert_output "http p5 1"
	penv https_proxy= all_proxy=p6:2 -- https example.com
	assert_output "http p6 2"
	penv -- https example.com
	assert_output "none"
}

@test "proxy: no_proxy and NO_PROXY as curl reads them: *, domain suffixes, ports ignored, any case" {
	local hosts='foo.org, .example.com:8080 [::1]:80'
	penv http_proxy=p:1 no_proxy="$hosts" -- http www.example.com
	assert_output "none"
	penv http_proxy=p:1 no_proxy="$hosts" -- http EXAMPLE.com
	assert_output "none"
	penv http_proxy=p:1 no_proxy="$hosts" -- http badexample.com
	assert_output "http p 1"
	penv http_proxy=p:1 no_proxy="$hosts" -- http foo.org.
	assert_output "none"
	penv http_proxy=p:1 no_proxy="$hosts" -- http '[::1]'
	assert_output "none"
	penv http_proxy=p:1 no_proxy="$hosts" -- http org
	assert_output "http p 1"
	penv http_proxy=p:1 NO_PROXY=example.com -- http a.b.example.com
	assert_output "none"
	penv http_proxy=p:1 no_proxy='*' -- http anything
	assert_output "none"
	penv http_proxy=p:1 no_proxy='*.example.com' -- http www.example.com
	assert_output "http p 1"
}

@test "proxy: a proxy variable that does not parse is one line naming it" {
	penv http_proxy=ftp://x -- http example.com
	assert_equal "$status" 2
	assert_equal "$stderr" "proxyenv: http_proxy: bad proxy 'ftp://x': unsupported scheme (socks5, socks4, socks4a or http)"
	penv ALL_PROXY=socks4://u:p@x -- http example.com
	assert_equal "$status" 2
	assert_equal "$stderr" "proxyenv: ALL_PROXY: cannot use proxy credentials with socks4 (it has no passwords)"
}
