#!/usr/bin/python3
"""check_vectors.py — the independence check of SPEC §3.

    /usr/bin/python3 tools/check_vectors.py [--selftest] [DIR | FILE.qkv ...]   (default DIR: vectors)

Reads golden-vector files (format: include/qk_io.h), recomputes every case's `out`
tensors from its `in` tensors with an independent float64 implementation (NumPy and
Python's math module; nothing from the C code base), and checks that the stored values
agree within the tolerances below. The bit check (qkspec verify) makes the golden values
stable; this check makes them right.

Output: one line per file, details of every disagreement (case, tensor, index, stored
value, reference, tolerance), a per-op summary with the worst ratio |error|/tolerance,
and as the last line `check_vectors: N cases agree, M disagree`. Exit status 1 if any
case disagrees, any op has no reference check, or any file is malformed (message
`path:line: ...`); 2 for a usage error.

--selftest corrupts values of parsed cases in memory (and feeds the parser broken
files) and exits 0 only if every corruption is reported as a disagreement or an error.

Tolerances
----------
u = 2^-24 (unit roundoff of float32), u_d = 2^-53 (float64). All bounds are first-order
rounding-error bounds of the algorithm the op's contract prescribes (qk.h, SPEC §2),
multiplied by SLACK = 1 + 2^-10 to cover second-order terms, plus an absolute floor of
a few 2^-149 where a result may be subnormal. "d" below is the rounding depth of the
8-lane reduction of SPEC §2.4 over n elements: sum d = ceil(n/8) + 2, dot (fmaf per
lane) d = ceil(n/8) + 3. The float64 references are exact or err by O(n·u_d), 2^-29
times less than any tolerance, so they are treated as exact.

  matmul      |C - ref| <= (K+1)·u·(|C0| + Σ_k |a_ik||b_kj|)       (K fmaf roundings;
              (K+1)u >= γ_K for K < 4096).  ref = C0 + A·B in float64.
  sum, dot    |s - ref| <= d·u·Σ|x_i|  (dot: Σ|x_i y_i|);  ref by math.fsum (exact).
  expf, logf, tanhf, gelu_tanhf, gelu_erff   (float in, float out)
              |y - ref| <= 1 ulp32(ref). ref is the function in float64 (expf, logf,
              tanhf: numpy; gelu_tanhf as x/(1 + e^{-2z}), gelu_erff as
              x/2·erfc(-x/√2) with math.erfc: forms without cancellation, relative
              error a few u_d). The functions are specified as "evaluate in double,
              round once" (qk.h, qk_math.c) and SPEC §2.5 measures accuracy against the
              correctly rounded result: 0.5 ulp for the final rounding + at most 0.5
              ulp for the double evaluation. ulp32(v) = 2^(clamp(floor(log2|v|), -126,
              127) - 23), as tools/ulp_exhaustive.c.
              Specials, also as tools/ulp_exhaustive.c: a NaN reference needs NaN; an
              infinite reference needs the same infinity (limits: gelu(-inf) = -0,
              gelu(+inf) = +inf); a stored ±Inf for a finite reference stands for
              ±2^128 (so FLT_MAX or Inf near the overflow threshold are judged by
              their distance); a zero of the wrong sign for a ±0 input is reported as
              a note ("signed-zero mismatch"), not as a disagreement.
  exp, log, erf  (double in, double out; reference math.exp/log/erf, itself <= 1 ulp)
              |y - ref| <= 4 ulp64(ref): qk_exp states ~2 ulp, log is one rounding of
              e·ln2 + a series (< 2^-60), + 1 ulp for libm + 1 of margin. erf gets
              4x² ulp64 more for |x| < 3: that series is multiplied by e^{-x²} with x²
              rounded (x²·u_d relative) and built by term *= 2x²/(2n+1) (about 3n·u_d
              on term n; the terms peak at n ≈ x²). Same rules for specials.
  erfc        (reference math.erfc) for x < 2, 4 + (4 + 4x²)·erf/erfc + 2 ulp64: it is
              1 - erf, so erf's error is amplified by erf/erfc (at most 213 there); from
              2 on, 4 + 2x'² + 8 ulp64 with x' = min(x, 28): the continued fraction
              times e^{-x²} with x² rounded costs x²·u_d relative; from 27.3 on the
              result is 0 and the reference is below 2^-1074, so larger x add nothing.
  sin, cos    (reference math.sin/cos) |y - ref| <= 5 ulp64(ref) + |k|·2^-122.9,
              k = round(2x/π), for |x| < 2^20 (the domain qk.h states). qk_math.c
              reduces r = x - k·π/2 with π/2 ≈ P1 + P2 + P3 (P1, P2 of 33 bits: k·P1,
              k·P2 and the first subtraction are exact for |k| < 2^20). The two rounded
              fma steps leave r within 1.5 ulp(r), a relative 3u_d that sin r carries
              with the factor r·cos r/sin r <= 1 (cos r: smaller): 3 ulp. P1 + P2 + P3
              misses π/2 by 2^-122.9, the absolute term: it matters only where x is
              within a few ulps of k·π/2 relative to k; enumerating every k below
              2^20·2/π, it is at most 3.35 ulp of the result (x = 0x1.39c6fd67805a7p+18
              and 2x). The Taylor polynomials (truncation < 2^-58, a correction term
              at most 0.11|r| for sin) add < 0.5 ulp and the final rounding 0.5 ulp;
              + 1 ulp for libm (its sin and cos are not correctly rounded either:
              measured here at most 0.52 ulp). Measured for qk_sin/qk_cos against a
              200-bit reference: at most 2.1 ulp over 60,000 random inputs of
              |x| < 2^20 and 21,000 doubles at and next to k·π/2; 3.35 ulp at the two
              inputs above.
  Exact points (every map above, float and double): where x is NaN, ±Inf or ±0 the
              result must equal the reference exactly (tolerance 0); these are the
              limits and the values of C99 Annex F: exp(±0) = 1, exp(-inf) = +0,
              exp(+inf) = +inf; log(±0) = -inf, log(x < 0) = NaN (also for -inf),
              log(+inf) = +inf; erf(±0) = ±0, erf(±inf) = ±1; erfc(±0) = 1,
              erfc(-inf) = 2, erfc(+inf) = +0; sin(±0) = ±0, cos(±0) = 1, sin and cos
              of ±inf = NaN; tanh(±inf) = ±1; gelu(-inf) = -0, gelu(+inf) = +inf; NaN
              for NaN. A zero of the wrong sign is still only a note (as above).
  softmax     visible j: |y_j - ref_j| <= u·ref_j·(|a_j| + max_k|a_k| + 4 + d + 1)·SLACK
              + 2^-148, a_j = x_j - max (rounding of x_j - max: |a_j|u, propagated
              by exp; expf: 2u; sum: d; division: 1).  Masked j (causal, j > i):
              exactly +0.
  softmax_backward  visible j: with t = dy_j - <y,dy>, p = y_j·t:
              |dx_j - ref_j| <= u·(|y_j|(d·Σ|y dy| + |t|) + |p| + |dx0_j + p|)·SLACK
              + 2^-148; masked j: dx_j == dx0_j bit for bit.
  layernorm   mean:  E_m = u(d_s·Σ|x|/C + |mean|);
              rstd:  rel = 0.5·(E_v/(var+eps) + u) + 2u,  E_v = u·var·(d_d+3) + E_m²;
              y_i:   |γ_i|(rstd·E_m + |n_i|(rel + 2u)) + u|n_i γ_i| + u|y_i|
              (n_i = (x_i - mean)·rstd; all ·SLACK, + 2^-148).
  layernorm_backward  first-order propagation through the float32 steps of
              qk_vector.c (n: 2u|n|, g = γ·dy: u|g|, mean(g): (d_s+1), mean(g·n):
              (d_d+3), then the subtraction, product, ·rstd and += dx0, one u each):
              see _ln_backward_ref; dgamma_i: 3u·Σ_t|dy n| + T·u·(|dgamma0| + Σ_t|dy n|);
              dbeta_i: T·u·(|dbeta0| + Σ_t|dy|).
  rng         u64 and uniformf exact (splitmix64 seeding + xoshiro256** with Python
              ints; uniformf = (u >> 40)·2^-24); normal (Marsaglia polar, math.log):
              |z - ref| <= 8·u_d·|ref| (qk_log and libm log <= 2 ulp each, halved by
              sqrt, + 3 roundings); normalf: |z - ref| <= 0.5 ulp32(ref) + 8·u_d·|ref|.
              Stream order per case: n u64, n uniformf, n normal, n normalf.

Extension
---------
If tools/check_vectors_eigen.py or tools/check_vectors_model.py exists it is imported and its dict CHECKS = {op: fn}
is merged into CHECKS here. A check is fn(case) -> (ok: bool, detail: str), where case
is a dict with keys 'name', 'op', 'params' (str -> int), 'inputs' and 'outputs' (str ->
numpy array of dtype float32/float64/uint64 with the declared shape), plus 'path' and
'line'. It may return a Verdict (a tuple with a .worst ratio). A check must verify
every `out` tensor of the case. Cases whose tensors or params are not exactly what the op uses (missing, extra,
wrong dtype or shape) disagree: an unchecked `out` tensor must never pass silently.
The module can reuse this one with
`from check_vectors import parse_vectors, read_vector_file, Verdict, compare, ...`
(while this script runs, `check_vectors` is this very module).
"""

