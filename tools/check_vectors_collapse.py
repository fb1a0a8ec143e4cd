#!/usr/bin/python3
"""check_vectors_collapse.py — independence check of vectors/collapse.qkv (SPEC §3),
an extension module of tools/check_vectors.py (CHECKS = {op: fn}).

An independent float64 NumPy implementation of the rank-collapse stack of SPEC §1.4:
it regenerates the BERT initialisation from the case's seed (its own reading of the
stream layout documented in include/qk_collapse.h, on check_vectors' Python
xoshiro256** + Marsaglia polar generator), runs the variant's forward pass in float64,
and compares with the stored float32 results.

Ops and tolerances (u = 2^-24; every bound also has an absolute floor of 2^-140):
  collapse_forward  x (X_L):  |x - ref| <= K·u·max|ref|,   K = (L+1)·(n + d + dff)
                    res:      |res - ref| <= K·u·‖X_l‖ (the cancellation in X - 1x̄ᵀ is
                              measured against the size of X_l, not of the residual)
                    r:        |r - ref| <= K·u (r is relative)
                    The float32 forward rounds every product once per term (fma chains of
                    d, dh, n or dff terms), softmax (n terms) and LayerNorm (d terms) in
                    every layer: a first-order bound per layer is about (n + d + dff)·u of
                    the layer's scale, and LayerNorm renormalises, so the bound grows
                    linearly in L. The weights are the same floats in both (both round
                    0.02·N(0,1) once; a normal whose last bits differ between qk_log and
                    math.log changes a weight by at most one float ulp, 2^-24 relative).
                    Observed: at most 3.5 u, i.e. about 1% of the tolerance.
  collapse_embed    x: |x - ref| <= 8·(d + 4)·u·max(1, |ref|) (one sum of three rows, LN)
  collapse_norms    nrm: |nrm - ref| <= (2·max(n, d) + 8)·u·ref;
                    res: |res - ref| <= (2·max(n, d) + 8)·u·nrm_ref (float sums of n or d
                    terms; the column mean in double); NaN input: both NaN; equal rows:
                    res exactly 0.
  collapse_bound    wqk1, wvo: |v - ref| <= (2·d + 16)·u·ref (products of dh terms, sums
                    of d terms in float).
"""

import math

import numpy as np

from check_vectors import CaseError, Report, require, _shape, _Xoshiro

U = 2.0 ** -24
FLOOR = 2.0 ** -140
F32, F64 = np.float32, np.float64
SLOT_EMBED = 65536
VARIANTS = ("san", "san+mlp", "san+skip", "transformer", "pure", "pure+skip")

_seed_cache = {}


def _subseeds(seed, upto):
    """The master generator's first upto+1 outputs (the per-slot sub-seeds)."""
    have = _seed_cache.get(seed)
    if have is None or len(have[1]) <= upto:
        g = _Xoshiro(seed)
        outs = [g.u64() for _ in range(upto + 1)]
        _seed_cache[seed] = (g, outs)
        have = _seed_cache[seed]
    return have[1]


def _normal_tensor(seed, slot, shape, std=0.02):
    sub = _subseeds(seed, slot)[slot]
    g = _Xoshiro(sub)
    count = int(np.prod(shape))
    vals = np.array([g.normal() for _ in range(count)], dtype=np.float64)
    return (std * vals).astype(np.float32).astype(np.float64).reshape(shape)


def _weights(seed, L, d, dff):
    """Per layer: wq, wk, wv, wo (d, d), w1 (dff, d), w2 (d, dff) as float64; biases 0."""
    layers = []
    for l in range(L):
        w = {k: _normal_tensor(seed, 8 * l + i, (d, d)) for i, k in enumerate(("wq", "wk", "wv", "wo"))}
        if dff:
            w["w1"] = _normal_tensor(seed, 8 * l + 4, (dff, d))
            w["w2"] = _normal_tensor(seed, 8 * l + 5, (d, dff))
        layers.append(w)
    return layers


