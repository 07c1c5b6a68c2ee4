#!/bin/sh
# tests/demo.sh - a self-contained loopback demo of sockt: a listener on a
# free port, a client sending 20 MB both ways, checksums compared.
set -eu
SOCKT=${SOCKT:-"$(dirname "$0")/../src/sockt"}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT INT TERM

head -c 20000000 /dev/urandom >"$dir/a"
head -c 20000000 /dev/urandom >"$dir/b"
"$SOCKT" listen -v --port-file "$dir/port" 0 <"$dir/a" >"$dir/b.got" &
pid=$!
until [ -s "$dir/port" ]; do sleep 0.05; done
port=$(cat "$dir/port")
echo "demo: listener is up on port $port; sending 20 MB each way at once"
"$SOCKT" connect -v 127.0.0.1 "$port" <"$dir/b" >"$dir/a.got"
wait $pid
for f in a b; do
	want=$(sha256sum <"$dir/$f" | cut -c1-16)
	got=$(sha256sum <"$dir/$f.got" | cut -c1-16)
	echo "demo: $f: sent $want received $got"
	[ "$want" = "$got" ] || { echo "demo: MISMATCH" >&2; exit 1; }
done
echo "demo: every byte arrived, both directions"
