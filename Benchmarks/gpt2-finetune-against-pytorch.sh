#!/usr/bin/env bash
# A fine-tuning step of GPT-2 small (124M, B=4, T=64, fp32, AdamW, 2 threads) with `adamw bench gpt2` and with
# PyTorch's eager step on the same shapes (Benchmarks/torch_gpt2_finetune_step.py), back to back, so the ratio comes
# from one run; then the peak resident memory of the same step with int8 states against fp32 (each its own
# process). PyTorch's side is skipped when its Python ($PYTHON) cannot import torch and transformers.
# For scale, llm.c's CPU reference (train_gpt2.c) reports about 1.3-1.45 s a step at B=4, T=64 on an 8-thread laptop.
# Usage: [PYTHON=/path/to/venv/bin/python] Benchmarks/gpt2-finetune-against-pytorch.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
steps=${1:-10}
threads=2
swift build -c release --product adamw >/dev/null
echo "== speed: adamw against PyTorch eager, $threads threads"
ours=$(.build/release/adamw bench gpt2 --threads "$threads" --steps "$steps")
echo "$ours"
if "$python" -c "import torch, transformers" 2>/dev/null; then
    theirs=$("$python" Benchmarks/torch_gpt2_finetune_step.py "$threads" 4 64 "$steps")
    echo "$theirs"
    a=$(sed -n 's/.*step_ms=\([0-9.]*\).*/\1/p' <<<"$ours"); b=$(sed -n 's/.*step_ms=\([0-9.]*\).*/\1/p' <<<"$theirs")
    echo "ratio adamw/torch step time: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }') (goal <= 0.5)"
else
    echo "PyTorch skipped: $python cannot import torch and transformers (set PYTHON)"
fi
echo "== memory: int8 states against fp32"
fp32=$(.build/release/adamw bench gpt2 --threads "$threads" --steps 3 --states fp32)
int8=$(.build/release/adamw bench gpt2 --threads "$threads" --steps 3 --states int8)
echo "$fp32"; echo "$int8"
a=$(sed -n 's/.*peak_rss_mb=\([0-9.]*\).*/\1/p' <<<"$int8"); b=$(sed -n 's/.*peak_rss_mb=\([0-9.]*\).*/\1/p' <<<"$fp32")
echo "ratio peak resident int8/fp32: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }') (goal <= 0.7)"