_erf = np.vectorize(math.erf)
_erfc = np.vectorize(math.erfc)


def _gelu(x):
    z = x / math.sqrt(2.0)
    return np.where(z >= 0, 0.5 * x * (1.0 + _erf(z)), 0.5 * x * _erfc(-z))


def _ln(x, eps):
    m = x.mean(axis=1, keepdims=True)
    v = ((x - m) ** 2).mean(axis=1, keepdims=True)
    return (x - m) / np.sqrt(v + eps)   # gamma 1, beta 0 at BERT's initialisation


def _softmax(s):
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def _sa(x, w, H):
    n, d = x.shape
    dh = d // H
    q, k, v = x @ w["wq"].T, x @ w["wk"].T, x @ w["wv"].T   # biases are 0
    o = np.empty_like(x)
    for h in range(H):
        sl = slice(h * dh, (h + 1) * dh)
        p = _softmax(q[:, sl] @ k[:, sl].T / math.sqrt(dh))
        o[:, sl] = p @ v[:, sl]
    return o @ w["wo"].T


def _ffn(x, w):
    return _gelu(x @ w["w1"].T) @ w["w2"].T


def _forward(variant, x, layers, H, eps):
    xs = [x]
    for w in layers:
        s = _sa(x, w, H)
        if variant == "pure":
            x = s
        elif variant == "pure+skip":
            x = x + s
        elif variant == "san":
            x = _ln(s, eps)
        elif variant == "san+skip":
            x = _ln(x + s, eps)
        else:
            y = _ln(x + s, eps) if variant == "transformer" else _ln(s, eps)
            x = _ln(y + _ffn(y, w), eps)
        xs.append(x)
    return xs


def _composite(a):
    return math.sqrt(np.abs(a).sum(axis=0).max() * np.abs(a).sum(axis=1).max())


def _norms(x):
    return _composite(x - x.mean(axis=0, keepdims=True)), _composite(x)


def check_forward(case):
    keys = ("variant", "n", "d", "H", "L", "dff", "seed")
    require(case, {"x0": (F32, 2)}, {"r": (F64, 1), "res": (F64, 1), "x": (F32, 2)}, keys)
    p = case["params"]
    for k in keys:
        if k not in p:
            raise CaseError("missing param '%s'" % k)
    v, n, d, H, L, dff, seed = (p[k] for k in keys)
    if not (0 <= v < len(VARIANTS)) or n < 1 or d < 1 or H < 1 or d % H or L < 1 or dff < 0:
        raise CaseError("bad params")
    variant = VARIANTS[v]
    if variant in ("san+mlp", "transformer") and dff < 1:
        raise CaseError("variant %s needs dff > 0" % variant)
    x0 = _shape(case, "inputs", "x0", (n, d)).astype(np.float64)
    r_got = _shape(case, "outputs", "r", (L + 1,))
    res_got = _shape(case, "outputs", "res", (L + 1,))
    x_got = _shape(case, "outputs", "x", (n, d))
    layers = _weights(seed, L, d, dff if variant in ("san+mlp", "transformer") else 0)
    xs = _forward(variant, x0, layers, H, float(np.float32(1e-12)))
    K = float((L + 1) * (n + d + dff))
    res_ref = np.array([_norms(a)[0] for a in xs])
    nrm_ref = np.array([_norms(a)[1] for a in xs])
    rep = Report(case)
    rep.compare("x", x_got, xs[-1], K * U * np.abs(xs[-1]).max() + FLOOR)
    rep.compare("res", res_got, res_ref, K * U * nrm_ref + FLOOR)
    rep.compare("r", r_got, res_ref / nrm_ref, K * U + FLOOR)
    return rep.verdict()