import glob
import importlib
import math
import os
import re
import signal
import sys
import time

import numpy as np

__all__ = ["VectorFileError", "CaseError", "Verdict", "parse_vectors", "read_vector_file",
           "compare", "require", "ulp32", "ulp64", "CHECKS", "TOLERANCES", "check_case",
           "check_paths"]

U = 2.0 ** -24          # float32 unit roundoff
UD = 2.0 ** -53         # float64 unit roundoff
SLACK = 1.0 + 2.0 ** -10
TINY = 2.0 ** -148      # absolute floor for results that may be subnormal (float32)

MAX_TENSORS, MAX_PARAMS, MAX_DIMS, NAME_MAX = 96, 16, 4, 47   # as include/qk_io.h
DTYPES = {b"f32": (np.float32, 8, ">u4", np.uint32),
          b"f64": (np.float64, 16, ">u8", np.uint64),
          b"u64": (np.uint64, 16, ">u8", np.uint64)}
_INT_RE = re.compile(rb"[+-]?[0-9]+\Z")


# ============================================================================ parser

class VectorFileError(Exception):
    """A malformed vector file; str() is 'path:line: message'."""


class CaseError(Exception):
    """A case that does not have the tensors/params its op needs."""


class _Tokens:
    """Whitespace-separated tokens with line numbers; '#' comments to end of line."""

    def __init__(self, data, path):
        self.path = path
        self.lines = [ln.split(b"#", 1)[0].split() for ln in data.split(b"\n")]
        self.li = 0   # current line index
        self.ti = 0   # next token on it

    def error(self, msg, line=None):
        return VectorFileError("%s:%d: %s" % (self.path, self.li + 1 if line is None else line, msg))

    def next(self):
        """Next token (bytes), crossing lines; None at end of file."""
        lines = self.lines
        while self.li < len(lines):
            toks = lines[self.li]
            if self.ti < len(toks):
                self.ti += 1
                return toks[self.ti - 1]
            self.li += 1
            self.ti = 0
        self.li = max(len(lines) - 1, 0)
        return None

    def rest_of_line(self):
        toks = self.lines[self.li][self.ti:] if self.li < len(self.lines) else []
        self.ti += len(toks)
        return toks

    def values(self, count, tname):
        """count tokens, crossing lines; returns (tokens, [(line, ntokens), ...])."""
        out, where, need, lines = [], [], count, self.lines
        while need:
            if self.li >= len(lines):
                self.li = len(lines) - 1
                raise self.error("tensor '%s': file ends after %d of %d values" % (tname, count - need, count))
            toks = lines[self.li]
            take = min(need, len(toks) - self.ti)
            if take > 0:
                out.extend(toks[self.ti:self.ti + take])
                where.append((self.li + 1, take))
                self.ti += take
                need -= take
            if need:
                self.li += 1
                self.ti = 0
        return out, where


def _name(tok):
    return tok.decode("latin-1")


def _parse_int(tok, lo, hi):
    if not _INT_RE.match(tok):
        return None
    v = int(tok)
    return v if lo <= v <= hi else None


def _decode_values(tk, toks, where, dtname, tname, count):
    npdt, digits, wire, host = DTYPES[dtname]
    raw = None
    if all(len(t) == digits for t in toks):
        try:
            raw = bytes.fromhex(b"".join(toks).decode("ascii"))
        except ValueError:
            raw = None
    if raw is None or len(raw) != count * digits // 2:
        # find the first offending token for the message
        i = 0
        for line, n in where:
            for t in toks[i:i + n]:
                if len(t) != digits or not re.match(rb"[0-9a-fA-F]+\Z", t):
                    s = _name(t)
                    if s in ("end", "in", "out"):
                        raise tk.error("tensor '%s': only %d of %d values before '%s'" % (tname, i, count, s), line)
                    raise tk.error("tensor '%s' value %d: '%s' is not %d hex digits" % (tname, i, s, digits), line)
                i += 1
        raise tk.error("tensor '%s': bad values" % tname)
    return np.frombuffer(raw, dtype=wire).astype(host).view(npdt)


def parse_vectors(data, path="<data>"):
    """Parses the bytes of a vector file; returns a list of case dicts (see module doc).
    Raises VectorFileError('path:line: ...') on anything the format does not allow."""
    tk = _Tokens(data, path)
    tok = tk.next()
    if tok is None:
        raise tk.error("empty file (expected 'qkspec-vectors 1')", 1)
    if tok != b"qkspec-vectors":
        raise tk.error("not a vector file: expected 'qkspec-vectors 1'")
    rest = tk.rest_of_line()
    ver = _parse_int(rest[0], 0, 1000000) if len(rest) == 1 else None
    if ver is None:
        raise tk.error("missing format version after 'qkspec-vectors'")
    if ver != 1:
        raise tk.error("format version %d is not supported (this reader reads 1)" % ver)
    cases, names = [], set()
    while True:
        tok = tk.next()
        if tok is None:
            return cases
        if tok != b"case":
            raise tk.error("expected 'case NAME', found '%s'" % _name(tok))
        rest = tk.rest_of_line()
        if len(rest) != 1 or len(rest[0]) > NAME_MAX:
            raise tk.error("'case' needs exactly one name (at most %d characters)" % NAME_MAX)
        case = {"name": _name(rest[0]), "op": None, "params": {}, "inputs": {}, "outputs": {},
                "path": path, "line": tk.li + 1}
        if case["name"] in names:
            raise tk.error("case '%s' appears twice in this file" % case["name"])
        names.add(case["name"])
        ntensor = 0
        while True:
            tok = tk.next()
            if tok is None:
                raise tk.error("case '%s': file ends before 'end'" % case["name"])
            if len(tok) > NAME_MAX:
                raise tk.error("case '%s': token too long" % case["name"])
            if tok == b"end":
                break
            if tok == b"op":
                rest = tk.rest_of_line()
                if len(rest) != 1 or len(rest[0]) > NAME_MAX:
                    raise tk.error("'op' needs exactly one name")
                if case["op"] is not None:
                    raise tk.error("case '%s': second 'op' line" % case["name"])
                case["op"] = _name(rest[0])
            elif tok == b"param":
                rest = tk.rest_of_line()
                if len(rest) != 2 or len(rest[0]) > NAME_MAX:
                    raise tk.error("'param' needs: KEY INTEGER")
                if len(case["params"]) >= MAX_PARAMS:
                    raise tk.error("more than %d params" % MAX_PARAMS)
                v = _parse_int(rest[1], -(1 << 62), 1 << 62)
                if v is None:
                    raise tk.error("param '%s': '%s' is not an integer" % (_name(rest[0]), _name(rest[1])))
                key = _name(rest[0])
                if key in case["params"]:
                    raise tk.error("param '%s' given twice" % key)
                case["params"][key] = v
            elif tok in (b"in", b"out"):
                rest = tk.rest_of_line()
                if any(len(t) > NAME_MAX for t in rest):
                    raise tk.error("token too long in tensor declaration")
                if len(rest) > 2 + MAX_DIMS:
                    raise tk.error("tensor declaration has more than %d dimensions" % MAX_DIMS)
                if len(rest) < 3:
                    raise tk.error("tensor declaration needs: NAME DTYPE DIM [DIM ...]")
                if ntensor >= MAX_TENSORS:
                    raise tk.error("more than %d tensors in case '%s'" % (MAX_TENSORS, case["name"]))
                tname = _name(rest[0])
                if rest[1] not in DTYPES:
                    raise tk.error("tensor '%s': unknown dtype '%s' (expected f32, f64 or u64)" % (tname, _name(rest[1])))
                dims = []
                for d in rest[2:]:
                    v = _parse_int(d, 1, 1 << 24)
                    if v is None:
                        raise tk.error("tensor '%s': dimension '%s' is not an integer in [1, %d]" % (tname, _name(d), 1 << 24))
                    dims.append(v)
                if tname in case["inputs"] or tname in case["outputs"]:
                    raise tk.error("tensor '%s' declared twice" % tname)
                count = 1
                for d in dims:
                    count *= d
                if count > (1 << 37):
                    raise tk.error("tensor '%s' is too large" % tname)
                toks, where = tk.values(count, tname)
                arr = _decode_values(tk, toks, where, rest[1], tname, count).reshape(dims)
                (case["outputs"] if tok == b"out" else case["inputs"])[tname] = arr
                ntensor += 1
            else:
                raise tk.error("case '%s': unknown keyword '%s'" % (case["name"], _name(tok)))
        if case["op"] is None:
            raise tk.error("case '%s' has no 'op' line" % case["name"])
        cases.append(case)


