#!/usr/bin/env bash
# Fine-tunes the tiny Hugging Face GPT-2 of the tests (or FOLDER) on Tiny Shakespeare for 50 iterations with
# `adamw gpt train --from-pretrained` and the same run in transformers (Benchmarks/torch_gpt2_finetune_quality.py:
# the same batches, schedule, AdamW groups and clipping), and prints both validation losses (the whole split in
# blocks of the context) and their difference (goal: within 1e-3). PyTorch's side needs $PYTHON with torch and
# transformers.
# Usage: [PYTHON=/path/to/venv/bin/python] Benchmarks/gpt2-finetune-quality.sh [FOLDER] [ITERS]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
folder=${1:-Tests/Fixtures/pytorch/gpt2_tiny}
iters=${2:-50}
swift build -c release --product adamw >/dev/null
ours=$(.build/release/adamw gpt train --from-pretrained "$folder" --iters "$iters" --batch-size 4 --context 64 --warmup 5 \
    --eval-interval "$iters" --no-progress | grep '^summary')
echo "adamw $ours"
if ! "$python" -c "import torch, transformers" 2>/dev/null; then
    echo "PyTorch skipped: $python cannot import torch and transformers (set PYTHON)"; exit 0
fi
theirs=$("$python" Benchmarks/torch_gpt2_finetune_quality.py "$folder" "$iters" 4 64 5 2>/dev/null | tail -1)
echo "$theirs"
a=$(sed -n 's/.* val_loss=\([0-9.]*\).*/\1/p' <<<"$ours"); b=$(sed -n 's/.*val_loss_after=\([0-9.]*\).*/\1/p' <<<"$theirs")
echo "difference of the validation losses after $iters iterations: $(awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.4f", d }') (goal <= 0.001)"