def check_embed(case):
    keys = ("n", "d", "V", "seed")
    require(case, {"tok": (F32, 1)}, {"x": (F32, 2)}, keys)
    p = case["params"]
    for k in keys:
        if k not in p:
            raise CaseError("missing param '%s'" % k)
    n, d, V, seed = (p[k] for k in keys)
    tok = _shape(case, "inputs", "tok", (n,))
    if np.any(tok != np.floor(tok)) or np.any(tok < 0) or np.any(tok >= V):
        raise CaseError("tok must hold ids in [0, V)")
    x_got = _shape(case, "outputs", "x", (n, d))
    wte = _normal_tensor(seed, SLOT_EMBED, (V, d))
    wpe = _normal_tensor(seed, SLOT_EMBED + 1, (n, d))
    wtt = _normal_tensor(seed, SLOT_EMBED + 2, (d,))
    ref = _ln(wte[tok.astype(np.int64)] + wpe + wtt[None, :], float(np.float32(1e-12)))
    rep = Report(case)
    rep.compare("x", x_got, ref, 8.0 * (d + 4) * U * np.maximum(1.0, np.abs(ref)) + FLOOR)
    return rep.verdict()


def check_norms(case):
    require(case, {"x": (F32, 2)}, {"res": (F64, 1), "nrm": (F64, 1)})
    x = case["inputs"]["x"].astype(np.float64)
    n, d = x.shape
    res_got = _shape(case, "outputs", "res", (1,))
    nrm_got = _shape(case, "outputs", "nrm", (1,))
    rep = Report(case)
    if np.isnan(x).any():
        rep.compare("res", res_got, np.array([np.nan]), np.array([0.0]))
        rep.compare("nrm", nrm_got, np.array([np.nan]), np.array([0.0]))
        return rep.verdict()
    res_ref, nrm_ref = _norms(x)
    k = (2.0 * max(n, d) + 8.0) * U
    if np.all(x == x[0:1, :]):
        rep.exact("res", res_got, np.array([0.0]))
    else:
        rep.compare("res", res_got, np.array([res_ref]), np.array([k * nrm_ref + FLOOR]))
    rep.compare("nrm", nrm_got, np.array([nrm_ref]), np.array([k * nrm_ref + FLOOR]))
    return rep.verdict()


def check_bound(case):
    keys = ("d", "H", "L", "seed")
    require(case, {}, {"wqk1": (F64, 2), "wvo": (F64, 2)}, keys)
    p = case["params"]
    for k in keys:
        if k not in p:
            raise CaseError("missing param '%s'" % k)
    d, H, L, seed = (p[k] for k in keys)
    if d % H:
        raise CaseError("d not divisible by H")
    dh = d // H
    q_got = _shape(case, "outputs", "wqk1", (L, H))
    v_got = _shape(case, "outputs", "wvo", (L, H))
    layers = _weights(seed, L, d, 0)
    q_ref = np.zeros((L, H))
    v_ref = np.zeros((L, H))
    for l, w in enumerate(layers):
        for h in range(H):
            sl = slice(h * dh, (h + 1) * dh)
            wqk = w["wq"][sl, :].T @ w["wk"][sl, :]          # logits x W_QK y
            wvo = w["wv"][sl, :].T @ w["wo"][:, sl].T        # SA(X) = sum_h P_h X W_VO,h
            q_ref[l, h] = np.abs(wqk).sum(axis=0).max()
            v_ref[l, h] = _composite(wvo)
    k = (2.0 * d + 16.0) * U
    rep = Report(case)
    rep.compare("wqk1", q_got, q_ref, k * q_ref + FLOOR)
    rep.compare("wvo", v_got, v_ref, k * v_ref + FLOOR)
    return rep.verdict()


CHECKS = {
    "collapse_forward": check_forward,
    "collapse_embed": check_embed,
    "collapse_norms": check_norms,
    "collapse_bound": check_bound,
}

TOLERANCES = {
    "collapse_forward": "x, res: (L+1)(n+d+dff)u of max|X_L|, ||X_l||; r: same in u",
    "collapse_embed": "8(d+4)u·max(1,|x|)",
    "collapse_norms": "(2max(n,d)+8)u of ||X||; equal rows exact 0",
    "collapse_bound": "(2d+16)u relative",
}