def read_vector_file(path):
    """parse_vectors of the file at path (VectorFileError 'path:line: ...' if malformed,
    'path: ...' if unreadable)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise VectorFileError("%s: %s" % (path, e.strerror or e))
    return parse_vectors(data, path)


# ============================================================================ comparison

class Verdict(tuple):
    """(ok, detail) with an extra attribute .worst (max |error|/tolerance, or None)."""

    def __new__(cls, ok, detail, worst=None, notes=None, remarks=None, ratios=None):
        t = tuple.__new__(cls, (bool(ok), detail))
        t.worst = worst
        t.notes = notes or {}          # counts of remarkable values, e.g. signed zeros
        t.remarks = remarks or []      # lines to show even when the case agrees
        t.ratios = ratios or {}        # tensor name -> |error|/tolerance per element
        return t


def _exp2_of(a, mant_bits, emin, emax):
    """2^(floor(log2|a|) - mant_bits) with the exponent clamped to [emin, emax]."""
    with np.errstate(all="ignore"):
        _, e = np.frexp(np.abs(np.asarray(a, dtype=np.float64)))
    e = np.clip(e.astype(np.int64) - 1, emin, emax)
    return np.ldexp(1.0, (e - mant_bits).astype(np.int32))


def ulp32(a):
    """ulp of float32 at |a| (a: float64), 2^-149 below the normal range, 2^104 above it."""
    return _exp2_of(a, 23, -126, 127)


def ulp64(a):
    """ulp of float64 at |a|, 2^-1074 below the normal range."""
    return _exp2_of(a, 52, -1022, 1023)


def _fmt(v, dt):
    v = np.asarray(v)
    if dt == np.uint64:
        return "%d (0x%016x)" % (int(v), int(v))
    if dt == np.float32:
        return "%.9g (%08x)" % (float(v), int(np.float32(v).view(np.uint32)))
    return "%.17g (%016x)" % (float(v), int(np.float64(v).view(np.uint64)))


def _index(shape, flat):
    return "[" + ",".join(str(i) for i in np.unravel_index(flat, shape)) + "]" if len(shape) > 1 else "[%d]" % flat


class Report:
    """Collects the comparisons of one case."""

    MAX_LINES = 5

    def __init__(self, case):
        self.case = case
        self.bad = 0
        self.lines = []
        self.worst = 0.0
        self.notes = {}
        self.remarks = []
        self.summary = []
        self.ratios = {}

    def note(self, key, n):
        if n:
            self.notes[key] = self.notes.get(key, 0) + int(n)

    def fail(self, msg):
        self.bad += 1
        if len(self.lines) < self.MAX_LINES:
            self.lines.append(msg)

    def compare(self, tname, got, ref, tol, float_inf_ok=False, zero_sign=None):
        """got: stored array; ref, tol: float64 arrays (broadcastable). Rules: NaN ref needs
        NaN; infinite ref needs the same value; otherwise |got - ref| <= tol. An infinite
        got for a finite ref fails, unless float_inf_ok: then it counts as ±2^128.
        zero_sign: mask of elements where a zero of the wrong sign is noted (not failed).
        Returns |error|/tolerance per element (inf for NaN/Inf mismatches)."""
        got = np.asarray(got)
        dt = got.dtype.type
        g = got.astype(np.float64).ravel()
        shape = got.shape
        ref = np.broadcast_to(np.asarray(ref, dtype=np.float64), shape).ravel()
        tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), shape).ravel()
        with np.errstate(all="ignore"):
            rnan, gnan = np.isnan(ref), np.isnan(g)
            rinf = np.isinf(ref)
            err = np.abs(g - ref)
            err[np.isnan(err)] = np.inf
            if float_inf_ok:
                # a float32 ±Inf stands for "every value >= 2^128 in magnitude" (what
                # IEEE overflow rounds to Inf; the convention of tools/ulp_exhaustive.c)
                over = np.isinf(g) & np.isfinite(ref) & (np.sign(g) == np.sign(ref))
                err[over] = np.maximum(0.0, 2.0 ** 128 - np.abs(ref[over]))
            err[rinf & (g == ref)] = 0.0
            err[rinf & (g != ref)] = np.inf
            err[rnan] = np.where(gnan[rnan], 0.0, np.inf)
            ratio = np.where(err == 0.0, 0.0, err / tol)
            ratio[np.isnan(ratio)] = np.inf
        if zero_sign is not None:
            # a zero of the wrong sign has error 0 but is not the correctly rounded
            # result: counted and shown, not a disagreement (as tools/ulp_exhaustive.c)
            zs = np.broadcast_to(zero_sign, shape).ravel() & (g == 0) & (ref == 0)
            wrong = np.nonzero(zs & (np.signbit(g) != np.signbit(ref)))[0]
            self.note("signed-zero mismatch", len(wrong))
            for k in wrong[:2]:
                self.remarks.append("case %s tensor %s index %s: stored %s, reference %r (signed zero)"
                                    % (self.case["name"], tname, _index(shape, k), _fmt(got.ravel()[k], dt), ref[k]))
        self.ratios[tname] = ratio.reshape(shape)
        badidx = np.nonzero(~(ratio <= 1.0))[0]
        okr = ratio[ratio <= 1.0]
        if okr.size:
            self.worst = max(self.worst, float(okr.max()))
        for k in badidx[: self.MAX_LINES]:
            self.fail("case %s tensor %s index %s: stored %s, reference %.17g, |error| %.3g, tolerance %.3g"
                      % (self.case["name"], tname, _index(shape, k), _fmt(got.ravel()[k], dt), ref[k],
                         err[k], tol[k]))
        self.bad += max(0, len(badidx) - min(len(badidx), self.MAX_LINES))
        if len(badidx):
            self.worst = max(self.worst, float(ratio[badidx].max()))
        return ratio

    def exact(self, tname, got, ref):
        """Bit-for-bit equality."""
        got = np.asarray(got)
        ref = np.asarray(ref, dtype=got.dtype).reshape(got.shape)
        if got.dtype == np.float32:
            gb, rb = got.view(np.uint32), ref.view(np.uint32)
        elif got.dtype == np.float64:
            gb, rb = got.view(np.uint64), ref.view(np.uint64)
        else:
            gb, rb = got, ref
        badidx = np.nonzero((gb != rb).ravel())[0]
        for k in badidx[: self.MAX_LINES]:
            self.fail("case %s tensor %s index %s: stored %s, reference %s, tolerance exact"
                      % (self.case["name"], tname, _index(got.shape, k), _fmt(got.ravel()[k], got.dtype.type),
                         _fmt(ref.ravel()[k], got.dtype.type)))
        self.bad += max(0, len(badidx) - self.MAX_LINES)
        if len(badidx):
            self.worst = max(self.worst, math.inf)

    def verdict(self):
        if self.bad:
            more = [] if self.bad <= len(self.lines) else ["... %d more disagreeing values" % (self.bad - len(self.lines))]
            return Verdict(False, "\n".join("  " + ln for ln in self.lines + more + self.summary), self.worst,
                           self.notes, self.remarks, self.ratios)
        return Verdict(True, "worst %.2g of tolerance" % self.worst, self.worst, self.notes, self.remarks,
                       self.ratios)


def compare(case, tname, got, ref, tol):
    """Convenience for extension checks: one tensor, returns a Verdict."""
    r = Report(case)
    r.compare(tname, got, ref, tol)
    return r.verdict()


def require(case, ins, outs, params=()):
    """Checks that case has exactly the tensors ins/outs ({name: (dtype, ndim)}) and no
    params besides `params`; returns nothing, raises CaseError."""
    for kind, want in (("inputs", ins), ("outputs", outs)):
        have = case[kind]
        for name, (dt, nd) in want.items():
            if name not in have:
                raise CaseError("missing %s tensor '%s'" % ("in" if kind == "inputs" else "out", name))
            a = have[name]
            if a.dtype != dt or a.ndim != nd:
                raise CaseError("tensor '%s' must be %s with %d dimension(s), is %s %s"
                                % (name, np.dtype(dt).name, nd, a.dtype.name, a.shape))
        extra = sorted(set(have) - set(want))
        if extra:
            raise CaseError("unexpected %s tensor(s) %s (not used by op '%s')"
                            % ("in" if kind == "inputs" else "out", ", ".join(extra), case["op"]))
    extra = sorted(set(case["params"]) - set(params))
    if extra:
        raise CaseError("unexpected param(s) %s for op '%s'" % (", ".join(extra), case["op"]))


def _shape(case, kind, name, shape):
    a = case[kind][name]
    if tuple(a.shape) != tuple(shape):
        raise CaseError("tensor '%s' has shape %s, expected %s" % (name, tuple(a.shape), tuple(shape)))
    return a


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def _depth_sum(n):
    return -(-n // 8) + 2


def _depth_dot(n):
    return -(-n // 8) + 3


# ============================================================================ references

F32, F64, U64 = np.float32, np.float64, np.uint64


def check_matmul(case):
    flags = case["params"].get("flags", 0)
    pad = case["params"].get("pad", 0)          # memory layout only
    if not 0 <= flags <= 7 or not 0 <= pad <= 64:
        raise CaseError("bad flags/pad %d/%d (flags in [0, 7], pad in [0, 64])" % (flags, pad))
    ins = {"A": (F32, 2), "B": (F32, 2)}
    if flags & 4:
        ins["C0"] = (F32, 2)
    require(case, ins, {"C": (F32, 2)}, ("flags", "pad"))
    A, B = _f64(case["inputs"]["A"]), _f64(case["inputs"]["B"])
    if flags & 1:
        A = A.T
    if flags & 2:
        B = B.T
    if A.shape[1] != B.shape[0]:
        raise CaseError("inner dimensions differ: A gives K=%d, B gives K=%d" % (A.shape[1], B.shape[0]))
    M, K = A.shape
    N = B.shape[1]
    C = _shape(case, "outputs", "C", (M, N))
    C0 = _f64(_shape(case, "inputs", "C0", (M, N))) if flags & 4 else np.zeros((M, N))
    ref = C0 + A @ B
    tol = (K + 1) * U * (np.abs(C0) + np.abs(A) @ np.abs(B)) * SLACK + (K + 1) * 2.0 ** -149
    r = Report(case)
    r.compare("C", C, ref, tol, float_inf_ok=True)
    return r.verdict()


def _check_reduce(case, dot):
    ins = {"x": (F32, 1), "y": (F32, 1)} if dot else {"x": (F32, 1)}
    require(case, ins, {"s": (F32, 1)})
    x = _f64(case["inputs"]["x"])
    n = x.size
    s = _shape(case, "outputs", "s", (1,))
    if dot:
        y = _f64(_shape(case, "inputs", "y", (n,)))
        terms = x * y                       # exact: 24 + 24 bit products
        d = _depth_dot(n)
    else:
        terms = x
        d = _depth_sum(n)
    if np.all(np.isfinite(terms)):
        ref = math.fsum(terms)
    else:
        ref = float(np.sum(terms))
    tol = d * U * float(np.sum(np.abs(terms))) * SLACK + d * 2.0 ** -149
    r = Report(case)
    r.compare("s", s, [ref], [tol], float_inf_ok=True)
    return r.verdict()


def check_sum(case):
    return _check_reduce(case, False)


def check_dot(case):
    return _check_reduce(case, True)


# --- elementwise maps -------------------------------------------------------------

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _ref_expf(x):
    return np.exp(x)


def _ref_logf(x):
    return np.log(x)


def _ref_tanhf(x):
    return np.tanh(x)


def _ref_gelu_tanhf(x):
    # 0.5x(1 + tanh z) = x·sigmoid(2z) = x / (1 + e^{-2z}): no cancellation for z < 0
    z = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
    ref = x / (1.0 + np.exp(-2.0 * z))
    return np.where(np.isinf(x), np.where(x > 0, x, -0.0), ref)     # limits: +inf, -0


def _ref_gelu_erff(x):
    # 0.5x(1 + erf(x/√2)) = 0.5x·erfc(-x/√2): no cancellation for x < 0
    ref = [0.5 * v * math.erfc(-v / math.sqrt(2.0)) if math.isfinite(v)
           else (v if v > 0 or v != v else -0.0) for v in x.ravel().tolist()]
    return np.array(ref, dtype=np.float64).reshape(x.shape)


_MAP32 = {"expf": _ref_expf, "logf": _ref_logf, "tanhf": _ref_tanhf,
          "gelu_tanhf": _ref_gelu_tanhf, "gelu_erff": _ref_gelu_erff}
MAP32_ULP = 1.0        # 0.5 ulp (the final rounding) + 0.5 ulp margin for the double evaluation


def _check_map32(case):
    require(case, {"x": (F32, 1)}, {"y": (F32, 1)})
    x = _f64(case["inputs"]["x"])
    y = _shape(case, "outputs", "y", x.shape)
    with np.errstate(all="ignore"):
        ref = _MAP32[case["op"]](x)
        tol = np.where(_exact_points(x), 0.0, MAP32_ULP * ulp32(ref))
    r = Report(case)
    ratio = r.compare("y", y, ref, tol, float_inf_ok=True, zero_sign=(x == 0))
    bad = ~(ratio <= 1.0)
    if bad.any():
        fin = np.where(bad & np.isfinite(ratio), ratio, -1.0)
        k = int(np.argmax(fin))
        worst = "" if fin[k] < 0 else "; largest finite error %.3g ulp32 at x = %.9g" % (fin[k] * MAP32_ULP, x[k])
        nonfin = np.nonzero(bad & ~np.isfinite(ratio))[0]
        if nonfin.size:
            worst += "; %d special value(s) wrong, e.g. x = %r gives %r, limit %r" % (
                nonfin.size, x[nonfin[0]], float(y[nonfin[0]]), float(ref[nonfin[0]]))
        r.summary.append("case %s: %d of %d values beyond %g ulp32%s"
                         % (case["name"], int(bad.sum()), ratio.size, MAP32_ULP, worst))
    return r.verdict()


def _erf_extra(x):
    """ulp64 allowed on top of MAP64_ULP for erf: for |x| < 3 the series is scaled by
    e^{-x²} with x² rounded (x² u_d relative) and built by the recurrence
    term *= 2x²/(2n+1) (about 3n u_d on term n; the terms peak at n ≈ x²): 4x²."""
    with np.errstate(all="ignore"):
        return np.where(np.abs(x) < 3.0, 4.0 * x * x, 0.0)


def _erfc_extra(x):
    """ulp64 allowed on top of MAP64_ULP for erfc: below 2 it is 1 - erf, so erf's
    error is amplified by erf/erfc (at most 213); from 2 on it is the continued
    fraction times e^{-x²}, whose rounded x² costs x² u_d relative: 2x² + 8 (x capped
    at 28: from 27.3 on the result is 0 and the reference below 2^-1074)."""
    with np.errstate(all="ignore"):
        amp = np.abs(np.vectorize(math.erf)(x)) / np.vectorize(math.erfc)(x)
        xc = np.minimum(x, 28.0)
        return np.where(x < 2.0, (4.0 + 4.0 * x * x) * amp + 2.0, 2.0 * xc * xc + 8.0)


def _trig_extra(x):
    """ulp64 allowed on top of MAP64_ULP for sin and cos: 5 in all (docstring)."""
    return np.ones_like(x)


TRIG_PIO2_MISS = 2.0 ** -122.9   # |P1 + P2 + P3 - π/2| of qk_math.c (1.0086e-37)


def _trig_abs(x):
    """absolute error allowed for sin and cos on top of the ulps: |k|·2^-122.9 with
    k = round(2x/π), from the truncated π/2 of the argument reduction."""
    with np.errstate(all="ignore"):
        k = np.rint(x * (2.0 / math.pi))
    return np.where(np.isfinite(k), np.abs(k) * TRIG_PIO2_MISS, 0.0)


# op: (reference, extra ulps(x) or None, absolute term(x) or None)
_MAP64 = {"exp": (math.exp, None, None), "log": (math.log, None, None), "erf": (math.erf, _erf_extra, None),
          "erfc": (math.erfc, _erfc_extra, None), "sin": (math.sin, _trig_extra, _trig_abs),
          "cos": (math.cos, _trig_extra, _trig_abs)}
MAP64_ULP = 4.0   # qk_exp's ~2 ulp, one ulp of libm's reference, one of margin


def _exact_points(x):
    """Inputs whose result is exact by definition (NaN, ±Inf, ±0): tolerance 0."""
    return ~np.isfinite(x) | (x == 0)


def _math_or_special(f, v):
    try:
        return f(v)
    except OverflowError:
        return math.inf
    except ValueError:          # log of a negative number or of 0
        if f is math.log and v == 0:
            return -math.inf
        return math.nan


def _check_map64(case):
    require(case, {"x": (F64, 1)}, {"y": (F64, 1)})
    x = case["inputs"]["x"]
    y = _shape(case, "outputs", "y", x.shape)
    f, extra, absolute = _MAP64[case["op"]]
    ref = np.array([_math_or_special(f, v) for v in x.tolist()], dtype=np.float64)
    if case["op"] in ("sin", "cos"):
        # qk.h: the domain is |x| < 2^20; at and beyond it the result is NaN
        ref = np.where(np.abs(x) >= 2.0 ** 20, np.nan, ref)
    tol = (MAP64_ULP + (0.0 if extra is None else extra(x))) * ulp64(ref)
    if absolute is not None:
        tol = tol + absolute(x)
    tol = np.where(_exact_points(x) | np.isnan(ref), 0.0, tol)
    r = Report(case)
    r.compare("y", y, ref, tol, zero_sign=(x == 0))
    return r.verdict()


# --- softmax ---------------------------------------------------------------------

def _visible(rows, cols, causal):
    if not causal:
        return np.ones((rows, cols), dtype=bool)
    return np.arange(cols)[None, :] <= np.arange(rows)[:, None]


def check_softmax(case):
    require(case, {"x": (F32, 2)}, {"y": (F32, 2)}, ("causal",))
    causal = case["params"].get("causal", 0) != 0
    x = _f64(case["inputs"]["x"])
    R, C = x.shape
    y = _shape(case, "outputs", "y", x.shape)
    vis = _visible(R, C, causal)
    with np.errstate(all="ignore"):
        xm = np.where(vis, x, -np.inf)
        mx = np.max(xm, axis=1, keepdims=True)
        a = np.where(vis, x - mx, 0.0)
        e = np.where(vis, np.exp(a), 0.0)
        ref = e / np.sum(e, axis=1, keepdims=True)
        n = vis.sum(axis=1, keepdims=True)
        d = -(-n // 8) + 2
        amax = np.max(np.abs(a), axis=1, keepdims=True)
        tol = U * ref * (np.abs(a) + amax + 4 + d + 1) * SLACK + TINY
    r = Report(case)
    r.compare("y", np.where(vis, y, np.float32(0)), np.where(vis, ref, 0.0), np.where(vis, tol, 1.0))
    # masked entries: exactly +0
    r.exact("y (masked)", np.where(vis, np.float32(0), y).astype(np.float32), np.zeros(y.shape, np.float32))
    return r.verdict()


def check_softmax_backward(case):
    require(case, {"y": (F32, 2), "dy": (F32, 2), "dx0": (F32, 2)}, {"dx": (F32, 2)}, ("causal",))
    causal = case["params"].get("causal", 0) != 0
    yv = _f64(case["inputs"]["y"])
    R, C = yv.shape
    dy = _f64(_shape(case, "inputs", "dy", (R, C)))
    dx0_32 = _shape(case, "inputs", "dx0", (R, C))
    dx0 = _f64(dx0_32)
    dx = _shape(case, "outputs", "dx", (R, C))
    vis = _visible(R, C, causal)
    with np.errstate(all="ignore"):
        prod = np.where(vis, yv * dy, 0.0)                       # exact in float64
        ydy = np.array([[math.fsum(row)] for row in prod]) if np.all(np.isfinite(prod)) else prod.sum(1, keepdims=True)
        t = dy - ydy
        p = yv * t
        ref = dx0 + p
        n = vis.sum(axis=1, keepdims=True)
        d = -(-n // 8) + 3
        sabs = np.abs(prod).sum(axis=1, keepdims=True)
        tol = U * (np.abs(yv) * (d * sabs + np.abs(t)) + np.abs(p) + np.abs(ref)) * SLACK + TINY
    r = Report(case)
    r.compare("dx", np.where(vis, dx, np.float32(0)), np.where(vis, ref, 0.0), np.where(vis, tol, 1.0))
    r.exact("dx (masked = dx0)", np.where(vis, np.float32(0), dx).astype(np.float32),
            np.where(vis, np.float32(0), dx0_32).astype(np.float32))
    return r.verdict()


# --- layernorm -------------------------------------------------------------------

def check_layernorm(case):
    require(case, {"x": (F32, 2), "gamma": (F32, 1), "beta": (F32, 1), "eps": (F32, 1)},
            {"y": (F32, 2), "mean": (F32, 1), "rstd": (F32, 1)})
    x = _f64(case["inputs"]["x"])
    T, C = x.shape
    gamma = _f64(_shape(case, "inputs", "gamma", (C,)))
    beta = _f64(_shape(case, "inputs", "beta", (C,)))
    eps = float(_shape(case, "inputs", "eps", (1,))[0])
    y = _shape(case, "outputs", "y", (T, C))
    mean = _shape(case, "outputs", "mean", (T,))
    rstd = _shape(case, "outputs", "rstd", (T,))
    ds, dd = _depth_sum(C), _depth_dot(C)
    with np.errstate(all="ignore"):
        ref_mean = np.array([math.fsum(row) / C if np.all(np.isfinite(row)) else row.sum() / C for row in x])
        xm = x - ref_mean[:, None]
        var = np.mean(xm * xm, axis=1)
        ref_rstd = 1.0 / np.sqrt(var + eps)
        nrm = xm * ref_rstd[:, None]
        ref_y = nrm * gamma + beta
        e_m = U * (ds * np.abs(x).sum(axis=1) / C + np.abs(ref_mean)) * SLACK + TINY
        e_v = U * var * (dd + 3) + e_m * e_m
        rel = (0.5 * (e_v / (var + eps) + U) + 2 * U) * SLACK
        tol_rstd = rel * ref_rstd + TINY
        tol_y = (np.abs(gamma) * (ref_rstd[:, None] * e_m[:, None] + np.abs(nrm) * (rel[:, None] + 2 * U))
                 + U * np.abs(nrm * gamma) + U * np.abs(ref_y)) * SLACK + TINY
    r = Report(case)
    r.compare("mean", mean, ref_mean, e_m)
    r.compare("rstd", rstd, ref_rstd, tol_rstd)
    r.compare("y", y, ref_y, tol_y)
    return r.verdict()


def _ln_backward_ref(x, dy, mean, rstd, gamma, dx0, dgamma0, dbeta0):
    """float64 reference and first-order error bound of qk_layernorm_backward."""
    T, C = x.shape
    ds, dd = _depth_sum(C), _depth_dot(C)
    nrm = (x - mean[:, None]) * rstd[:, None]
    g = gamma * dy
    gn = g * nrm
    gmean = g.sum(axis=1) / C
    gnmean = gn.sum(axis=1) / C
    a = g - gmean[:, None]
    b = nrm * gnmean[:, None]
    c = a - b
    e = c * rstd[:, None]
    dx = dx0 + e
    dgamma = dgamma0 + (dy * nrm).sum(axis=0)
    dbeta = dbeta0 + dy.sum(axis=0)
    # error bound, first order (see module doc)
    E_n = 2 * U * np.abs(nrm)
    E_g = U * np.abs(g)
    E_gm = U * ((ds + 1) * np.abs(g).sum(axis=1) / C + np.abs(gmean))
    E_gnm = U * ((dd + 3) * np.abs(gn).sum(axis=1) / C + np.abs(gnmean))
    E_a = E_g + E_gm[:, None] + U * np.abs(a)
    E_b = np.abs(gnmean)[:, None] * E_n + np.abs(nrm) * E_gnm[:, None] + U * np.abs(b)
    E_c = E_a + E_b + U * np.abs(c)
    E_e = rstd[:, None] * E_c + U * np.abs(e)
    tol_dx = (E_e + U * np.abs(dx)) * SLACK + TINY
    sdn = np.abs(dy * nrm).sum(axis=0)
    tol_dg = (3 * U * sdn + T * U * (np.abs(dgamma0) + sdn)) * SLACK + T * TINY
    tol_db = (T * U * (np.abs(dbeta0) + np.abs(dy).sum(axis=0))) * SLACK + T * TINY
    return (dx, tol_dx), (dgamma, tol_dg), (dbeta, tol_db)


def check_layernorm_backward(case):
    require(case, {"dy": (F32, 2), "x": (F32, 2), "mean": (F32, 1), "rstd": (F32, 1), "gamma": (F32, 1),
                   "dx0": (F32, 2), "dgamma0": (F32, 1), "dbeta0": (F32, 1)},
            {"dx": (F32, 2), "dgamma": (F32, 1), "dbeta": (F32, 1)})
    x = _f64(case["inputs"]["x"])
    T, C = x.shape
    g = lambda kind, name, shape: _f64(_shape(case, kind, name, shape))   # noqa: E731
    args = (x, g("inputs", "dy", (T, C)), g("inputs", "mean", (T,)), g("inputs", "rstd", (T,)),
            g("inputs", "gamma", (C,)), g("inputs", "dx0", (T, C)), g("inputs", "dgamma0", (C,)),
            g("inputs", "dbeta0", (C,)))
    with np.errstate(all="ignore"):
        res = _ln_backward_ref(*args)
    r = Report(case)
    for name, shape, (ref, tol) in zip(("dx", "dgamma", "dbeta"), ((T, C), (C,), (C,)), res):
        r.compare(name, _shape(case, "outputs", name, shape), ref, tol)
    return r.verdict()


# --- rng -------------------------------------------------------------------------

M64 = (1 << 64) - 1


class _Xoshiro:
    """splitmix64 seeding + xoshiro256** + Marsaglia polar, as specified (SPEC §2.7)."""

    def __init__(self, seed):
        x = seed & M64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))
        self.spare = None

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def u64(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniformf(self):
        return (self.u64() >> 40) * 2.0 ** -24

    def uniform(self):
        return (self.u64() >> 11) * 2.0 ** -53

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        while True:
            u = 2.0 * self.uniform() - 1.0
            v = 2.0 * self.uniform() - 1.0
            s = u * u + v * v
            if not (s >= 1.0 or s == 0.0):
                break
        f = math.sqrt(-2.0 * math.log(s) / s)
        self.spare = v * f
        return u * f


RNG_REL = 8.0 * UD


def check_rng(case):
    require(case, {}, {"u64": (U64, 1), "uniformf": (F32, 1), "normal": (F64, 1), "normalf": (F32, 1)},
            ("seed",))
    if "seed" not in case["params"]:
        raise CaseError("missing param 'seed'")
    n = case["outputs"]["u64"].size
    outs = {k: _shape(case, "outputs", k, (n,)) for k in ("u64", "uniformf", "normal", "normalf")}
    g = _Xoshiro(case["params"]["seed"])
    ref_u = np.array([g.u64() for _ in range(n)], dtype=np.uint64)
    ref_uf = np.array([g.uniformf() for _ in range(n)], dtype=np.float32)
    ref_n = np.array([g.normal() for _ in range(n)], dtype=np.float64)
    ref_nf = np.array([g.normal() for _ in range(n)], dtype=np.float64)
    r = Report(case)
    r.exact("u64", outs["u64"], ref_u)
    r.exact("uniformf", outs["uniformf"], ref_uf)
    r.compare("normal", outs["normal"], ref_n, RNG_REL * np.abs(ref_n))
    r.compare("normalf", outs["normalf"], ref_nf, 0.5 * ulp32(ref_nf) + RNG_REL * np.abs(ref_nf))
    return r.verdict()


# ============================================================================ registry

CHECKS = {
    "matmul": check_matmul,
    "sum": check_sum,
    "dot": check_dot,
    "softmax": check_softmax,
    "softmax_backward": check_softmax_backward,
    "layernorm": check_layernorm,
    "layernorm_backward": check_layernorm_backward,
    "rng": check_rng,
}
for _op in _MAP32:
    CHECKS[_op] = _check_map32
for _op in _MAP64:
    CHECKS[_op] = _check_map64

TOLERANCES = {
    "matmul": "|C-ref| <= (K+1)u(|C0| + sum|a||b|)",
    "sum": "|s-ref| <= d·u·sum|x|, d = ceil(n/8)+2",
    "dot": "|s-ref| <= d·u·sum|xy|, d = ceil(n/8)+3",
    "expf": "1 ulp32",
    "logf": "1 ulp32",
    "tanhf": "1 ulp32",
    "gelu_tanhf": "1 ulp32",
    "gelu_erff": "1 ulp32",
    "exp": "4 ulp64 vs math.exp",
    "log": "4 ulp64 vs math.log",
    "erf": "(4 + 4x^2 [|x|<3]) ulp64 vs math.erf",
    "erfc": "(4 + (4+4x^2)·erf/erfc [x<2], 2min(x,28)^2+8 [x>=2]) ulp64 vs math.erfc",
    "sin": "5 ulp64 + |round(2x/pi)|·2^-122.9 vs math.sin",
    "cos": "5 ulp64 + |round(2x/pi)|·2^-122.9 vs math.cos",
    "softmax": "u·y(|a_j|+max|a|+5+d); masked exactly +0",
    "softmax_backward": "u(|y|(d·sum|y dy|+|t|)+|p|+|dx|); masked = dx0",
    "layernorm": "first-order bound of the float32 steps",
    "layernorm_backward": "first-order bound of the float32 steps",
    "rng": "u64, uniformf exact; normal 8·2^-53 rel; normalf +0.5 ulp32",
}


EXTENSIONS = ("check_vectors_eigen", "check_vectors_model", "check_vectors_collapse")

# --selftest perturbs the largest element of each output by flipping one mantissa bit
# (default 11 for f32, 40 for f64: a relative change of 2^-12). An extension whose stated
# tolerance is coarser declares the perturbation it resolves in SELFTEST_BITS = {op: bit}.
SELFTEST_BITS = {}
# Outputs no perturbation can reveal (e.g. a gradient that is zero by construction and
# judged against the size of its terms), declared by an extension with the reason, which
# --selftest prints: SELFTEST_EXEMPT = {(op, tensor): reason}.
SELFTEST_EXEMPT = {}


def _load_extension(errors):
    """Imports each tools/check_vectors_*.py of EXTENSIONS that exists and merges its
    CHECKS (and TOLERANCES). A broken extension is an error, never a silent skip."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.modules.setdefault("check_vectors", sys.modules[__name__])
    if here not in sys.path:
        sys.path.insert(0, here)
    for name in EXTENSIONS:
        if name in sys.modules or not os.path.exists(os.path.join(here, name + ".py")):
            continue
        try:
            mod = importlib.import_module(name)
            extra = getattr(mod, "CHECKS")
            if not isinstance(extra, dict):
                raise TypeError("CHECKS is not a dict")
        except Exception as e:
            errors.append("tools/%s.py: cannot be used: %s: %s" % (name, type(e).__name__, e))
            continue
        for op, fn in extra.items():
            if op in CHECKS and CHECKS[op] is not fn:
                errors.append("tools/%s.py: op '%s' already has a check here" % (name, op))
                continue
            CHECKS[op] = fn
            TOLERANCES.setdefault(op, getattr(mod, "TOLERANCES", {}).get(op, "(%s)" % name))
        SELFTEST_BITS.update(getattr(mod, "SELFTEST_BITS", {}))
        SELFTEST_EXEMPT.update(getattr(mod, "SELFTEST_EXEMPT", {}))


