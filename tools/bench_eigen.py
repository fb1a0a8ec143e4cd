#!/usr/bin/python3
"""bench_eigen.py — the anchor of build/bench_eigen: NumPy's eigh and eigvalsh (LAPACK
dsyevd / dsyevd without vectors, through OpenBLAS, one thread).

Run by build/bench_eigen as a coprocess (tools/bench_common.py's protocol), with
OPENBLAS_NUM_THREADS=1 and without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE; alone:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        /usr/bin/python3 tools/bench_eigen.py --alone [--sizes 32,64,128,256]

Cases eigh_N and eigvalsh_N: a symmetric matrix with entries uniform in [-1, 1) from
NumPy's generator (bench_eigen.c draws its own; the timings of both methods depend on
the spectrum only weakly).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="32,64,128,256")
    bench_common.standard_args(ap)
    args = ap.parse_args()
    try:
        import numpy as np
    except ImportError as e:
        print("error numpy not importable: %s" % e)
        print("ready")
        return 1
    rng = np.random.default_rng(20240303)
    cases = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        a = rng.uniform(-1.0, 1.0, (n, n))
        a = np.triu(a) + np.triu(a, 1).T
        cases.append(bench_common.Case("eigh_%d" % n, lambda a=a: np.linalg.eigh(a)))
        cases.append(bench_common.Case("eigvalsh_%d" % n, lambda a=a: np.linalg.eigvalsh(a)))
    return bench_common.serve(cases, "numpy " + np.__version__, args.alone, args.samples, args.min_s)


if __name__ == "__main__":
    sys.exit(main())
