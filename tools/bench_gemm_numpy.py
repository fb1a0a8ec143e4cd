#!/usr/bin/python3
"""bench_gemm_numpy.py — the anchor of build/bench_gemm: NumPy float32 matmul.

Run by build/bench_gemm as a coprocess (tools/bench_common.py's protocol), with
OPENBLAS_NUM_THREADS=1 and without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE; alone:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        /usr/bin/python3 tools/bench_gemm_numpy.py --alone

Cases (as bench_gemm.c): nn64 nn128 nn512 nt512 tn512 — C = op(A)·op(B), n x n,
entries uniform in [-1, 1), written into a preallocated C (np.matmul(..., out=C)).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    bench_common.standard_args(ap)
    args = ap.parse_args()
    try:
        import numpy as np
    except ImportError as e:
        print("error numpy not importable: %s" % e)
        print("ready")
        return 1
    cases = []
    for op, n in [("nn", 64), ("nn", 128), ("nn", 512), ("nt", 512), ("tn", 512)]:
        rng = np.random.default_rng(20240611)
        a = rng.random((n, n), dtype=np.float32) * 2 - 1
        b = rng.random((n, n), dtype=np.float32) * 2 - 1
        c = np.empty((n, n), dtype=np.float32)
        x = a.T if op[0] == "t" else a
        y = b.T if op[1] == "t" else b
        cases.append(bench_common.Case("%s%d" % (op, n), lambda x=x, y=y, c=c: np.matmul(x, y, out=c)))
    return bench_common.serve(cases, "numpy " + np.__version__, args.alone, args.samples, args.min_s)


if __name__ == "__main__":
    sys.exit(main())
