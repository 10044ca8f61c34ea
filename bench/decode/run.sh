#!/bin/sh
# Reruns the measurement behind lakelink's batch formats (RESULTS.md):
# the Go encoder writes one batch per candidate format, for two shapes of
# rows, and times itself; the Python and Node decoders time turning each
# batch into native values. Needs go, python3 and node.
#
#   bench/decode/run.sh [DIR]      ROWS=10000 REPS=30 by default
#
# DIR (default: a new temporary directory) receives, per shape, the
# batches and encode.json, python.json, node.json.
set -eu
cd "$(dirname "$0")/../.."
dir=${1:-$(mktemp -d)}
rows=${ROWS:-10000}
reps=${REPS:-30}
echo "go $(go env GOVERSION), $(python3 -c 'import sys; print("python", sys.version.split()[0])'), node $(node --version); $(nproc) CPUs"
for shape in mixed fetch; do
	echo
	echo "== $shape: $rows rows, median and min of $reps runs"
	go run ./bench/decode -out "$dir/$shape" -shape "$shape" -rows "$rows" -reps "$reps"
	python3 bench/decode/decode.py "$dir/$shape" "$reps"
	node bench/decode/decode.js "$dir/$shape" "$reps"
done
echo
echo "batches and figures in $dir"
