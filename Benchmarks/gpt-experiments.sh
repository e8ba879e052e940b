#!/usr/bin/env bash
# The GPT runs of docs/adam-vs-adamw.md, each timed: the decay report, the comparison on the whole text and on
# a short one (where validation loss rises without decay), the sweeps and the tuners. About 45 minutes on 2 cores.
# Usage: Benchmarks/gpt-experiments.sh [output folder, default results/gpt-experiments]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/gpt-experiments}
swift build -c release --product adamw >/dev/null
adamw=.build/release/adamw
mkdir -p "$out"
run() {
    local name=$1; shift
    local start end
    start=$(date +%s.%N)
    "$adamw" "$@" --out "$out/$name" --no-progress > "$out/$name.txt"
    end=$(date +%s.%N)
    printf '%s: %.0f s wall\n' "$name" "$(echo "$end - $start" | bc)" | tee -a "$out/wall-times.txt"
}
run decay-report decay-report --task gpt
run decay-report-all decay-report --task gpt --decay-all
run compare-full compare --task gpt --iters 1000
run compare-short compare --task gpt --train-chars 20000 --iters 1500 --eval-interval 100 \
    --adam-wd-grid 0,1e-3,1e-2,1e-1 --adamw-wd-grid 0,1,3,10 --sgd-wd-grid 0,1e-4,1e-3,1e-2
run sweep-short sweep --task gpt --train-chars 20000 --iters 1000
run sweep-short-schedule sweep --task gpt --optimizer adamw --decay-convention schedule --train-chars 20000 --iters 1000
run tune-adamw tune --task gpt --optimizer adamw --train-chars 20000 --iters 1000 --trials 12
run tune-adam tune --task gpt --optimizer adam --train-chars 20000 --iters 1000 --trials 12
run tune-mnist-adamw tune --optimizer adamw --trials 16
run tune-mnist-adam tune --optimizer adam --trials 16
