# Loads a checkpoint of `adamw gpt --save` into nanoGPT's model (model.py's module names, written out below in a
# few lines, no nanoGPT checkout needed) with load_state_dict(strict=True), and prints the mean loss over the whole
# validation split cut into consecutive blocks of the context: the figure `adamw gpt` prints as val_loss, now
# computed by PyTorch from the same file. Everything it needs (configuration, vocabulary) is in the file.
# usage: python gpt_checkpoint_in_torch.py CHECKPOINT [TEXT]   (TEXT: the training text, default Tiny Shakespeare)
import json, math, os, struct, sys
import torch, torch.nn as nn, torch.nn.functional as F

path = sys.argv[1]
text_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Data", "tinyshakespeare", "input.txt")
blob = open(path, "rb").read()
(header_size,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + header_size])
meta = header.pop("__metadata__")
data = blob[8 + header_size:]
tensors = {}
for name, entry in header.items():
    begin, end = entry["data_offsets"]
    assert entry["dtype"] == "F32", (name, entry["dtype"])
    tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(entry["shape"])
weights = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
L, H, C, T, V = (int(meta[k]) for k in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size"))
bias = json.loads(meta["bias"])
approximate = "tanh" if meta.get("gelu") == "tanh" else "none"

class CausalSelfAttention(nn.Module):
    def __init__(s):
        super().__init__(); s.c_attn = nn.Linear(C, 3 * C, bias=bias); s.c_proj = nn.Linear(C, C, bias=bias)
    def forward(s, x):
        B, t, _ = x.shape
        q, k, v = (z.view(B, t, H, C // H).transpose(1, 2) for z in s.c_attn(x).split(C, dim=2))
        return s.c_proj(F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, t, C))

class MLP(nn.Module):
    def __init__(s):
        super().__init__(); s.c_fc = nn.Linear(C, 4 * C, bias=bias); s.c_proj = nn.Linear(4 * C, C, bias=bias)
    def forward(s, x): return s.c_proj(F.gelu(s.c_fc(x), approximate=approximate))

class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln_1 = nn.LayerNorm(C, bias=bias); s.attn = CausalSelfAttention()
        s.ln_2 = nn.LayerNorm(C, bias=bias); s.mlp = MLP()
    def forward(s, x):
        x = x + s.attn(s.ln_1(x)); return x + s.mlp(s.ln_2(x))

class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.transformer = nn.ModuleDict(dict(wte=nn.Embedding(V, C), wpe=nn.Embedding(T, C),
                                           h=nn.ModuleList([Block() for _ in range(L)]), ln_f=nn.LayerNorm(C, bias=bias)))
        s.lm_head = nn.Linear(C, V, bias=False)
        if json.loads(meta["tie_weights"]): s.transformer.wte.weight = s.lm_head.weight
    def forward(s, idx, targets):
        x = s.transformer.wte(idx) + s.transformer.wpe(torch.arange(idx.shape[1]))
        for block in s.transformer.h: x = block(x)
        logits = s.lm_head(s.transformer.ln_f(x))
        return F.cross_entropy(logits.view(-1, V), targets.view(-1))

model = GPT()
model.load_state_dict(weights, strict=True)
model.eval()
stoi = {c: i for i, c in enumerate(json.loads(meta["vocabulary"]))}
text = open(text_path, encoding="utf-8").read()
tokens = torch.tensor([stoi[c] for c in text], dtype=torch.long)
val = tokens[int(len(tokens) * 0.9):]
blocks = (len(val) - 1) // T
total = 0.0
with torch.no_grad():
    for start in range(0, blocks, 64):
        rows = range(start, min(blocks, start + 64))
        x = torch.stack([val[i * T:(i + 1) * T] for i in rows]); y = torch.stack([val[i * T + 1:(i + 1) * T + 1] for i in rows])
        total += model(x, y).item() * len(rows)
print(f"torch_val_loss={total / blocks:.4f} iteration={meta.get('iteration')} weights={len(weights)}")
