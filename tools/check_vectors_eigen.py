#!/usr/bin/python3
"""check_vectors_eigen.py — independence check of the eigen ops (SPEC §3), float64.

Imported by tools/check_vectors.py, which merges CHECKS = {op: fn} (fn(case) ->
Verdict or (ok, detail)). Also runnable alone:

    /usr/bin/python3 tools/check_vectors_eigen.py [FILE.qkv ...]   (default vectors/eigen.qkv)

Nothing here comes from the C code base: references are NumPy/LAPACK (eigvalsh, eigh,
svd, qr in float64), a 60-digit Jacobi in Python's decimal module (for n <= 16, the
exact eigenvalues of the stored binary64 input), and a Python transcription of the
generator (xoshiro256** + Marsaglia polar with math.log) for the Haar cases.

Every input is first scaled by an exact power of two so that max|a_ij| is in [1, 2):
the C solver does the same, and NumPy then never meets overflow or underflow. With
eps = 2^-52, n the order (L = max(rows, cols) for the SVD) and ‖A‖ the spectral norm:

  eigh, eigvalsh   ascending; |w_i - ref_i| <= 4·n·eps·‖A‖ with ref the decimal
                   Jacobi (n <= 16) or LAPACK's eigvalsh; for the graded cases (name
                   contains "graded") also |w_i - ref_i| <= 64·n·eps·|ref_i| (relative
                   accuracy, Demmel–Veselić; LAPACK's relative error is reported for
                   contrast). Vectors: ‖A v_i - w_i v_i‖_inf <= 4·n·eps·‖A‖,
                   |V V^T - I|_max <= 4·n·eps, largest-magnitude component of each row
                   positive (the documented sign), and for eigenvalues separated by a
                   gap g_i > 1e-6·‖A‖ the vector agrees with LAPACK's up to sign within
                   8·n·eps·‖A‖/g_i + 4·n·eps.
  svd              descending, >= 0; |s_i - ref_i| <= 4·L·eps·s_0 (ref: decimal
                   eigenvalues of A A^T or A^T A for k <= 16, else LAPACK); graded:
                   relative 64·L·eps·s_i; ‖A - U S Vt‖_max <= 4·L·eps·‖A‖; U, Vt
                   orthonormal within 4·L·eps; each Vt row's largest component > 0.
  svdvals          s as for svd; stats = [spectral norm, stable rank, numerical rank]:
                   stats[0] == s[0] bit for bit, stable rank sum (s_i/s_0)^2 within
                   4·k·eps, rank = #{s_i > max(r,c)·eps·s_0} exactly, and equal to
                   numpy.linalg.matrix_rank(A).
  spectral_norm_power  the same iterations in NumPy (v = Wu/|Wu|, u = W^T v/|W^T v|,
                   sigma = v^T W u): |sigma - ref| <= 16·(iters+1)·L·eps·‖W‖, u, v
                   within 16·(iters+1)·L·eps·‖W‖/gap-free bound 1e-10, and sigma <=
                   ‖W‖(1 + 4·L·eps).
  haar             G drawn as the C code does (row by row); Q·diag(sign r_ii) from
                   numpy.linalg.qr(G^T) is the unique QR factor with positive
                   diagonal, so |Q - Q_ref|_max <= 64·n·eps·cond(G); and
                   |Q Q^T - I|_max <= 4·n·eps.
"""

import math
import os
import sys
from decimal import Decimal, localcontext

import numpy as np

EPS = 2.0 ** -52

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from check_vectors import _Xoshiro  # the project's generator, shared with the other checks  # noqa: E402

try:  # the main checker's Verdict carries the worst |error|/tolerance ratio
    from check_vectors import Verdict
except Exception:  # standalone use
    class Verdict(tuple):
        def __new__(cls, ok, detail, worst=None, notes=None, remarks=None):
            t = tuple.__new__(cls, (bool(ok), detail))
            t.worst, t.notes, t.remarks = worst, notes or {}, remarks or []
            return t


class _Report:
    def __init__(self, case):
        self.case, self.fails, self.worst, self.remarks = case, [], 0.0, []

    def bound(self, what, err, tol):
        err = float(err)
        tol = float(tol)
        ratio = err / tol if tol > 0 else (0.0 if err == 0 else math.inf)
        self.worst = max(self.worst, ratio)
        if not ratio <= 1.0:
            self.fails.append("%s: error %.3g > tolerance %.3g" % (what, err, tol))

    def require(self, cond, msg):
        if not cond:
            self.fails.append(msg)

    def verdict(self):
        name = self.case["name"]
        if self.fails:
            return Verdict(False, "  case %s: " % name + "; ".join(self.fails[:6]), self.worst)
        return Verdict(True, "", self.worst, remarks=self.remarks)


