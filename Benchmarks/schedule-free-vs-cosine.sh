#!/usr/bin/env bash
# Schedule-Free AdamW against AdamW with nanoGPT's warm-up and cosine, on nanoGPT's Tiny Shakespeare recipe
# (docs/adam-vs-adamw.md): the validation loss that `adamw gpt` prints at 500, 1000 and 2000 iterations (its estimate
# over 20 fixed batches). Schedule-Free needs one run of 2000 iterations for all three budgets; AdamW+cosine one run
# per budget (the cosine ends at --iters). Three seeds (1337, 1, 2) at the lrs in SEEDED_LRS (default: the recipe's
# 1e-3, and 4e-3 and 8e-3, where the default sweep finds each optimizer's best), one seed (1337) at the others.
# About 50 minutes on 2 cores for the defaults.
# Usage: Benchmarks/schedule-free-vs-cosine.sh [lr ...]   (default: 0.0005 0.001 0.002 0.004 0.008 0.016)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product adamw >/dev/null
adamw=.build/release/adamw
lrs=("$@")
[ ${#lrs[@]} -gt 0 ] || lrs=(0.0005 0.001 0.002 0.004 0.008 0.016)
seeded=" ${SEEDED_LRS:-0.001 0.004 0.008} "
for lr in "${lrs[@]}"; do
    seeds=(1337)
    [[ "$seeded" == *" $lr "* ]] && seeds=(1337 1 2)
    for seed in "${seeds[@]}"; do
        losses=$("$adamw" gpt --optimizer adamw-schedulefree --lr "$lr" --iters 2000 --eval-interval 500 --seed "$seed" \
            --no-progress | awk '/^step (500|1000|2000):/ { printf " %s", $NF }')
        echo "schedule-free lr=$lr seed=$seed val@500,1000,2000:$losses"
        losses=""
        for iters in 500 1000 2000; do
            losses+=$("$adamw" gpt --lr "$lr" --iters "$iters" --eval-interval "$iters" --seed "$seed" --no-progress \
                | awk -v it="$iters" '$1 == "step" && $2 == it ":" { printf " %s", $NF }')
        done
        echo "adamw+cosine  lr=$lr seed=$seed val@500,1000,2000:$losses"
    done
done
