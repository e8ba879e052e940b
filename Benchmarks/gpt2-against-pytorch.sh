#!/usr/bin/env bash
# Runs one AdamW step over GPT-2 small's parameter list (148 tensors, 124,439,808 params, nanoGPT's two groups)
# with `adamw bench optimizer --model gpt2-small` and with PyTorch (../shared/bench/torch_gpt2_step_bench.py:
# fused, foreach and for-loop) back to back on 2 threads, so the figures come from the same run. PyTorch's side is
# skipped when its Python cannot import torch.
# Usage: [PYTHON=/path/to/venv/bin/python] Benchmarks/gpt2-against-pytorch.sh [path/to/torch_gpt2_step_bench.py]
set -euo pipefail
cd "$(dirname "$0")/.."
script=${1:-../shared/bench/torch_gpt2_step_bench.py}
python=${PYTHON:-python3}
threads=2
swift build -c release --product adamw >/dev/null
echo "== adamw, $threads threads"
.build/release/adamw bench optimizer --model gpt2-small --threads "$threads"
echo "== PyTorch, $threads threads"
if "$python" -c "import torch" 2>/dev/null; then
    "$python" "$script" "$threads"
else
    echo "skipped: $python cannot import torch (set PYTHON to a Python that can)"
fi