def _scale_exp(a):
    """e with max|a| * 2^-e in [1, 2) (0 for a zero array)."""
    m = float(np.max(np.abs(a))) if a.size else 0.0
    if m == 0.0:
        return 0
    return math.frexp(m)[1] - 1


def _spec_norm(a):
    return float(np.linalg.norm(a, 2)) if a.size else 0.0


# ---------------------------------------------------------------- 60-digit Jacobi
def _decimal_jacobi(b):
    """Eigenvalues (ascending) of the symmetric matrix b (lists of Decimals, changed in
    place) by cyclic Jacobi at 60 digits."""
    n = len(b)
    with localcontext() as ctx:
        ctx.prec = 60
        big = max((abs(x) for row in b for x in row), default=Decimal(0))
        floor = big * Decimal("1e-250")  # far below every graded entry; ends zero-diagonal cases
        for _ in range(80):
            rot = 0
            for p in range(n - 1):
                for q in range(p + 1, n):
                    apq = b[p][q]
                    if apq == 0 or abs(apq) <= floor:
                        continue
                    app, aqq = b[p][p], b[q][q]
                    if abs(apq) <= Decimal("1e-52") * abs(app).sqrt() * abs(aqq).sqrt():
                        continue
                    rot += 1
                    theta = (aqq - app) / (2 * apq)
                    t = (1 if theta >= 0 else -1) / (abs(theta) + (theta * theta + 1).sqrt())
                    c = 1 / (t * t + 1).sqrt()
                    s = t * c
                    rp, rq = b[p], b[q]
                    for k in range(n):
                        x, y = rp[k], rq[k]
                        rp[k], rq[k] = c * x - s * y, s * x + c * y
                    for k in range(n):
                        row = b[k]
                        x, y = row[p], row[q]
                        row[p], row[q] = c * x - s * y, s * x + c * y
                    b[p][q] = b[q][p] = Decimal(0)
            if rot == 0:
                break
        return sorted(b[i][i] for i in range(n))


def decimal_eigvalsh(a):
    """Eigenvalues (ascending) of the symmetric float64 matrix a, to ~50 digits
    (independent of everything in the C code)."""
    n = a.shape[0]
    return _decimal_jacobi([[Decimal(float(a[i, j])) for j in range(n)] for i in range(n)])


def _rel(x, ref):
    """|x - ref| / |ref| with ref a Decimal (0 if both are 0)."""
    d = abs(Decimal(float(x)) - ref)
    return float(d / abs(ref)) if ref != 0 else (0.0 if d == 0 else math.inf)


# ---------------------------------------------------------------- eigh / eigvalsh
def _check_eig(case, vectors):
    r = _Report(case)
    a = case["inputs"]["A"]
    w = case["outputs"]["w"]
    n = a.shape[0]
    r.require(a.shape == (n, n) and w.shape == (n,), "shapes")
    r.require(np.array_equal(a, a.T), "input not symmetric")
    e = _scale_exp(a)
    As, ws = np.ldexp(a, -e), np.ldexp(w, -e)
    anorm = _spec_norm(As)
    r.require(bool(np.all(np.diff(w) >= 0)), "eigenvalues not ascending")
    graded = "graded" in case["name"]
    if n <= 16:
        ref = decimal_eigvalsh(As)
        for i in range(n):
            r.bound("w[%d] vs 60-digit Jacobi" % i, abs(Decimal(float(ws[i])) - ref[i]), 4 * n * EPS * anorm)
            if graded:
                r.bound("w[%d] relative" % i, _rel(ws[i], ref[i]), 64 * n * EPS)
        if graded:
            lap = np.linalg.eigvalsh(As)
            worst_lap = max(_rel(lap[i], ref[i]) for i in range(n))
            worst_qk = max(_rel(ws[i], ref[i]) for i in range(n))
            r.remarks.append("%s: max relative error qkspec %.2g, LAPACK eigvalsh %.2g (smallest |w| %.3g of %.3g)"
                             % (case["name"], worst_qk, worst_lap, float(min(abs(x) for x in ref)),
                                float(max(abs(x) for x in ref))))
    else:
        ref = np.linalg.eigvalsh(As)
        r.bound("w vs LAPACK eigvalsh", np.max(np.abs(ws - ref)), 4 * n * EPS * anorm)
    if vectors:
        v = case["outputs"]["V"]
        r.require(v.shape == (n, n), "V shape")
        res = np.max(np.abs(As @ v.T - v.T * ws[None, :])) if n else 0.0
        r.bound("residual |A v - w v|", res, 4 * n * EPS * max(anorm, 1e-300))
        r.bound("orthogonality |V V^T - I|", np.max(np.abs(v @ v.T - np.eye(n))), 4 * n * EPS)
        for i in range(n):
            k = int(np.argmax(np.abs(v[i])))
            r.require(v[i, k] > 0, "V row %d: largest component negative (sign convention)" % i)
        if anorm > 0:
            wl, vl = np.linalg.eigh(As)
            for i in range(n):
                gap = min([abs(ws[i] - ws[j]) for j in range(n) if j != i], default=math.inf)
                if gap > 1e-6 * anorm:
                    d = min(np.max(np.abs(v[i] - vl[:, i])), np.max(np.abs(v[i] + vl[:, i])))
                    r.bound("vector %d vs LAPACK (up to sign)" % i, d, 8 * n * EPS * anorm / gap + 4 * n * EPS)
    return r.verdict()


