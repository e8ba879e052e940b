# torchao's CPU AdamW8bit and AdamW4bit (and PyTorch's fused float32 AdamW) over one parameter of N elements: the
# anchor of `adamw bench optimizer --states`. Prints one summary line per optimizer.
# usage: python torchao_lowbit_step.py [N] [threads]
import sys, time
import torch
from torchao.optim import AdamW8bit, AdamW4bit

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 25
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(threads)
for name, make in [("adamw8bit", lambda p: AdamW8bit([p], lr=1e-3)), ("adamw4bit", lambda p: AdamW4bit([p], lr=1e-3)),
                   ("adamw-fused-fp32", lambda p: torch.optim.AdamW([p], lr=1e-3, fused=True))]:
    p = torch.nn.Parameter(torch.ones(n))
    p.grad = (torch.rand(n) - 0.5) * 2e-3
    opt = make(p)
    opt.step()  # state creation, and torch.compile's first call for torchao
    opt.step()
    steps, start = 0, time.perf_counter()
    while steps < 3 or time.perf_counter() - start < 2:
        opt.step()
        steps += 1
    seconds = (time.perf_counter() - start) / steps
    print(f"summary torch={name} parameters={n} threads={threads} gparams_per_s={n / seconds / 1e9:.3f}", flush=True)
