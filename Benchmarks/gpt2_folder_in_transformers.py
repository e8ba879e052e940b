# Loads a folder written by `adamw gpt train --save-pretrained` with Hugging Face transformers'
# GPT2LMHeadModel.from_pretrained and GPT2Tokenizer.from_pretrained, and prints the mean loss over the whole
# validation split cut into consecutive blocks of the context: the figure `adamw gpt` prints as val_loss, computed by
# transformers from the folder alone (its config, weights and tokenizer files). The split is nanoGPT's: the last 10%
# of the text's characters, tokenized on their own.
# usage: python gpt2_folder_in_transformers.py FOLDER [TEXT] [CONTEXT]   (defaults: Tiny Shakespeare, 64)
import os, sys
import torch
from transformers import GPT2LMHeadModel, GPT2Tokenizer

folder = sys.argv[1]
text_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Data", "tinyshakespeare", "input.txt")
context = int(sys.argv[3]) if len(sys.argv) > 3 else 64
model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()
tokenizer = GPT2Tokenizer.from_pretrained(folder)
text = open(text_path, encoding="utf-8").read()
ids = tokenizer.encode(text[int(len(text) * 0.9):])
blocks = (len(ids) - 1) // context
total = 0.0
with torch.no_grad():
    for start in range(0, blocks, 64):
        rows = range(start, min(start + 64, blocks))
        x = torch.tensor([ids[r * context:(r + 1) * context] for r in rows])
        y = torch.tensor([ids[r * context + 1:(r + 1) * context + 1] for r in rows])
        logits = model(x).logits
        total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)).item() * len(rows)
print(f"transformers val_loss={total / blocks:.4f} blocks={blocks} tokens={len(ids)}")
