#!/usr/bin/python3
"""bench_collapse_torch.py — PyTorch timing of the rank-collapse stack's forward pass
for build/bench_collapse (SPEC §1.4; the same post-LN BERT layer as
src/experiments/qk_collapse.c: q/k/v/o linears with biases, softmax attention without
a mask, LayerNorm eps 1e-12, GELU (erf form) FFN of width dff).

Run by build/bench_collapse with OPENBLAS_NUM_THREADS=1 (also usable alone):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench_collapse_torch.py [--n 128 --d 768 ...]

Output, one item a line (parsed by bench_collapse.c):
    torch VERSION
    blas DESCRIPTION
    threads N
    seconds VARIANT BEST_SECONDS      VARIANT = transformer, san
Timing rule as bench_collapse.c: best of --samples forward passes of one sequence, in
float32 under torch.no_grad() (inference mode), after one warm-up pass.
"""
import argparse
import os
import sys
import time


def loaded_blas():
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                b = os.path.basename(p)
                if ("blas" in b or "mkl" in b) and p not in libs:
                    libs.append(p)
    except OSError:
        pass
    return ", ".join(os.path.basename(p) for p in libs) or "unknown (linked into libtorch)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--dff", type=int, default=3072)
    ap.add_argument("--samples", type=int, default=5)
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(1)
    n, d, H, L, F = a.n, a.d, a.heads, a.layers, a.dff
    dh = d // H

    def lin(o, i):
        m = torch.nn.Linear(i, o)
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
        torch.nn.init.zeros_(m.bias)
        return m

    layers = []
    for _ in range(L):
        layers.append(dict(q=lin(d, d), k=lin(d, d), v=lin(d, d), o=lin(d, d),
                           ln1=torch.nn.LayerNorm(d, eps=1e-12), w1=lin(F, d), w2=lin(d, F),
                           ln2=torch.nn.LayerNorm(d, eps=1e-12)))

    def sa(p, x):
        q = p["q"](x).view(n, H, dh).transpose(0, 1)
        k = p["k"](x).view(n, H, dh).transpose(0, 1)
        v = p["v"](x).view(n, H, dh).transpose(0, 1)
        att = torch.softmax(q @ k.transpose(1, 2) / (dh ** 0.5), dim=-1)
        return p["o"]((att @ v).transpose(0, 1).reshape(n, d))

    def forward(x, variant):
        for p in layers:
            if variant == "transformer":
                y = p["ln1"](x + sa(p, x))
                x = p["ln2"](y + p["w2"](torch.nn.functional.gelu(p["w1"](y))))
            else:  # san
                x = p["ln1"](sa(p, x))
        return x

    x = torch.randn(n, d)
    print("torch %s" % torch.__version__)
    print("threads %d" % torch.get_num_threads())
    with torch.no_grad():
        for variant in ("transformer", "san"):
            forward(x, variant)  # warm-up
            best = float("inf")
            for _ in range(a.samples):
                t0 = time.perf_counter()
                forward(x, variant)
                best = min(best, time.perf_counter() - t0)
            print("seconds %s %.6f" % (variant, best))
    print("blas %s" % loaded_blas())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
