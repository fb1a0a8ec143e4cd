#!/usr/bin/python3
"""bench_eigen.py — NumPy (LAPACK) eigh / eigvalsh timings for build/bench_eigen.

Run by build/bench_eigen (with OPENBLAS_NUM_THREADS=1); also usable alone:
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench_eigen.py [--sizes 32,64,128,256]

Output, one item a line (parsed by bench_eigen.c):
    numpy VERSION
    blas DESCRIPTION           the BLAS/LAPACK library actually mapped at run time
    time OP N SECONDS          OP = eigh | eigvalsh, best time per call

The matrices are the ones bench_eigen.c uses: uniform in [-1, 1), symmetric, from
NumPy's generator (the C side uses its own; timings of both methods depend on the
spectrum only weakly). Timing rule as the C side: best of --samples samples, each
repeating the call until it lasts --min-ms milliseconds, samples interleaved over
the cases; the clock is the process CPU time (time.process_time) unless --wall.
"""
import argparse
import ctypes
import os
import sys
import time


def loaded_blas():
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and any(k in parts[5] for k in ("blas", "lapack", "mkl", "blis")):
                    path = os.path.realpath(parts[5])
                    if path not in libs:
                        libs.append(path)
    except OSError:
        pass
    for path in libs:
        if "openblas" in path:
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                lib.openblas_get_config.restype = ctypes.c_char_p
                nt = lib.openblas_get_num_threads()
                return "%s, core %s, %d thread%s (%s)" % (lib.openblas_get_config().decode().strip(),
                                                        lib.openblas_get_corename().decode(), nt,
                                                        "" if nt == 1 else "s", path)
            except (OSError, AttributeError):
                pass
    return ", ".join(libs) if libs else "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="32,64,128,256")
    ap.add_argument("--samples", type=int, default=9)
    ap.add_argument("--min-ms", type=float, default=30.0)
    ap.add_argument("--wall", action="store_true")
    args = ap.parse_args()
    try:
        import numpy as np
    except ImportError as e:
        print("error numpy not importable: %s" % e)
        return 1
    clock = time.perf_counter if args.wall else time.process_time
    print("numpy %s" % np.__version__)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    rng = np.random.default_rng(20240303)
    cases = []
    for n in sizes:
        a = rng.uniform(-1.0, 1.0, (n, n))
        a = np.triu(a) + np.triu(a, 1).T
        for name, fn in (("eigh", np.linalg.eigh), ("eigvalsh", np.linalg.eigvalsh)):
            fn(a)
            reps = 1
            while True:
                t0 = clock()
                for _ in range(reps):
                    fn(a)
                dt = clock() - t0
                if dt >= args.min_ms * 1e-3:
                    break
                reps = int(reps * args.min_ms * 1e-3 * 1.3 / dt) + 1 if dt > 1e-4 else reps * 8
            cases.append([name, n, fn, a, reps, float("inf")])
    for _ in range(args.samples):
        for c in cases:
            name, n, fn, a, reps = c[:5]
            t0 = clock()
            for _ in range(reps):
                fn(a)
            c[5] = min(c[5], (clock() - t0) / reps)
    print("blas %s" % loaded_blas())
    for name, n, _, _, _, best in cases:
        print("time %s %d %.9f" % (name, n, best))
    return 0


if __name__ == "__main__":
    sys.exit(main())
