#!/usr/bin/env bash
# Decay toward the pretrained weights against decay toward zero when fine-tuning (docs/adam-vs-adamw.md). The text is
# cut in two: the first 90% of Tiny Shakespeare ("old") and the last 10% ("new", which the base model never sees);
# with NEW_TEXT=file the new text is that file instead, without the characters the old text lacks (the model's
# vocabulary is the old text's).
# A base model trains on the old text with nanoGPT's recipe (2000 iterations); each fine-tune starts from it on the
# new text (`adamw gpt --init-from`, 500 iterations, lr 3e-4 falling to 3e-5) with weight decay λ toward zero or
# toward the base's weights (`--decay-to initial`). Each line gives both texts' validation losses (the mean over the
# whole validation split, `summary val_loss`): the new text's after fine-tuning, and the old text's, which measures
# forgetting (evaluated by a run of one step at lr 0 on the old text, which leaves the weights as they are).
# About 20 minutes on 2 cores.
# Usage: Benchmarks/decay-toward-pretrained.sh [λ ...]   (default: 0.1 1 10 30; λ = 0 is run once)
# ADAMW=path runs that adamw instead of building this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
adamw=${ADAMW:-}
if [ -z "$adamw" ]; then
    swift build -c release --product adamw >/dev/null
    adamw=.build/release/adamw
fi
lambdas=("$@")
[ ${#lambdas[@]} -gt 0 ] || lambdas=(0.1 1 10 30)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
text=Data/tinyshakespeare/input.txt
cut=$(( $(wc -c < "$text") * 9 / 10 ))
head -c "$cut" "$text" > "$work/old.txt"
if [ -n "${NEW_TEXT:-}" ]; then
    python3 -c 'import sys; keep = set(open(sys.argv[1]).read()); sys.stdout.write("".join(c for c in open(sys.argv[2]).read() if c in keep))' \
        "$work/old.txt" "$NEW_TEXT" > "$work/new.txt"
else
    tail -c +"$((cut + 1))" "$text" > "$work/new.txt"
fi
echo "old text: $(wc -c < "$work/old.txt") bytes; new text: $(wc -c < "$work/new.txt") bytes"
val_loss() { awk '/^summary / { for (i = 1; i <= NF; i++) if ($i ~ /^val_loss=/) { sub("val_loss=", "", $i); print $i } }'; }
"$adamw" gpt --data "$work/old.txt" --iters 2000 --eval-interval 2000 --save "$work/base.safetensors" --no-progress >/dev/null
base_new=$("$adamw" gpt --init-from "$work/base.safetensors" --data "$work/new.txt" --iters 1 --lr 0 --min-lr 0 \
    --warmup 0 --eval-interval 1 --no-progress | val_loss)
base_old=$("$adamw" gpt --init-from "$work/base.safetensors" --data "$work/old.txt" --iters 1 --lr 0 --min-lr 0 \
    --warmup 0 --eval-interval 1 --no-progress | val_loss)
echo "base model: new text val_loss=$base_new old text val_loss=$base_old"
finetune() {  # λ, target
    local tuned="$work/tuned.safetensors"
    rm -f "$tuned"
    local new old
    new=$("$adamw" gpt --init-from "$work/base.safetensors" --data "$work/new.txt" --iters 500 --lr 0.0003 \
        --min-lr 0.00003 --warmup 50 --weight-decay "$1" --decay-to "$2" --eval-interval 500 --save "$tuned" \
        --no-progress | val_loss)
    old=$("$adamw" gpt --init-from "$tuned" --data "$work/old.txt" --iters 1 --lr 0 --min-lr 0 --warmup 0 \
        --eval-interval 1 --no-progress | val_loss)
    echo "fine-tuned λ=$1 decay_to=$2: new text val_loss=$new old text val_loss=$old"
}
finetune 0 zero
for lambda in "${lambdas[@]}"; do
    finetune "$lambda" zero
    finetune "$lambda" initial
done
