# PyTorch's side of the fine-tuning quality comparison: the same run as
#   adamw gpt train --from-pretrained FOLDER --iters ITERS --batch-size B --context T --warmup W
# in transformers: GPT2LMHeadModel.from_pretrained(FOLDER), Tiny Shakespeare cut at 90% of its characters and each part
# encoded by the folder's GPT2Tokenizer, the same batches (adamw's xoshiro256** generator seeded 1337, offsets drawn as
# adamw draws them), nanoGPT's get_lr (linear warm-up, cosine from 1e-3 to 1e-4 at ITERS), AdamW with betas
# (0.9, 0.99) and weight decay 0.1 on the parameters of 2 or more dimensions, clip_grad_norm_(1.0). Prints the mean
# loss over the whole validation split cut into consecutive blocks of T (adamw's val_loss) before and after.
# usage: python torch_gpt2_finetune_quality.py FOLDER [ITERS] [B] [T] [W] [TEXT]
import math, os, sys
import torch
from transformers import GPT2LMHeadModel, GPT2Tokenizer

folder = sys.argv[1]
iters, B, T, warmup = (int(a) for a in (sys.argv[2:6] + ["50", "4", "64", "5"][len(sys.argv[2:6]):]))
text_path = sys.argv[6] if len(sys.argv) > 6 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Data", "tinyshakespeare", "input.txt")
torch.set_num_threads(2)
M = (1 << 64) - 1

class Xoshiro:  # adamw's RandomGenerator: SplitMix64 seeding, xoshiro256**
    def __init__(self, seed):
        mix, self.s = seed, []
        for _ in range(4):
            mix = (mix + 0x9E3779B97F4A7C15) & M
            z = mix
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
            self.s.append(z ^ (z >> 31))
    def next(self):
        s = self.s
        r = (((s[1] * 5) & M) << 7 | ((s[1] * 5) & M) >> 57) & M
        r = (r * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & M
        return r

tokenizer = GPT2Tokenizer.from_pretrained(folder)
text = open(text_path, encoding="utf-8").read()
cut = int(len(text) * 0.9)
train, val = tokenizer.encode(text[:cut]), tokenizer.encode(text[cut:])
model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32)

def val_loss():
    model.eval()
    blocks, total = (len(val) - 1) // T, 0.0
    with torch.no_grad():
        for start in range(0, blocks, 64):
            rows = range(start, min(start + 64, blocks))
            x = torch.tensor([val[r * T:(r + 1) * T] for r in rows]); y = torch.tensor([val[r * T + 1:(r + 1) * T + 1] for r in rows])
            logits = model(x).logits
            total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)).item() * len(rows)
    model.train()
    return total / blocks

def lr_at(it, lr=1e-3, min_lr=1e-4):
    if it < warmup: return lr * (it + 1) / (warmup + 1)
    if it > iters or iters <= warmup: return min_lr
    return min_lr + 0.5 * (1 + math.cos(math.pi * (it - warmup) / (iters - warmup))) * (lr - min_lr)

before = val_loss()
params = list(model.parameters())
optimizer = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
                               {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
random, starts = Xoshiro(1337), len(train) - T
for it in range(iters):
    for group in optimizer.param_groups: group["lr"] = lr_at(it)
    offsets = [random.next() % starts for _ in range(B)]
    x = torch.tensor([train[o:o + T] for o in offsets]); y = torch.tensor([train[o + 1:o + T + 1] for o in offsets])
    optimizer.zero_grad(set_to_none=True)
    logits = model(x).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
print(f"torch val_loss_before={before:.6f} val_loss_after={val_loss():.6f} iters={iters}")