def check_eigh(case):
    return _check_eig(case, True)


def check_eigvalsh(case):
    return _check_eig(case, False)


# ---------------------------------------------------------------- SVD
def _svd_values_check(r, case, a, s):
    rows, cols = a.shape
    k, L = min(rows, cols), max(rows, cols)
    e = _scale_exp(a)
    As, ss = np.ldexp(a, -e), np.ldexp(s, -e)
    r.require(s.shape == (k,), "s shape")
    r.require(bool(np.all(s >= 0)) and bool(np.all(np.diff(s) <= 0)), "singular values not descending / negative")
    smax = float(ss[0]) if k else 0.0
    if k <= 16:
        # the Gram matrix in decimal, exactly from the float64 entries
        with localcontext() as ctx:
            ctx.prec = 60
            dA = [[Decimal(float(x)) for x in row] for row in As]
            if rows <= cols:
                gm = [[sum(dA[i][l] * dA[j][l] for l in range(cols)) for j in range(rows)] for i in range(rows)]
            else:
                gm = [[sum(dA[l][i] * dA[l][j] for l in range(rows)) for j in range(cols)] for i in range(cols)]
        with localcontext() as ctx:
            ctx.prec = 60
            ref = [x.sqrt() if x > 0 else Decimal(0) for x in reversed(_decimal_jacobi(gm))]
        for i in range(k):
            r.bound("s[%d] vs 60-digit reference" % i, abs(Decimal(float(ss[i])) - ref[i]), 4 * L * EPS * smax)
            if "graded" in case["name"] and ref[i] > 0:
                r.bound("s[%d] relative" % i, _rel(ss[i], ref[i]), 64 * L * EPS)
    else:
        ref = np.linalg.svd(As, compute_uv=False)
        r.bound("s vs LAPACK svd", np.max(np.abs(ss - ref)), 4 * L * EPS * smax)
    return As, ss


def check_svd(case):
    r = _Report(case)
    a = case["inputs"]["A"]
    s, u, vt = case["outputs"]["s"], case["outputs"]["U"], case["outputs"]["Vt"]
    rows, cols = a.shape
    k, L = min(rows, cols), max(rows, cols)
    r.require(u.shape == (rows, k) and vt.shape == (k, cols), "U/Vt shapes")
    As, ss = _svd_values_check(r, case, a, s)
    anorm = _spec_norm(As)
    r.bound("reconstruction |A - U S Vt|", np.max(np.abs(As - (u * ss[None, :]) @ vt)), 4 * L * EPS * max(anorm, 1e-300))
    r.bound("U^T U - I", np.max(np.abs(u.T @ u - np.eye(k))), 4 * L * EPS)
    r.bound("Vt Vt^T - I", np.max(np.abs(vt @ vt.T - np.eye(k))), 4 * L * EPS)
    for i in range(k):
        j = int(np.argmax(np.abs(vt[i])))
        r.require(vt[i, j] > 0, "Vt row %d: largest component negative (sign convention)" % i)
    return r.verdict()


