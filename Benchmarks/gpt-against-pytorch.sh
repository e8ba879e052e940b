#!/usr/bin/env bash
# `adamw gpt` against PyTorch (../shared/bench/torch_nanogpt_char.py) on nanoGPT's Tiny Shakespeare CPU recipe, side
# by side in one run on 2 threads: per seed, milliseconds per iteration (ours counts every training iteration,
# evaluations excluded; PyTorch's script leaves out its first), the ratio, and the whole-split val_loss of each; then
# the mean val_loss over the seeds; then nanoGPT's full configuration (6 layers, 6 heads, 384 wide, context 256,
# batch 64, dropout 0.2) for --full-iters iterations; then our peak GEMM rate, for the fraction each pass reaches.
# Our checkpoint of the first seed is also loaded into nanoGPT's model by PyTorch (Benchmarks/gpt_checkpoint_in_torch.py),
# which must print the same val_loss. PyTorch's side is skipped when its Python cannot import torch.
# Usage: [PYTHON=/path/to/venv/bin/python] Benchmarks/gpt-against-pytorch.sh [--seeds "0 1 2"] [--iters 2000]
#        [--full-iters 20] [--script path/to/torch_nanogpt_char.py]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="0 1 2"; iters=2000; full_iters=20; script=../shared/bench/torch_nanogpt_char.py
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds=$2; shift 2 ;;
        --iters) iters=$2; shift 2 ;;
        --full-iters) full_iters=$2; shift 2 ;;
        --script) script=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
python=${PYTHON:-python3}
threads=2
swift build -c release --product adamw >/dev/null
adamw=.build/release/adamw
torch=no
if "$python" -c "import torch" 2>/dev/null; then torch=yes; else echo "PyTorch skipped: $python cannot import torch (set PYTHON)"; fi
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ours_losses=(); torch_losses=()
for seed in $seeds; do
    echo "== recipe, seed $seed, $iters iterations, $threads threads"
    out=$("$adamw" gpt --seed "$seed" --iters "$iters" --eval-interval "$iters" --threads "$threads" --no-progress \
          --save "$work/seed$seed.safetensors")
    grep -E '^(timing|summary) ' <<<"$out"
    summary=$(grep '^summary ' <<<"$out")
    ours_ms=$(field "$summary" ms_per_iter); ours_losses+=("$(field "$summary" val_loss)")
    if [ "$torch" = yes ]; then
        theirs=$("$python" "$script" --seed "$seed" --iters "$iters" --threads "$threads" 2>/dev/null | grep '^summary ')
        echo "pytorch $theirs"
        torch_ms=$(field "$theirs" steady_ms_per_iter); torch_losses+=("$(field "$theirs" val_loss)")
        awk -v a="$ours_ms" -v b="$torch_ms" 'BEGIN { printf "ratio seed='"$seed"' ms_per_iter ours/pytorch=%.2f (goal <= 0.5)\n", a / b }'
    fi
done
mean() { printf '%s\n' "$@" | awk '{ s += $1; n++ } END { printf "%.4f", s / n }'; }
echo "mean val_loss over seeds ($seeds): ours=$(mean "${ours_losses[@]}") (goal <= 1.93)" \
     "${torch_losses:+pytorch=$(mean "${torch_losses[@]}")}"
if [ "$torch" = yes ]; then
    first=$(awk '{ print $1 }' <<<"$seeds")
    echo "== our seed-$first checkpoint, evaluated by PyTorch in nanoGPT's model"
    "$python" Benchmarks/gpt_checkpoint_in_torch.py "$work/seed$first.safetensors" 2>/dev/null
fi

echo "== nanoGPT's full configuration, $full_iters iterations, $threads threads"
full=(--layers 6 --heads 6 --embedding 384 --context 256 --batch-size 64 --dropout 0.2)
out=$("$adamw" gpt "${full[@]}" --iters "$full_iters" --eval-interval "$full_iters" --threads "$threads" --no-progress)
grep -E '^(timing|summary) ' <<<"$out"
ours_ms=$(field "$(grep '^summary ' <<<"$out")" ms_per_iter)
if [ "$torch" = yes ]; then
    theirs=$("$python" "$script" --layers 6 --heads 6 --embd 384 --block 256 --batch 64 --dropout 0.2 \
             --iters "$full_iters" --eval-batches 2 --threads "$threads" 2>/dev/null | grep '^summary ')
    echo "pytorch $theirs"
    torch_ms=$(field "$theirs" steady_ms_per_iter)
    awk -v a="$ours_ms" -v b="$torch_ms" 'BEGIN { printf "ratio full ms_per_iter ours/pytorch=%.2f\n", a / b }'
fi

echo "== peak: our GEMM on 2048x2048x2048, $threads threads (the fraction of it each pass above reaches)"
"$adamw" bench gemm --size 2048 --threads "$threads" --no-numpy | grep '^summary '
