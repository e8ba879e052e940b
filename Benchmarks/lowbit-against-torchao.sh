#!/usr/bin/env bash
# `adamw bench optimizer --states bf16,int8,int4` (each next to float32 states in the same run) and torchao's CPU
# AdamW8bit and AdamW4bit plus PyTorch's fused float32 AdamW (Benchmarks/torchao_lowbit_step.py) back to back, at
# 32M parameters on 2 threads. The torchao side is skipped when its Python cannot import torchao. Then the
# in-cache (compute-bound) rate of each storage on one core, and what table lookups alone cost on this CPU
# (Benchmarks/lookup_ceiling.c, when a C compiler is present): the ceiling they put on any 8-bit kernel.
# Usage: [PYTHON=/path/to/venv/bin/python] Benchmarks/lowbit-against-torchao.sh [parameters]
set -euo pipefail
cd "$(dirname "$0")/.."
parameters=${1:-33554432}
python=${PYTHON:-python3}
threads=2
swift build -c release --product adamw >/dev/null
echo "== adamw, $threads threads"
.build/release/adamw bench optimizer --states bf16,int8,int4 --parameters "$parameters" --threads "$threads"
echo "== torchao and PyTorch, $threads threads"
if "$python" -c "import torchao.optim" 2>/dev/null; then
    "$python" Benchmarks/torchao_lowbit_step.py "$parameters" "$threads" 2>/dev/null
else
    echo "skipped: $python cannot import torchao (pip install torch torchao; set PYTHON)"
fi
echo "== in cache (131072 parameters), 1 thread: each kernel's compute ceiling a core"
.build/release/adamw bench optimizer --states bf16,int8,int4 --parameters 131072 --threads 1 | grep summary
echo "== table lookups on this CPU"
if command -v cc >/dev/null; then
    cc -O2 -march=native Benchmarks/lookup_ceiling.c -o .build/lookup_ceiling && .build/lookup_ceiling "$threads"
else
    echo "skipped: no C compiler (cc)"
fi