def check_svdvals(case):
    r = _Report(case)
    a = case["inputs"]["A"]
    s, st = case["outputs"]["s"], case["outputs"]["stats"]
    rows, cols = a.shape
    k = min(rows, cols)
    _svd_values_check(r, case, a, s)
    r.require(st.shape == (3,), "stats shape")
    r.require(st[0] == s[0], "spectral norm %r != s[0] %r" % (st[0], s[0]))
    if s[0] > 0:
        sr = float(np.sum((s / s[0]) ** 2))
        r.bound("stable rank", abs(st[1] - sr), 4 * k * EPS * sr)
    rank = int(np.sum(s > max(rows, cols) * EPS * s[0])) if s[0] > 0 else 0
    r.require(st[2] == rank, "numerical rank %r, recount %d" % (st[2], rank))
    r.require(st[2] == np.linalg.matrix_rank(a), "numerical rank %r, numpy matrix_rank %d"
              % (st[2], np.linalg.matrix_rank(a)))
    return r.verdict()


# ---------------------------------------------------------------- power iteration
def check_power(case):
    r = _Report(case)
    w, u0 = case["inputs"]["W"], case["inputs"]["u0"]
    sig, u, v = case["outputs"]["sigma"], case["outputs"]["u"], case["outputs"]["v"]
    iters = int(case["params"]["iters"])
    rows, cols = w.shape
    L = max(rows, cols)
    uu = u0.astype(np.float64)
    vv = None
    for _ in range(iters):
        t = w @ uu
        vv = t / np.linalg.norm(t)
        q = w.T @ vv
        uu = q / np.linalg.norm(q)
    sref = float(vv @ (w @ uu))
    wn = _spec_norm(w)
    tol = 16 * (iters + 1) * L * EPS * wn
    r.bound("sigma", abs(sig[0] - sref), tol)
    r.bound("u", np.max(np.abs(u - uu)), 1e-10)
    r.bound("v", np.max(np.abs(v - vv)), 1e-10)
    r.require(sig[0] <= wn * (1 + 4 * L * EPS), "sigma %r above the spectral norm %r" % (sig[0], wn))
    return r.verdict()


# ---------------------------------------------------------------- Haar
def check_haar(case):
    r = _Report(case)
    n, seed = int(case["params"]["n"]), int(case["params"]["seed"])
    q = case["outputs"]["Q"]
    r.require(q.shape == (n, n), "Q shape")
    g = _Xoshiro(seed)
    G = np.array([[g.normal() for _ in range(n)] for _ in range(n)])
    qr_q, qr_r = np.linalg.qr(G.T)
    sign = np.where(np.diag(qr_r) < 0, -1.0, 1.0)
    ref = qr_q * sign[None, :]
    r.bound("Q vs QR(G^T)·diag(sign r_ii)", np.max(np.abs(q - ref)), 64 * n * EPS * np.linalg.cond(G))
    r.bound("Q Q^T - I", np.max(np.abs(q @ q.T - np.eye(n))), 4 * n * EPS)
    return r.verdict()


CHECKS = {
    "eigh": check_eigh,
    "eigvalsh": check_eigvalsh,
    "svd": check_svd,
    "svdvals": check_svdvals,
    "spectral_norm_power": check_power,
    "haar": check_haar,
}

TOLERANCES = {
    "eigh": "|w-ref| <= 4n·eps·|A|, graded 64n·eps relative; residual, orthogonality 4n·eps; sign",
    "eigvalsh": "|w-ref| <= 4n·eps·|A|, graded 64n·eps relative",
    "svd": "|s-ref| <= 4L·eps·s0; |A-USVt|, orthogonality 4L·eps; sign",
    "svdvals": "s as svd; norm == s0; stable rank 4k·eps; rank exact",
    "spectral_norm_power": "sigma 16(iters+1)L·eps·|W|; u, v 1e-10",
    "haar": "|Q-Qref| <= 64n·eps·cond(G); orthogonality 4n·eps",
}


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    try:
        import check_vectors as cv  # the reader of the main checker
    except Exception as e:
        print("check_vectors_eigen: needs tools/check_vectors.py for the file reader: %s" % e)
        return 2
    paths = argv or [os.path.join(here, "..", "vectors", "eigen.qkv")]
    good = bad = 0
    for path in paths:
        for case in cv.read_vector_file(path):
            fn = CHECKS.get(case["op"])
            if fn is None:
                continue
            v = fn(case)
            ok, detail = v[0], v[1]
            worst = getattr(v, "worst", None)
            print("%-4s %-40s worst %s %s" % ("ok" if ok else "FAIL", case["name"],
                                               "%.3f" % worst if worst is not None else "-", "" if ok else detail))
            for rem in getattr(v, "remarks", []):
                print("     " + rem)
            good += ok
            bad += not ok
    print("check_vectors_eigen: %d cases agree, %d disagree" % (good, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