def check_case(case):
    """Runs the check of case['op']; returns a Verdict. No check: a failing Verdict."""
    fn = CHECKS.get(case["op"])
    if fn is None:
        return Verdict(False, "  case %s: no reference check for op '%s'" % (case["name"], case["op"]), None)
    try:
        res = fn(case)
    except CaseError as e:
        return Verdict(False, "  case %s (op %s): %s" % (case["name"], case["op"], e), None)
    except Exception as e:  # a crashing check must not pass
        return Verdict(False, "  case %s (op %s): check raised %s: %s" % (case["name"], case["op"],
                                                                       type(e).__name__, e), None)
    if isinstance(res, Verdict):
        return res
    ok, detail = res
    return Verdict(ok, detail if ok else "  case %s: %s" % (case["name"], detail), None)


def _expand(args, errors):
    paths = []
    for a in args:
        if os.path.isdir(a):
            found = sorted(glob.glob(os.path.join(a, "*.qkv")))
            if not found:
                errors.append("%s: no .qkv files" % a)
            paths.extend(found)
        else:
            paths.append(a)
    return paths


def check_paths(args, out=sys.stdout):
    """Checks the files (or directories of *.qkv) in args; prints the report; returns
    (agree, disagree, errors)."""
    errors = []
    _load_extension(errors)
    for e in errors:
        print(e, file=out)
    nerr_ext = len(errors)
    paths = _expand(args, errors)
    for e in errors[nerr_ext:]:
        print(e, file=out)
    agree = disagree = 0
    per_op = {}
    for path in paths:
        try:
            cases = read_vector_file(path)
        except VectorFileError as e:
            errors.append(str(e))
            print(e, file=out)
            continue
        good, bad, worst, details, remarks = 0, 0, 0.0, [], []
        for case in cases:
            v = check_case(case)
            st = per_op.setdefault(case["op"], {"cases": 0, "bad": 0, "worst": None, "notes": {}})
            st["cases"] += 1
            w = getattr(v, "worst", None)
            if w is not None:
                if v[0]:
                    worst = max(worst, w)
                st["worst"] = w if st["worst"] is None else max(st["worst"], w)
            remarks.extend(getattr(v, "remarks", []))
            for k, n in getattr(v, "notes", {}).items():
                st["notes"][k] = st["notes"].get(k, 0) + n
            if v[0]:
                good += 1
            else:
                bad += 1
                st["bad"] += 1
                details.append(v[1])
        agree += good
        disagree += bad
        if not cases:
            errors.append("%s: no cases" % path)
            print("%s: no cases" % path, file=out)
        elif bad:
            print("%s: %d cases agree, %d disagree" % (path, good, bad), file=out)
            for d in details:
                print(d, file=out)
        else:
            print("%s: %d cases agree (worst: %.2g of tolerance)" % (path, good, worst), file=out)
        for rem in remarks:
            print("  note: " + rem, file=out)
    if per_op:
        print("per op: cases, worst |error|/tolerance, tolerance (u = 2^-24; see the docstring)", file=out)
        for op in sorted(per_op):
            st = per_op[op]
            w = "-" if st["worst"] is None else "%.2g" % st["worst"]
            extra = "" if not st["bad"] else "  %d DISAGREE" % st["bad"]
            notes = "".join("  [%d value(s): %s]" % (n, k) for k, n in st["notes"].items())
            if op not in CHECKS:
                extra += "  NO REFERENCE CHECK"
            print("  %-19s %4d  %-6s %s%s%s" % (op, st["cases"], w, TOLERANCES.get(op, "?"), extra, notes),
                  file=out)
    return agree, disagree, errors


