#!/usr/bin/python3
"""bench_collapse_torch.py — the anchor of build/bench_collapse: the rank-collapse
stack's forward pass in PyTorch float32 on one thread (SPEC §1.4; the same post-LN BERT
layer as src/experiments/qk_collapse.c: q/k/v/o linears with biases, softmax attention
without a mask, LayerNorm eps 1e-12, GELU (erf form) FFN of width dff).

Run by build/bench_collapse as a coprocess (tools/bench_common.py's protocol), with
OPENBLAS_NUM_THREADS=1 and without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE; alone:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \\
        /usr/bin/python3 tools/bench_collapse_torch.py --alone [--n 128 --d 768 ...]

Cases transformer and san: one forward pass of one sequence under torch.no_grad().
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--dff", type=int, default=3072)
    bench_common.standard_args(ap)
    a = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print("error cannot import torch: %s" % e)
        print("ready")
        return 1
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
        with torch.no_grad():
            for p in layers:
                if variant == "transformer":
                    y = p["ln1"](x + sa(p, x))
                    x = p["ln2"](y + p["w2"](torch.nn.functional.gelu(p["w1"](y))))
                else:  # san
                    x = p["ln1"](sa(p, x))
        return x

    x = torch.randn(n, d)
    cases = [bench_common.Case(v, lambda v=v: forward(x, v)) for v in ("transformer", "san")]
    return bench_common.serve(cases, "torch %s (float32, torch.get_num_threads() = %d)" % (
        torch.__version__, torch.get_num_threads()), a.alone, a.samples, a.min_s)


if __name__ == "__main__":
    sys.exit(main())
