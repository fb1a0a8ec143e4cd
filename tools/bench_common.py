"""bench_common.py — the anchor side of the benchmarks (tools/bench_*.py), shared.

A benchmark script builds its cases (a name and a function that does one call) and
hands them to serve(), which speaks the protocol of tools/bench_common.h over stdin and
stdout, so that the C side takes the anchor's samples interleaved with its own:

    info KEY VALUE            version, blas, core (the OpenBLAS kernel), threads
    ready
    calibrate CASE MIN_S  ->  reps CASE N          N calls last >= MIN_S (CPU time)
    sample CASE N         ->  sample CASE CPU WALL seconds for N calls
    quit
    error MESSAGE             on a failure

The C side starts the script with OPENBLAS_NUM_THREADS=1 and without OPENBLAS_CORETYPE
and OPENBLAS_L2_SIZE, so that OpenBLAS picks its own kernel for this CPU; openblas()
reports which one (threadpoolctl when importable, else openblas_get_corename through
ctypes on the OpenBLAS library mapped into the process).
With --alone a script runs its cases itself: median and best of --samples samples.
"""
import ctypes
import os
import sys
import time


def mapped_blas():
    """The BLAS/LAPACK shared objects mapped into this process (Debian's NumPy and
    PyTorch use the generic libblas.so.3, which the alternatives system points at a
    library: it is read here, not assumed)."""
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and any(k in os.path.basename(parts[5]) for k in ("blas", "lapack", "mkl", "blis")):
                    path = os.path.realpath(parts[5])
                    if path not in libs:
                        libs.append(path)
    except OSError:
        pass
    return libs


def openblas():
    """(description, core, threads) of the OpenBLAS in use; call after the first call
    of the library (it is mapped by then)."""
    try:
        import threadpoolctl
        for d in threadpoolctl.threadpool_info():
            if d.get("internal_api") == "openblas":
                return ("OpenBLAS %s (%s)" % (d.get("version", "?"), d.get("filepath", "?")),
                        d.get("architecture", "?"), str(d.get("num_threads", "?")))
    except Exception:  # not importable, or a version without these fields
        pass
    libs = mapped_blas()
    for path in sorted(libs, key=lambda p: "openblas" not in p):
        if "openblas" not in path:
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_num_threads.restype = ctypes.c_int
            return ("%s (%s)" % (lib.openblas_get_config().decode().strip(), path),
                    lib.openblas_get_corename().decode(), str(lib.openblas_get_num_threads()))
        except (OSError, AttributeError):
            continue
    return (", ".join(libs) if libs else "no BLAS library mapped", "not OpenBLAS", "?")


class Case:
    """One timed operation: fn() does one call."""

    def __init__(self, name, fn):
        self.name, self.fn = name, fn

    def run(self, n):
        fn = self.fn
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            fn()
        return time.process_time() - c0, time.perf_counter() - w0

    def calibrate(self, min_s):
        self.run(1)  # warm-up
        n = 1
        while True:
            c, _ = self.run(n)
            if c >= min_s:
                return n
            n = int(n * min_s * 1.2 / c) + 1 if c > 1e-4 else n * 8


def serve(cases, version, alone=False, samples=7, min_s=0.05):
    """Answers the C side's requests (or, alone, prints median and best per case)."""
    byname = {c.name: c for c in cases}
    for c in cases:  # one call each: the libraries are loaded and mapped now
        c.run(1)
    desc, core, threads = openblas()
    out = sys.stdout
    out.write("info version %s\ninfo blas %s\ninfo core %s\ninfo threads %s\n" % (version, desc, core, threads))
    if alone:
        out.write("OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s OPENBLAS_NUM_THREADS=%s\n" % (
            os.environ.get("OPENBLAS_CORETYPE", "(unset)"), os.environ.get("OPENBLAS_L2_SIZE", "(unset)"),
            os.environ.get("OPENBLAS_NUM_THREADS", "(unset)")))
        reps = {c.name: c.calibrate(min_s) for c in cases}
        times = {c.name: [] for c in cases}
        for _ in range(samples):
            for c in cases:
                times[c.name].append(c.run(reps[c.name])[0] / reps[c.name])
        for c in cases:
            t = sorted(times[c.name])
            n = len(t)
            med = t[n // 2] if n % 2 else 0.5 * (t[n // 2 - 1] + t[n // 2])
            out.write("%-16s median %.6g s  best %.6g s  (CPU time per call, %d samples)\n" % (c.name, med, t[0], n))
        return 0
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        try:
            if w[0] == "quit":
                break
            if w[0] == "calibrate":
                out.write("reps %s %d\n" % (w[1], byname[w[1]].calibrate(float(w[2]))))
            elif w[0] == "sample":
                c, wall = byname[w[1]].run(int(w[2]))
                out.write("sample %s %.9f %.9f\n" % (w[1], c, wall))
            else:
                out.write("error unknown request %s\n" % w[0])
        except Exception as e:  # report, do not leave the C side waiting
            out.write("error %s: %s\n" % (line.strip(), e))
            out.write("reps %s 0\n" % (w[1] if len(w) > 1 else "?"))
        out.flush()
    return 0


def standard_args(ap):
    ap.add_argument("--alone", action="store_true", help="run the cases here and print median and best")
    ap.add_argument("--samples", type=int, default=7)
    ap.add_argument("--min-s", type=float, default=0.05)