# ============================================================================ self-test

def _flip(arr, idx, bit):
    a = arr.reshape(-1)
    if a.dtype == np.float32:
        a.view(np.uint32)[idx] ^= np.uint32(1 << bit)
    else:
        a.view(np.uint64)[idx] ^= np.uint64(1 << bit)


def _copy_case(case):
    c = dict(case)
    c["inputs"] = {k: v.copy() for k, v in case["inputs"].items()}
    c["outputs"] = {k: v.copy() for k, v in case["outputs"].items()}
    c["params"] = dict(case["params"])
    return c


def selftest(args, out=sys.stdout):
    """Corrupts parsed cases and broken files; returns True if every corruption is caught."""
    errors = []
    _load_extension(errors)
    ok_all = not errors
    for e in errors:
        print("selftest: " + e, file=out)
    paths = _expand(args, errors)
    cases = []
    for p in paths:
        try:
            cases.extend(read_vector_file(p))
        except VectorFileError as e:
            print("selftest: %s" % e, file=out)
            ok_all = False

    def expect(what, verdict_or_exc, should_fail=True):
        nonlocal ok_all
        failed = verdict_or_exc is not None and (isinstance(verdict_or_exc, Exception) or not verdict_or_exc[0])
        good = failed == should_fail
        ok_all &= good
        tail = ""
        if isinstance(verdict_or_exc, Exception):
            tail = ": " + str(verdict_or_exc)
        elif failed and verdict_or_exc[1]:
            tail = ": " + verdict_or_exc[1].strip().split("\n")[0]
        print("selftest: %-58s %s%s" % (what, ("caught" if failed else "passes") + ("" if good else "  <-- WRONG"),
                                          tail[:150]), file=out)

    # 1. every op of src/io/qk_vops.c has a check
    here = os.path.dirname(os.path.abspath(__file__))
    vops = os.path.join(here, "..", "src", "io", "qk_vops.c")
    if os.path.exists(vops):
        with open(vops, encoding="utf-8", errors="replace") as f:
            src = f.read()
        table = re.search(r"ops\[\]\s*=\s*\{(.*?)\};", src, re.S)
        names = re.findall(r'\{"([a-z0-9_]+)",\s*op_', table.group(1)) if table else []
        missing = [n for n in names if n not in CHECKS]
        good = bool(names) and not missing
        ok_all &= good
        print("selftest: %d ops in qk_vops.c, %s" % (len(names), "all have a reference check" if good else
                                                     "MISSING: " + ", ".join(missing) if names else
                                                     "could not read the table"), file=out)
    # 2. per op: the stored case agrees, and a corrupted copy disagrees
    seen = {}   # per op: the first case with an output of more than one value, else the first case
    for c in cases:
        big = bool(c["outputs"]) and max(v.size for v in c["outputs"].values()) > 1
        if c["op"] not in seen or (big and not seen[c["op"]][0]):
            seen[c["op"]] = (big, c)
    seen = {op: c for op, (big, c) in seen.items()}
    for op, c in sorted(seen.items()):
        v = check_case(c)
        if not v[0] and (op in _MAP32 or op in _MAP64) and "y" in getattr(v, "ratios", {}):
            # the stored vector itself disagrees (the normal run reports it); test the
            # checker on the elements that agree
            keep = v.ratios["y"] <= 1.0
            print("selftest: %s: %s as stored disagrees in %d of %d values (see the normal run); "
                  "continuing with the %d that agree" % (op, c["name"], int((~keep).sum()), keep.size,
                                                         int(keep.sum())), file=out)
            c = _copy_case(c)
            c["inputs"]["x"] = c["inputs"]["x"][keep]
            c["outputs"]["y"] = c["outputs"]["y"][keep]
            c["name"] += "(agreeing part)"
            v = check_case(c)
        expect("%s: %s as stored" % (op, c["name"]), v, should_fail=False)
        if not v[0]:
            continue
        for tname, arr in c["outputs"].items():
            if (op, tname) in SELFTEST_EXEMPT:
                print("selftest: %s: %s: %s not perturbed: %s" % (op, c["name"], tname, SELFTEST_EXEMPT[(op, tname)]),
                      file=out)
                continue
            bad = _copy_case(c)
            a = bad["outputs"][tname].reshape(-1)
            if a.dtype == np.uint64:
                idx, bit = a.size // 2, 0
            else:
                v = np.abs(a.astype(np.float64))
                fin = np.nonzero(np.isfinite(v) & (v > 0))[0]
                if (op in _MAP32 or op in _MAP64) and "x" in c["inputs"]:
                    # not an exact point (tested below): the flip must meet the ulp tolerance
                    fin = fin[~_exact_points(c["inputs"]["x"].astype(np.float64).ravel()[fin])]
                if not fin.size:
                    continue
                idx = int(fin[np.argmax(v[fin])])
                bit = SELFTEST_BITS.get(op, 11 if a.dtype == np.float32 else 40)  # default: 2^-12 relative
            _flip(bad["outputs"][tname], idx, bit)
            expect("%s: %s flipped bit %d of %s[%d]" % (op, c["name"], bit, tname, idx), check_case(bad))
    mm = [c for c in cases if c["op"] == "matmul"]
    if mm:
        bad = _copy_case(mm[-1])
        bad["outputs"]["C"].reshape(-1)[bad["outputs"]["C"].size // 3] += np.float32(1e-3)
        expect("matmul: %s one output + 1e-3" % bad["name"], check_case(bad))
    sm = [c for c in cases if c["op"] == "softmax" and c["params"].get("causal") and c["outputs"]["y"].shape[1] > 1]
    if sm:
        bad = _copy_case(sm[0])
        bad["outputs"]["y"][0, -1] = np.float32(2.0 ** -149)
        expect("softmax: %s masked entry = 2^-149" % bad["name"], check_case(bad))
    ex = [c for c in cases if c["op"] == "expf"]
    if ex:
        bad = _copy_case(ex[0])
        y = bad["outputs"]["y"].view(np.uint32)
        y[y.size // 2] += np.uint32(2)       # 2 ulp: beyond the 1 ulp tolerance
        expect("expf: %s one value + 2 ulp" % bad["name"], check_case(bad))
    # the exact points of the maps (NaN, ±Inf, ±0 in): per op, a NaN result made 0, an
    # infinite result made finite, a finite result moved by one ulp
    for op in sorted(set(_MAP32) | set(_MAP64)):
        found = {}
        for c in cases:
            if c["op"] != op or "x" not in c["inputs"] or "y" not in c["outputs"]:
                continue
            x, y = c["inputs"]["x"].ravel(), c["outputs"]["y"].ravel()
            if x.shape != y.shape:
                continue
            at = _exact_points(x.astype(np.float64))
            for kind, mask in (("NaN", at & np.isnan(y)), ("infinite", at & np.isinf(y)),
                               ("finite", at & np.isfinite(y))):
                idx = np.nonzero(mask)[0]
                if kind not in found and idx.size:
                    found[kind] = (c, int(idx[0]))
        for kind, (c, i) in sorted(found.items()):
            bad = _copy_case(c)
            y = bad["outputs"]["y"].reshape(-1)
            old_v = y[i]
            if kind == "NaN":
                y[i] = 0
            elif kind == "infinite":
                y[i] = np.nextafter(y[i], y.dtype.type(0))
            else:
                y[i] = np.nextafter(y[i], y.dtype.type(np.inf))
            expect("%s: %s x = %r: %s result %r made %r" % (op, c["name"], float(c["inputs"]["x"].ravel()[i]), kind,
                                                          float(old_v), float(y[i])), check_case(bad))
    # 3. no check for an op, a crashing check, a malformed case
    expect("unknown op 'frobnicate'", check_case({"name": "t", "op": "frobnicate", "params": {},
                                                  "inputs": {}, "outputs": {}}))
    bad = parse_vectors(b"qkspec-vectors 1\ncase t\nop sum\nin x f32 2\n3f800000 40000000\n"
                        b"out s f32 1\n40400004\nend\n", "<wrong>")[0]
    expect("sum 1+2 stored as 3 + 4 ulp (tolerance 2.25 ulp)", check_case(bad))
    good = parse_vectors(b"qkspec-vectors 1\ncase t\nop sum\nin x f32 2\n3f800000 40000000\n"
                         b"out s f32 1\n40400000  # 3\nend\n", "<right>")[0]
    expect("sum 1+2 stored as 3", check_case(good), should_fail=False)
    bad = _copy_case(good)
    bad["outputs"]["extra"] = np.zeros(1, np.float32)
    expect("an out tensor the check does not know", check_case(bad))
    # 4. malformed files: each must raise 'path:line: ...'
    broken = {
        b"": "empty file",
        b"qkspec-vectors 2\n": "format version 2",
        b"qkspec-vectors 1\ncase t\nop sum\nin x f32 3\n3f800000 40000000\n": "file ends after 2 of 3",
        b"qkspec-vectors 1\ncase t\nop sum\nin x f32 2\n3f800000 nonsense\nend\n": "'nonsense' is not 8 hex digits",
        b"qkspec-vectors 1\ncase t\nop sum\nin x f32 2\n3f800000\nend\n": "only 1 of 2 values before 'end'",
        b"qkspec-vectors 1\ncase t\nop sum\nin x f16 1\n3c00\nend\n": "unknown dtype 'f16'",
        b"qkspec-vectors 1\ncase t\nop sum\nin x f32 0\nend\n": "dimension '0'",
        b"qkspec-vectors 1\ncase t\nin x f32 1\n3f800000\nend\n": "has no 'op' line",
        b"qkspec-vectors 1\ncase t\nop sum\nparam k 1.5\nend\n": "is not an integer",
        b"qkspec-vectors 1\ncase t\nop sum\nfrob\nend\n": "unknown keyword 'frob'",
        b"qkspec-vectors 1\ncase t\nop sum\nin x f64 1\n3ff00000\nend\n": "is not 16 hex digits",
        b"qkspec-vectors 1\ncase t\nop sum\nin x f32 1\n3f800000\nin x f32 1\n3f800000\nend\n": "declared twice",
        b"qkspec-vectors 1\ncase t\nop sum\nin x f32 1\n3f800000\n": "file ends before 'end'",
        b"qkspec-vectors 1\nend\n": "expected 'case NAME'",
    }
    for text, want in broken.items():
        try:
            parse_vectors(text, "<broken>")
            res = None
        except VectorFileError as e:
            res = e if (want in str(e) and re.match(r"<broken>:\d+: ", str(e))) else None
            if res is None:
                print("selftest: unexpected message: %s" % e, file=out)
        expect("malformed file: %s" % want, res)
    print("selftest: %s" % ("every corruption was caught" if ok_all else "FAILED"), file=out)
    return ok_all


# ============================================================================ main

def main(argv):
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)     # quiet under `| head`
    args = argv[1:]
    mode_self = False
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if args and args[0] == "--selftest":
        mode_self = True
        args = args[1:]
    if any(a.startswith("-") for a in args):
        print("usage: check_vectors.py [--selftest] [DIR | FILE.qkv ...]", file=sys.stderr)
        return 2
    if not args:
        here = os.path.dirname(os.path.abspath(__file__))
        args = ["vectors"] if os.path.isdir("vectors") else [os.path.normpath(os.path.join(here, "..", "vectors"))]
    sys.modules.setdefault("check_vectors", sys.modules[__name__])
    t0 = time.time()
    if mode_self:
        ok = selftest(args)
        print("check_vectors --selftest: %s (%.1f s)" % ("ok" if ok else "FAILED", time.time() - t0))
        return 0 if ok else 1
    agree, disagree, errors = check_paths(args)
    print("time %.1f s" % (time.time() - t0))
    if errors:
        print("%d error(s)" % len(errors))
    print("check_vectors: %d cases agree, %d disagree" % (agree, disagree))
    return 1 if disagree or errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
