#!/usr/bin/python3
"""bench_gemm_numpy.py — NumPy float32 matmul GFLOP/s for build/bench_gemm.

Run by build/bench_gemm (with OPENBLAS_NUM_THREADS=1); also usable alone:
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench_gemm_numpy.py

Output, one item a line (parsed by bench_gemm.c):
    numpy VERSION
    blas DESCRIPTION          the BLAS actually loaded at run time
    gflops KEY VALUE          KEY = nn64 nn128 nn512 nt512 tn512

Same cases and timing rule as bench_gemm.c: best of --samples samples, each
repeating the product until it lasts --min-ms milliseconds, taken in rounds over
all cases; GFLOP/s = 2 n^3 / t.
Debian builds NumPy against the generic libblas.so.3, so numpy.show_config()
names "blas"; which library that is (reference BLAS or OpenBLAS) is decided by
the alternatives system, so it is read from the process's mapped libraries.
"""
import argparse
import ctypes
import os
import sys
import time


def loaded_blas():
    """Describe the BLAS shared objects mapped into this process."""
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and ("blas" in parts[5] or "mkl" in parts[5] or "blis" in parts[5]):
                    path = os.path.realpath(parts[5])
                    if path not in libs:
                        libs.append(path)
    except OSError:
        pass
    desc = ", ".join(libs) if libs else "unknown (no BLAS library mapped)"
    for path in sorted(libs, key=lambda p: "libopenblas" not in p):
        if "openblas" not in path:
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_num_threads.restype = ctypes.c_int
            core = lib.openblas_get_corename().decode()
            conf = lib.openblas_get_config().decode().strip()
            nt = lib.openblas_get_num_threads()
            return "%s, core %s, %d thread%s (%s)" % (
                conf, core, nt, "" if nt == 1 else "s", path)
        except (OSError, AttributeError):
            pass
    if any("openblas" not in p and "blas" in p for p in libs):
        return "reference BLAS? " + desc
    return desc


class Case:
    """One product op(A)·op(B) of n x n float32 matrices, timed like bench_gemm.c."""

    def __init__(self, np, op, n, min_s):
        rng = np.random.default_rng(20240611)
        a = rng.random((n, n), dtype=np.float32) * 2 - 1
        b = rng.random((n, n), dtype=np.float32) * 2 - 1
        self.np, self.n, self.key = np, n, "%s%d" % (op, n)
        self.c = np.empty((n, n), dtype=np.float32)
        self.x = a.T if op[0] == "t" else a
        self.y = b.T if op[1] == "t" else b
        self.run(1)  # warm-up
        self.reps = 1
        while True:  # calibrate: one sample lasts >= min_s
            dt = self.run(self.reps)
            if dt >= min_s:
                break
            self.reps = int(self.reps * min_s * 1.2 / dt) + 1 if dt > 1e-4 else self.reps * 8
        self.best = 0.0

    def run(self, reps):
        np, x, y, c = self.np, self.x, self.y, self.c
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(x, y, out=c)
        return time.perf_counter() - t0

    def sample(self):
        g = 2.0 * self.n ** 3 * self.reps / self.run(self.reps) * 1e-9
        self.best = max(self.best, g)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=7)
    ap.add_argument("--min-ms", type=float, default=20.0)
    args = ap.parse_args()
    try:
        import numpy as np
    except ImportError as e:
        print("error numpy not importable: %s" % e)
        return 1
    print("numpy %s" % np.__version__)
    sys.stdout.flush()
    cases = [Case(np, op, n, args.min_ms * 1e-3)
             for op, n in [("nn", 64), ("nn", 128), ("nn", 512), ("nt", 512), ("tn", 512)]]
    for _ in range(args.samples):  # rounds over all cases, as in bench_gemm.c
        for case in cases:
            case.sample()
    print("blas %s" % loaded_blas())  # after the products: the library is mapped by now
    for case in cases:
        print("gflops %s %.3f" % (case.key, case.best))
    return 0


if __name__ == "__main__":
    sys.exit(main())
