# PyTorch's side of `adamw bench gpt2`: one eager fine-tuning step of a random GPT-2 small (transformers'
# GPT2LMHeadModel(GPT2Config()) with the dropouts at 0, fp32, CPU) on batches of B windows of T tokens: zero_grad,
# forward with the loss, backward, clip_grad_norm_(1.0), AdamW (lr 1e-4, betas (0.9, 0.99), weight decay 0.1 on
# the parameters of 2 or more dimensions, PyTorch's default implementation). Two warm-up steps, then the median of
# STEPS; the peak resident memory is the process's.
# usage: python torch_gpt2_finetune_step.py [THREADS] [B] [T] [STEPS]
import resource, sys, time
import torch
from transformers import GPT2Config, GPT2LMHeadModel

threads, B, T, steps = (int(a) for a in (sys.argv[1:] + ["2", "4", "64", "10"][len(sys.argv) - 1:]))
torch.set_num_threads(threads)
torch.manual_seed(1337)
model = GPT2LMHeadModel(GPT2Config(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)).train()
params = [p for p in model.parameters() if p.requires_grad]
groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
          {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
optimizer = torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.99))
generator = torch.Generator().manual_seed(0)
def step():
    x = torch.randint(0, 50257, (B, T + 1), generator=generator)
    optimizer.zero_grad(set_to_none=True)
    loss = model(x[:, :-1], labels=None).logits
    loss = torch.nn.functional.cross_entropy(loss.reshape(-1, loss.size(-1)), x[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
for _ in range(2):
    step()
times = []
for _ in range(steps):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
median = sorted(times)[len(times) // 2]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"torch gpt2-small B={B} T={T} threads={threads}: step_ms={median * 1000:.1f} tokens_per_s={B * T / median:.0f} peak_rss_mb={peak:.1f}")
