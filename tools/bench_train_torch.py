#!/usr/bin/python3
"""bench_train_torch.py — the anchor of build/bench_train: the same training step in
PyTorch float32 on one thread.

Run by build/bench_train as a coprocess (tools/bench_common.py's protocol), with
OPENBLAS_NUM_THREADS=1 and without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE; alone:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        /usr/bin/python3 tools/bench_train_torch.py --alone [--presets paper,paper-d32]

The same model as qkspec's (SPEC §1.2, the `paper` and `paper-d32` presets): token
embedding ×sqrt(d) + sinusoidal positions, L pre-LN blocks (q/k/v/o with biases, causal
softmax attention scaled by 1/sqrt(d_head), ReLU FFN), final LayerNorm, untied output
projection without bias, mean cross-entropy; AdamW (β = 0.9/0.999, ε = 1e-8, weight decay
0.01). A case (named by its preset) is one step: zero_grad + forward + backward +
AdamW.step, on one fixed batch of random bytes, on one thread (torch.set_num_threads(1)),
as bench_train.c's step.
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common  # noqa: E402

PRESETS = {  # as qk_model_preset() in src/model/qk_model.c
    "paper": dict(V=256, d=128, H=1, dff=128, L=1, T=64, B=64, lr=2.5e-5),
    "paper-d32": dict(V=256, d=32, H=1, dff=32, L=1, T=64, B=64, lr=1e-4),
}


def build(torch, c):
    nn = torch.nn
    F = torch.nn.functional
    d, H, T = c["d"], c["H"], c["T"]
    dh = d // H

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(d, eps=1e-5)
            self.q = nn.Linear(d, d)
            self.k = nn.Linear(d, d)
            self.v = nn.Linear(d, d)
            self.o = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d, eps=1e-5)
            self.fc1 = nn.Linear(d, c["dff"])
            self.fc2 = nn.Linear(c["dff"], d)
            g = 1.0 / math.sqrt(2.0)
            for lin, gain in ((self.q, g), (self.k, g), (self.v, g), (self.o, 1.0), (self.fc1, 1.0),
                              (self.fc2, 1.0)):
                nn.init.xavier_uniform_(lin.weight, gain=gain)
                nn.init.zeros_(lin.bias)

        def forward(self, x, mask):
            B = x.shape[0]
            h = self.ln1(x)
            q = self.q(h).view(B, T, H, dh).transpose(1, 2)
            k = self.k(h).view(B, T, H, dh).transpose(1, 2)
            v = self.v(h).view(B, T, H, dh).transpose(1, 2)
            s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
            s = s.masked_fill(mask, float("-inf"))
            a = torch.softmax(s, dim=-1)
            o = torch.matmul(a, v).transpose(1, 2).reshape(B, T, d)
            x = x + self.o(o)
            return x + self.fc2(F.relu(self.fc1(self.ln2(x))))

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(c["V"], d)
            nn.init.normal_(self.wte.weight, std=d ** -0.5)
            self.blocks = nn.ModuleList([Block() for _ in range(c["L"])])
            self.lnf = nn.LayerNorm(d, eps=1e-5)
            self.wout = nn.Linear(d, c["V"], bias=False)
            nn.init.normal_(self.wout.weight, std=d ** -0.5)
            half = d // 2
            step = math.log(10000.0) / (half - 1)
            f = torch.exp(torch.arange(half, dtype=torch.float64) * -step)
            a = (torch.arange(T, dtype=torch.float64) + 2.0)[:, None] * f[None, :]
            self.register_buffer("pos", torch.cat([torch.sin(a), torch.cos(a)], dim=1).float())
            self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1))
            self.scale = math.sqrt(d)

        def forward(self, tok):
            x = self.wte(tok[:, :T]) * self.scale + self.pos
            for blk in self.blocks:
                x = blk(x, self.mask)
            logits = self.wout(self.lnf(x))
            return F.cross_entropy(logits.reshape(-1, c["V"]), tok[:, 1:].reshape(-1))

    return LM()


def make_step(torch, c):
    torch.manual_seed(20240611)
    model = build(torch, c)
    opt = torch.optim.AdamW(model.parameters(), lr=c["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    tok = torch.randint(0, c["V"], (c["B"], c["T"] + 1))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(tok)
        loss.backward()
        opt.step()
        if not math.isfinite(loss.item()):
            raise RuntimeError("non-finite loss")

    step()  # the optimizer's state exists from here on
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="paper,paper-d32")
    bench_common.standard_args(ap)
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print("error cannot import torch: %s" % e)
        print("ready")
        return 1
    torch.set_num_threads(1)
    cases = []
    for name in args.presets.split(","):
        if name not in PRESETS:
            print("error unknown preset %s" % name)
            continue
        cases.append(bench_common.Case(name, make_step(torch, PRESETS[name])))
    return bench_common.serve(cases, "torch %s (float32, torch.get_num_threads() = %d)" % (
        torch.__version__, torch.get_num_threads()), args.alone, args.samples, args.min_s)


if __name__ == "__main__":
    sys.exit(main())
