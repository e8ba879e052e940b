#!/usr/bin/env bash
# Runs the C memory-traffic yardstick (../shared/bench/traffic_bound.c) and `adamw bench optimizer` back to back
# at 32M parameters, on 1 thread and on 2, so the figures come from the same run.
# Usage: Benchmarks/against-yardstick.sh [path/to/traffic_bound.c]
set -euo pipefail
cd "$(dirname "$0")/.."
source=${1:-../shared/bench/traffic_bound.c}
parameters=33554432
mkdir -p .build
cc -O3 -march=native -fno-math-errno -fopenmp "$source" -o .build/traffic_bound -lm
swift build -c release --product adamw >/dev/null
for threads in 1 2; do
    echo "== $threads thread(s)"
    OMP_NUM_THREADS=$threads .build/traffic_bound "$parameters" 7
    .build/release/adamw bench optimizer --parameters "$parameters" --threads "$threads"
done
