#!/usr/bin/env bash
# Times a small sweep (16 cells, one epoch each) two ways, to choose how experiments use the processors:
# whole runs side by side on single-threaded pools (--jobs 2), or one run at a time on two threads (--jobs 1).
# Usage: Benchmarks/experiment-parallelism.sh [repeats=3]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
swift build -c release --product adamw >/dev/null
out=$(mktemp -d)
for run in $(seq 1 "$repeats"); do
    for jobs in 2 1; do
        start=$(date +%s.%N)
        .build/release/adamw sweep --grid 4x4 --epochs 1 --out "$out" --no-progress --jobs "$jobs" >/dev/null
        end=$(date +%s.%N)
        echo "run $run --jobs $jobs: $(awk "BEGIN { printf \"%.2f\", $end - $start }") s"
    done
done
rm -rf "$out"
