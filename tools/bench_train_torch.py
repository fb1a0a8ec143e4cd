#!/usr/bin/python3
"""bench_train_torch.py — PyTorch float32 training steps for build/bench_train.

Run by build/bench_train (with OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1); also usable
alone:
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 tools/bench_train_torch.py \\
        [--presets paper,paper-d32] [--min-s 2] [--min-steps 5]

The same model as qkspec's (SPEC §1.2, the `paper` and `paper-d32` presets): token
embedding ×sqrt(d) + sinusoidal positions, L pre-LN blocks (q/k/v/o with biases, causal
softmax attention scaled by 1/sqrt(d_head), ReLU FFN), final LayerNorm, untied output
projection without bias, mean cross-entropy; AdamW (β = 0.9/0.999, ε = 1e-8, weight decay
0.01). A step is zero_grad + forward + backward + AdamW.step, on one thread
(torch.set_num_threads(1)), on one fixed batch of random bytes, as bench_train.c.

Timing: 2 warm-up steps, then steps until --min-s seconds (wall) and --min-steps steps
have passed; the median and the best step time are reported, in process CPU time by
default (robust when other jobs share the machine), and the median wall-clock time.

Output, one item a line (parsed by bench_train.c):
    torch VERSION
    threads N
    config PRESET d=.. T=.. B=.. V=.. L=.. H=.. dff=..
    ms PRESET MEDIAN BEST STEPS WALL   ms per step: median and best in --clock's time
                              (cpu: time.process_time, default; wall), median wall
    blas LIBRARIES            the BLAS libraries mapped at the end
    error MESSAGE
"""
import argparse
import math
import os
import sys
import time

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


def loaded_blas():
    """The BLAS shared objects mapped into this process (torch is built with
    BLAS_INFO=generic on Debian: libblas.so.3, chosen by the alternatives system)."""
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and any(k in parts[5] for k in ("blas", "mkl", "blis")):
                    path = os.path.realpath(parts[5])
                    if path not in libs:
                        libs.append(path)
    except OSError:
        pass
    return ", ".join(libs) if libs else "none mapped"


def bench(torch, name, c, min_s, min_steps, clock):
    torch.manual_seed(20240611)
    model = build(torch, c)
    opt = torch.optim.AdamW(model.parameters(), lr=c["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    tok = torch.randint(0, c["V"], (c["B"], c["T"] + 1))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(tok)
        loss.backward()
        opt.step()
        return loss

    for _ in range(2):
        step()
    times, walls = [], []
    t_start = time.perf_counter()
    while len(times) < min_steps or time.perf_counter() - t_start < min_s:
        w0, t0 = time.perf_counter(), clock()
        loss = step()
        t1, w1 = clock(), time.perf_counter()
        times.append(t1 - t0)
        walls.append(w1 - w0)
    if not math.isfinite(loss.item()):
        raise RuntimeError("non-finite loss")
    return median(times) * 1e3, min(times) * 1e3, len(times), median(walls) * 1e3


def median(x):
    x = sorted(x)
    n = len(x)
    return x[n // 2] if n % 2 else 0.5 * (x[n // 2 - 1] + x[n // 2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="paper,paper-d32")
    ap.add_argument("--min-s", type=float, default=2.0)
    ap.add_argument("--min-steps", type=int, default=5)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="cpu: time.process_time (default), wall: time.perf_counter")
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print("error cannot import torch: %s" % e)
        return 1
    torch.set_num_threads(1)
    print("torch %s" % torch.__version__)
    print("threads %d (OPENBLAS_NUM_THREADS=%s, OMP_NUM_THREADS=%s)" % (
        torch.get_num_threads(), os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        os.environ.get("OMP_NUM_THREADS", "unset")))
    sys.stdout.flush()
    rc = 0
    for name in args.presets.split(","):
        if name not in PRESETS:
            print("error unknown preset %s" % name)
            rc = 1
            continue
        c = PRESETS[name]
        print("config %s d=%d T=%d B=%d V=%d L=%d H=%d dff=%d" % (name, c["d"], c["T"], c["B"], c["V"], c["L"],
                                                                  c["H"], c["dff"]))
        try:
            clock = time.process_time if args.clock == "cpu" else time.perf_counter
            med, best, n, wall = bench(torch, name, c, args.min_s, args.min_steps, clock)
        except Exception as e:  # report, do not crash the C side's parser
            print("error %s: %s" % (name, e))
            rc = 1
            continue
        print("ms %s %.4f %.4f %d %.4f" % (name, med, best, n, wall))
        sys.stdout.flush()
    print("blas %s" % loaded_blas())
    return rc


if __name__ == "__main__":
    sys.exit(main())
