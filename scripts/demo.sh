#!/usr/bin/env bash
# The demo: examples/hello, then examples/http served from a mote guest and fetched from the
# host through a published port. It keeps serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
mote=bin/mote
port=${MOTE_DEMO_PORT:-8080}

echo "== examples/hello"
$mote run -e GREETING=hello ./examples/hello -- world

echo
echo "== examples/http on http://127.0.0.1:$port/"
$mote run -p "127.0.0.1:$port:8080" ./examples/http &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
	if body=$(curl -fsS -m 2 "http://127.0.0.1:$port/demo" 2>/dev/null); then
		echo "curl http://127.0.0.1:$port/demo -> $body"
		echo "The guest keeps serving at http://127.0.0.1:$port/ ; press Ctrl-C to stop it."
		wait $pid || true
		exit 0
	fi
	if ! kill -0 $pid 2>/dev/null; then
		echo "demo: the guest stopped before answering" >&2
		exit 1
	fi
	sleep 0.2
done
echo "demo: no answer from the guest within a minute" >&2
exit 1
