#!/usr/bin/env bash
# with-emulator.sh LAKELINK_CLI COMMAND [ARG...]: runs COMMAND against an
# emulator of its own, whose emulator.json is in $LAKELINK_TEST_EMULATOR,
# and stops the emulator after.
set -euo pipefail
cli=$1
shift
state=$(mktemp -d)
"$cli" emulator --state-dir "$state" >"$state/emulator.log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null; wait $emulator 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 600); do
	[ -s "$state/emulator.json" ] && break
	kill -0 $emulator 2>/dev/null || { cat "$state/emulator.log"; exit 1; }
	sleep 0.2
done
LAKELINK_TEST_EMULATOR="$state/emulator.json" "$@"
