#!/usr/bin/python3
"""check_model_torch.py — independence check of the model (SPEC §1.2, §3) with PyTorch.

    /usr/bin/python3 tools/check_model_torch.py DIR [DIR ...]     check `qkspec dump` outputs
    /usr/bin/python3 tools/check_model_torch.py --all [--qkspec build/qkspec] [--keep]
    /usr/bin/python3 tools/check_model_torch.py --selftest [--qkspec build/qkspec]
    options: -v / --verbose (print every tensor also for agreeing configurations)

Rebuilds the transformer of SPEC §1.2 (the language model, or the random-walk "theory"
model) in float64 PyTorch from the parameters a `qkspec dump` wrote (config.json,
NAME.npy, tokens.npy / walk.npy, sr_u.npy / sr_v.npy), recomputes the data loss, the
LocAteR penalty, the logits (or walk predictions) and, with torch.autograd, the gradient
of loss + LocAteR with respect to every parameter tensor, and compares them with the
values the C model dumped (loss.npy, reg.npy, logits.npy / pred.npy, grad_NAME.npy).
Nothing is taken from the C code's derived values: positions are recomputed, σ is
recomputed from the dumped power-iteration vectors u and v, Ŵ from γ, σ and W.

The reference follows SPEC §1.1/§1.2:
  LM:   x0 = wte[tok]·sqrt(d) + pos,  pos[t, i] = sin((t+2) f_i), pos[t, d/2+i] =
        cos((t+2) f_i), f_i = exp(-i ln(10000)/(d/2-1)) (fairseq layout; odd d: last
        channel 0); per layer (pre-LN) h = LN1(x); x1 = x + attn(h); x2 = x1 +
        ffn(LN2(x1)); final LNf; (post-LN) x1 = LN1(x + attn(x)), x2 = LN2(x1 +
        ffn(x1)), no final LN; (none) no LN at all. attn: q/k/v = h Wᵀ + b, head h uses
        rows h·dh..(h+1)·dh, softmax(q kᵀ/sqrt(dh)) with a causal mask, heads
        concatenated, then wo, bo. ffn = W2 relu(W1 x + b1) + b2. logits = x Woutᵀ
        (no bias); loss = mean cross-entropy of tokens[:, 1:] given tokens[:, :T].
  walk: x0 = walk[:, :T, :] (no embedding, positions or final LN), attention NOT
        causal; prediction = output at position T-1; loss = mean over B·d of
        (pred - walk[:, T, :])².
  LocAteR R = Σ_layers Σ_heads κ1 ‖W_Q,hᵀ W_K,h‖_F² + κ2 (tr(W_Q,hᵀ W_K,h) - 1)², on
        the weights the forward uses (Ŵ under σReparam); gradients of loss + R. With
        "locater_norm": "sum" (SPEC §1.1) κ1 and κ2 are divided by the number of terms
        of the data loss, N = B·T (LM) or B·d (walk): R/N is added.
  dropout (SPEC §1.2, "dropout": P > 0): x0 ∘ M0 (LM only), r1 = x + M_{1+2l} ∘ (o Woᵀ
        + bo), r2 = x1 + M_{2+2l} ∘ ffn. The masks M are recomputed here from the
        counter-based generator qk_model.h documents (dropout_masks below: splitmix64
        of (seed, step, site, index), element dropped iff (h >> 40) < floor(P·2^24),
        kept ones multiplied by float32(1/(1 - P))) and must equal the dumped
        dropout_mask.npy bit for bit; a dump is step 0.
  variants (SPEC §1.4, "variant"; absent: transformer): san has no attention residual
        and no FFN, san+mlp no attention residual, san+skip no FFN, pure and pure+skip
        are san and san+skip without any LayerNorm (also no final LN); "act": "gelu"
        uses the erf form 0.5x(1 + erf(x/sqrt 2)) (torch's exact GELU) in the FFN.
  init "fairseq" / "legacy" / "bert" changes only the parameters, which are read from
        the dump.
  σReparam: Ŵ = (γ/σ) W, σ = vᵀ W u with the dumped u, v as constants (differentiated
        through W only); γ = sr_gamma[l, lin], lin in the order q, k, v, o, fc1, fc2;
        mode "qk" wraps q and k only, "all" all six.

Tolerances (float32 C against float64 reference)
------------------------------------------------
u = 2^-24 ≈ 6e-8 is float32's unit roundoff. Every number the C model produces is the
end of a chain of float32 operations: FMA chains of length K for each product (error
≤ γ_K ≈ K·u relative to Σ_k |a_k b_k| in the worst case, ≈ sqrt(K)·u for the usual
independent roundings), 8-lane reductions, exp/log within 1 ulp, LayerNorm and softmax
(a few u each). The longest inner dimension in the checked configurations is the
B·T = 640 rows summed by the weight gradients of the walk preset (≤ 128 elsewhere),
and a gradient is the product of ~3·L + 4 such stages, each O(1)-conditioned at
initialisation, so the expected norm-wise relative error of a gradient tensor is
~sqrt(640)·u·(a few) ≈ 1e-6; even the worst-case γ_640 ≈ 4e-5 of one stage is below the
gradient tolerance. The float64 reference errs by ~1e-15 and counts as exact. A real
defect (a missing term, a wrong sign or factor, a wrong head slice, 1/sqrt(d) instead of
1/sqrt(dh), a wrong LN placement) changes results by 1e-3 .. 1, far above:

  quantity               norm-wise ‖c − r‖/‖r‖    elementwise |c_i − r_i| ≤
  loss, LocAteR          rel ≤ 1e-5               (scalars; a 0 must be exactly 0)
  logits, predictions    ≤ 1e-5                   1e-4·|r_i| + 1e-5·max|r|
  gradients              ≤ 1e-4                   1e-3·|r_i| + 1e-4·max|r|

The norm-wise bound is the main criterion. The elementwise bound catches a single wrong
entry that a norm would dilute; its floor (a fraction of the tensor's largest entry) is
needed because an entry that is a sum of cancelling terms carries an absolute error of
order u·(size of the terms), not u·|entry|.

Two gradients are sums with cancellation by construction; for them the size of the
terms, Σ|terms| (computed in float64 here), replaces |r| as the scale (norm-wise
‖c − r‖ ≤ 1e-4·‖Σ|terms|‖, elementwise |c_i − r_i| ≤ 1e-3·|r_i| + 1e-4·Σ|terms|_i):
  grad_bk = Σ_rows dL/dk is exactly 0 in exact arithmetic (softmax is invariant to the
      per-query shift q·b_k); float32 leaves ~1e-9, float64 ~1e-19. Terms: |dL/dk|.
  grad_sr_gamma = <G, W>/σ (G = dL/dŴ) cancels by ~100x at initialisation. Terms:
      Σ|G∘W|/σ. (γ of a layer σReparam does not wrap must be exactly 0.)

Observed over the --all matrix with seed offsets 0, 1000, .., 5000 (282 dumps): worst
gradient norm-wise error 6.2e-6 (walk, 2 layers), typically 2e-7 .. 1e-6 for the LM;
worst elementwise error/tolerance 0.06; loss ≤ 4e-7, logits/predictions ≤ 3e-7.

Output: per configuration one line: `ok` or `FAIL`, its name, the relative errors of the
loss, LocAteR and output, the worst gradient norm-wise error (tensor, tolerance) and the
worst elementwise error/tolerance (tensor); with -v, or on a failure, a table per tensor: achieved norm-wise relative error, its
tolerance, the worst elementwise ratio |c−r|/allowed and the index of that entry. The
last line is exactly `check_model_torch: N configurations agree, M disagree`; exit 1
if M > 0, 2 on a usage error.

--all runs `qkspec dump` for a matrix of configurations (tiny with every --ln, H = 1
and 2, LocAteR off/on, σReparam off/qk/all; --layers 2; the small preset; the walk
preset with and without LocAteR and σReparam) into a temporary directory and checks
each. --selftest checks one dump, then perturbs one element of every dumped gradient
tensor in turn (in memory; by 10× its elementwise tolerance, in the entry with the
widest allowance), the output, the loss and the LocAteR value, then one weight (wq, by
1%), truncates and removes a gradient, and exits 0 only if every change is reported as
a disagreement (of exactly the changed tensor, for the value perturbations) and the
unperturbed dumps agree. --seed-offset N shifts every seed of --all.

Limitation: with LayerNorm and d = 2 the check fails by design, not because of a bug:
LN over two channels maps every row to ±(1, −1)·γ + β, its Jacobian is ~eps/var, and
every gradient upstream of it is pure cancellation (errors ~1e-4 relative). Use d ≥ 4.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

torch.set_num_threads(1)
DT = torch.float64

TOL_SCALAR = 1e-5
TOL_OUT_NORM, TOL_OUT_REL, TOL_OUT_FLOOR = 1e-5, 1e-4, 1e-5
TOL_GRAD_NORM, TOL_GRAD_REL, TOL_GRAD_FLOOR = 1e-4, 1e-3, 1e-4

LIN_PARAM = ["wq", "wk", "wv", "wo", "w1", "w2"]

# ----------------------------------------------------------------------------- dropout masks
M64 = 0xFFFFFFFFFFFFFFFF
GOLDEN = 0x9E3779B97F4A7C15
DROP_DOMAIN = 0x64726F706F7574  # "dropout"


def _sm64(x):
    """splitmix64's output from state x (Python ints, mod 2^64)."""
    z = (x + GOLDEN) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _sm64_array(x):
    """_sm64 of a uint64 array (numpy's uint64 arithmetic wraps mod 2^64)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def dropout_masks(seed, step, cfg):
    """The multipliers (1 + 2L, B, T, d) float32 of qk_model.h's counter-based dropout:
    key = sm(sm(sm(seed ^ "dropout") ^ step) ^ site), h_i = sm(key + i·golden), element i
    dropped iff (h_i >> 40) < floor(P·2^24), else multiplied by float32(1/(1 - P)). Site 0
    (the embedding sum) is all 1 for the walk model, whose input is not dropped; the FFN's
    sites 2 + 2l are all 1 for a variant without FFN."""
    L, B, T, d = cfg["layers"], cfg["batch"], cfg["seq"], cfg["d"]
    p = np.float32(cfg["dropout"])
    thr = int(p * np.float32(16777216.0))
    keep = np.float32(1.0) / (np.float32(1.0) - p)
    n = B * T * d
    idx = np.arange(n, dtype=np.uint64)
    out = np.empty((1 + 2 * L, n), dtype=np.float32)
    k0 = _sm64(int(seed) ^ DROP_DOMAIN)
    for site in range(1 + 2 * L):
        key = _sm64(_sm64(k0 ^ int(step)) ^ site)
        with np.errstate(over="ignore"):
            h = _sm64_array(np.uint64(key) + idx * np.uint64(GOLDEN))
        out[site] = np.where((h >> np.uint64(40)) < np.uint64(thr), np.float32(0.0), keep)
    if cfg["model"] != "lm":
        out[0] = np.float32(1.0)
    if cfg.get("variant", "transformer") not in ("transformer", "san+mlp"):
        out[2::2] = np.float32(1.0)  # no FFN: its sites hold 1
    return out.reshape(1 + 2 * L, B, T, d)


# ----------------------------------------------------------------------------- loading
class Dump:
    """A dump directory read into memory (numpy arrays, float32 as written)."""

    def __init__(self, path):
        self.path = path
        with open(os.path.join(path, "config.json")) as f:
            self.cfg = json.load(f)
        self.arrays = {}
        for fn in sorted(os.listdir(path)):
            if fn.endswith(".npy"):
                self.arrays[fn[:-4]] = np.load(os.path.join(path, fn))

    def get(self, name):
        if name not in self.arrays:
            raise KeyError("%s: %s.npy missing" % (self.path, name))
        return self.arrays[name]


def expected_params(cfg):
    """Names of the parameter tensors the configuration uses (as the dump names them)."""
    lm = cfg["model"] == "lm"
    names = []
    if lm:
        names += ["wte", "wout"]
    ffn = cfg["dff"] > 0  # a variant without FFN may leave its tensors out (dff 0)
    if cfg["ln"] == "pre" and lm:  # the walk model has no final LayerNorm
        names += ["lnf_g", "lnf_b"]
    if cfg["ln"] != "none":
        names += ["ln1_g", "ln1_b"] + (["ln2_g", "ln2_b"] if ffn else [])
    names += ["wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo"] + (["w1", "b1", "w2", "b2"] if ffn else [])
    if cfg["sigma_reparam"] != "off":
        names += ["sr_gamma"]
    return names


# ----------------------------------------------------------------------------- reference
def positions(T, d):
    """fairseq sinusoidal positions, float64, computed here from the definition."""
    half = d // 2
    pos = np.zeros((T, d))
    step = math.log(10000.0) / (half - 1) if half > 1 else 0.0
    for t in range(T):
        for i in range(half):
            a = (t + 2) * math.exp(-step * i)
            pos[t, i] = math.sin(a)
            pos[t, half + i] = math.cos(a)
    return torch.tensor(pos, dtype=DT)


def layer_norm(x, g, b, eps):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * g + b


def reference(dump):
    """float64 forward + autograd backward. Returns dict of scalar/tensor results."""
    cfg = dump.cfg
    lm = cfg["model"] == "lm"
    d, H, L, T, B = cfg["d"], cfg["heads"], cfg["layers"], cfg["seq"], cfg["batch"]
    dh = d // H
    variant = cfg.get("variant", "transformer")
    skip = variant in ("transformer", "san+skip", "pure+skip")
    has_ffn = variant in ("transformer", "san+mlp")
    gelu = cfg.get("act", "relu") == "gelu"
    # the layers' LayerNorm: cfg's, none for the pure variants (their LN tensors unused)
    ln, eps = ("none" if variant.startswith("pure") else cfg["ln"]), float(cfg["ln_eps"])
    k1, k2 = float(cfg["kappa1"]), float(cfg["kappa2"])
    if cfg.get("locater_norm", "token") == "sum":
        nterms = B * T if lm else B * d
        k1, k2 = k1 / nterms, k2 / nterms
    sr = cfg["sigma_reparam"]
    drop = float(cfg.get("dropout", 0.0)) > 0.0
    if drop:
        masks = torch.tensor(dropout_masks(cfg["seed"], getattr(dump, "step", 0), cfg).astype(np.float64), dtype=DT)
    P = {}
    for name in expected_params(cfg):
        P[name] = torch.tensor(dump.get(name).astype(np.float64), dtype=DT, requires_grad=True)
    if sr != "off":
        md = max(d, cfg["dff"])
        sr_u = torch.tensor(dump.get("sr_u").astype(np.float64), dtype=DT)
        sr_v = torch.tensor(dump.get("sr_v").astype(np.float64), dtype=DT)
        assert sr_u.shape == (L, 6, md) and sr_v.shape == (L, 6, md), "sr_u/sr_v shape"

    def wrapped(lin):
        return sr == "all" or (sr == "qk" and lin in (0, 1))

    def weight(l, lin):
        W = P[LIN_PARAM[lin]][l]
        if not wrapped(lin):
            return W
        out, inn = W.shape
        u = sr_u[l, lin, :inn]
        v = sr_v[l, lin, :out]
        sigma = v @ (W @ u)
        What = (P["sr_gamma"][l, lin] / sigma) * W
        What.retain_grad()  # G = dL/dŴ: the terms of grad_sr_gamma = <G, W>/σ
        sr_terms.append((l, lin, What, W, sigma))
        return What

    if lm:
        tok = torch.tensor(dump.get("tokens").astype(np.int64))
        assert tok.shape == (B, T + 1), "tokens shape"
        emb = P["wte"].index_select(0, tok[:, :T].reshape(-1)).reshape(B, T, d)
        x = emb * math.sqrt(d) + positions(T, d)
        if drop:
            x = x * masks[0]
    else:
        walk = torch.tensor(dump.get("walk").astype(np.float64), dtype=DT)
        assert walk.shape == (B, T + 1, d), "walk shape"
        x = walk[:, :T, :]
    mask = torch.ones(T, T, dtype=torch.bool).tril() if lm else None

    reg = torch.zeros((), dtype=DT)
    kacts, sr_terms = [], []
    for l in range(L):
        Wq, Wk, Wv, Wo = (weight(l, i) for i in range(4))
        # LocAteR on the weights used, per head, via the explicit d×d W_QK
        for h in range(H):
            wqh, wkh = Wq[h * dh:(h + 1) * dh, :], Wk[h * dh:(h + 1) * dh, :]
            wqk = wqh.t() @ wkh
            reg = reg + k1 * (wqk * wqk).sum() + k2 * (torch.trace(wqk) - 1.0) ** 2
        hin = layer_norm(x, P["ln1_g"][l], P["ln1_b"][l], eps) if ln == "pre" else x
        q = hin @ Wq.t() + P["bq"][l]
        k = hin @ Wk.t() + P["bk"][l]
        k.retain_grad()  # dL/dk: the scale of the terms grad_bk sums (see check_arrays)
        kacts.append(k)
        v = hin @ Wv.t() + P["bv"][l]
        q = q.reshape(B, T, H, dh).transpose(1, 2)
        k = k.reshape(B, T, H, dh).transpose(1, 2)
        v = v.reshape(B, T, H, dh).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if mask is not None:
            s = s.masked_fill(~mask, float("-inf"))
        a = torch.softmax(s, dim=-1)
        o = (a @ v).transpose(1, 2).reshape(B, T, d)
        attn = o @ Wo.t() + P["bo"][l]
        r1 = attn * masks[1 + 2 * l] if drop else attn
        if skip:
            r1 = x + r1
        x1 = layer_norm(r1, P["ln1_g"][l], P["ln1_b"][l], eps) if ln == "post" else r1
        if not has_ffn:
            x = x1
            continue
        W1, W2 = weight(l, 4), weight(l, 5)
        h2 = layer_norm(x1, P["ln2_g"][l], P["ln2_b"][l], eps) if ln == "pre" else x1
        z = h2 @ W1.t() + P["b1"][l]
        a1 = 0.5 * z * (1.0 + torch.erf(z / math.sqrt(2.0))) if gelu else torch.relu(z)
        f = a1 @ W2.t() + P["b2"][l]
        r2 = x1 + (f * masks[2 + 2 * l] if drop else f)
        x = layer_norm(r2, P["ln2_g"][l], P["ln2_b"][l], eps) if ln == "post" else r2

    if lm:
        if ln == "pre":
            x = layer_norm(x, P["lnf_g"], P["lnf_b"], eps)
        out = x @ P["wout"].t()
        loss = torch.nn.functional.cross_entropy(out.reshape(B * T, -1), tok[:, 1:].reshape(-1))
    else:
        out = x[:, T - 1, :]
        loss = ((out - walk[:, T, :]) ** 2).mean()
    (loss + reg).backward()
    res = {"loss": loss.item(), "reg": reg.item(), "out": out.detach().numpy()}
    if drop:
        res["dropout_mask"] = masks.numpy().astype(np.float32)
    for name, t in P.items():
        res["grad_" + name] = t.grad.numpy() if t.grad is not None else np.zeros(tuple(t.shape))
    # Σ_rows |dL/dk| per layer and channel: grad_bk = Σ_rows dL/dk is exactly 0 (softmax is
    # invariant to a per-row shift of the logits, and q·b_k is one), so only the size of
    # the terms bounds the float32 result.
    res["grad_bk"] = np.zeros((L, d))
    res["terms_grad_bk"] = np.stack([k.grad.abs().sum(dim=(0, 1)).numpy() for k in kacts])
    # grad_sr_gamma[l, lin] = <G, W>/σ sums terms of both signs (cancellation by 100x is
    # common at initialisation); its float32 error scales with Σ|G∘W|/σ, not with the value.
    if sr != "off":
        t = np.zeros((L, 6))
        for l, lin, What, W, sigma in sr_terms:
            t[l, lin] = ((What.grad * W).abs().sum() / sigma.abs()).item()
        res["terms_grad_sr_gamma"] = t
    return res


# ----------------------------------------------------------------------------- comparison
class Row:
    def __init__(self, name, norm_rel, norm_tol, elem_ratio, elem_idx, ok, note=""):
        self.name, self.norm_rel, self.norm_tol = name, norm_rel, norm_tol
        self.elem_ratio, self.elem_idx, self.ok, self.note = elem_ratio, elem_idx, ok, note


def compare_tensor(name, c, r, norm_tol, rel, floor, terms=None):
    """Norm-wise ‖c − r‖/‖r‖ <= norm_tol and elementwise |c_i − r_i| <= rel·|r_i| +
    floor·max|r|. With `terms` (Σ of the absolute values of the terms each entry sums,
    for entries computed with cancellation), ‖terms‖ replaces ‖r‖ and terms_i replaces
    max|r| in the floor. Where the allowance is 0 (reference exactly 0 with no terms),
    the dump must hold exactly 0."""
    c = np.asarray(c, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    if c.shape != r.shape:
        return Row(name, float("inf"), norm_tol, float("inf"), None, False,
                   "shape %s, expected %s" % (c.shape, r.shape))
    if not np.all(np.isfinite(c)):
        return Row(name, float("inf"), norm_tol, float("inf"), None, False, "non-finite values")
    if terms is None:
        scale = np.linalg.norm(r)
        allowed = rel * np.abs(r) + floor * np.max(np.abs(r))
    else:
        terms = np.asarray(terms, dtype=np.float64)
        scale = np.linalg.norm(terms)
        allowed = rel * np.abs(r) + floor * terms
    diff = np.abs(c - r)
    dn = np.linalg.norm(c - r)
    norm_rel = dn / scale if scale > 0 else (0.0 if dn == 0 else float("inf"))
    ratio = np.where(allowed > 0, diff / np.where(allowed > 0, allowed, 1.0), np.where(diff == 0, 0.0, np.inf))
    j = int(np.argmax(ratio))
    idx = tuple(int(i) for i in np.unravel_index(j, r.shape))
    elem = float(ratio.flat[j])
    ok = norm_rel <= norm_tol and elem <= 1.0
    note = "" if elem <= 1.0 else "entry %s: C %.9g, reference %.9g%s" % (
        idx, c.flat[j], r.flat[j], "" if terms is None else ", Σ|terms| %.3g" % terms.flat[j])
    if terms is not None:
        note = ("relative to Σ|terms|; " + note).rstrip("; ")
    return Row(name, norm_rel, norm_tol, elem, idx, ok, note)


def compare_exact(name, c, r):
    """Bit-for-bit equality of float32 tensors (the dropout masks)."""
    if c is None:
        return Row(name, float("inf"), 0.0, float("inf"), None, False, "missing from the dump")
    c = np.asarray(c, dtype=np.float32)
    if c.shape != r.shape:
        return Row(name, float("inf"), 0.0, float("inf"), None, False, "shape %s, expected %s" % (c.shape, r.shape))
    bad = c.view(np.uint32) != r.view(np.uint32)
    if not bad.any():
        return Row(name, 0.0, 0.0, 0.0, None, True)
    j = int(np.argmax(bad.ravel()))
    idx = tuple(int(i) for i in np.unravel_index(j, r.shape))
    return Row(name, float("inf"), 0.0, float("inf"), idx, False, "%d of %d differ; entry %s: C %r, generator %r" % (
        int(bad.sum()), bad.size, idx, float(c.flat[j]), float(r.flat[j])))


def compare_scalar(name, c, r, tol):
    c, r = float(np.asarray(c).reshape(-1)[0]), float(r)
    if r == 0.0:
        ok = c == 0.0
        err = 0.0 if ok else float("inf")
    else:
        err = abs(c - r) / abs(r)
        ok = err <= tol and math.isfinite(c)
    return Row(name, err, tol, err / tol if math.isfinite(err) else float("inf"), None, ok,
               "C %.9g, reference %.17g" % (c, r))


def check_arrays(dump, ref):
    """All comparisons of one dump (dump.arrays may have been altered in memory)."""
    cfg = dump.cfg
    rows = [compare_scalar("loss", dump.get("loss"), ref["loss"], TOL_SCALAR),
            compare_scalar("reg (LocAteR)", dump.get("reg"), ref["reg"], TOL_SCALAR)]
    outname = "logits" if cfg["model"] == "lm" else "pred"
    rows.append(compare_tensor(outname, dump.get(outname), ref["out"], TOL_OUT_NORM, TOL_OUT_REL, TOL_OUT_FLOOR))
    if "dropout_mask" in ref:
        rows.append(compare_exact("dropout_mask", dump.arrays.get("dropout_mask"), ref["dropout_mask"]))
    for name in expected_params(cfg):
        g = "grad_" + name
        if g not in dump.arrays:
            rows.append(Row(g, float("inf"), TOL_GRAD_NORM, float("inf"), None, False, "missing from the dump"))
            continue
        rows.append(compare_tensor(g, dump.arrays[g], ref[g], TOL_GRAD_NORM, TOL_GRAD_REL, TOL_GRAD_FLOOR,
                                   ref.get("terms_" + g)))
    extra = sorted(n for n in dump.arrays if n.startswith("grad_") and n[5:] not in expected_params(cfg))
    for g in extra:  # a dumped gradient the reference has no parameter for
        rows.append(Row(g, float("inf"), TOL_GRAD_NORM, float("inf"), None, False, "unexpected tensor in the dump"))
    return rows


def describe(cfg):
    s = "%s d=%d H=%d L=%d dff=%d T=%d B=%d" % (cfg["model"], cfg["d"], cfg["heads"], cfg["layers"], cfg["dff"],
                                               cfg["seq"], cfg["batch"])
    if cfg["model"] == "lm":
        s += " V=%d" % cfg["vocab"]
    s += " ln=%s k1=%g k2=%g sr=%s" % (cfg["ln"], cfg["kappa1"], cfg["kappa2"], cfg["sigma_reparam"])
    s += " norm=%s init=%s dropout=%g" % (cfg.get("locater_norm", "token"), cfg.get("init", "legacy"),
                                          float(cfg.get("dropout", 0.0)))
    return s


def print_rows(rows, indent="    "):
    print("%s%-16s %12s %9s %14s  %s" % (indent, "tensor", "norm rel", "tol", "elem err/tol", ""))
    for r in rows:
        note = r.note if not r.ok else ("relative to Σ|terms|" if r.note.startswith("relative") else "")
        print("%s%-16s %12.3e %9.0e %14.3g  %s%s" % (indent, r.name, r.norm_rel, r.norm_tol, r.elem_ratio,
                                                    "ok" if r.ok else "DISAGREE", (" (" + note + ")") if note
                                                    else ""))


def summarize(label, dump, rows, verbose):
    ok = all(r.ok for r in rows)
    grads = [r for r in rows if r.name.startswith("grad_")]
    worst = max(grads, key=lambda r: r.norm_rel / r.norm_tol)
    outr = rows[2]
    worst_e = max(rows, key=lambda r: r.elem_ratio)
    print("%-4s %-36s loss %.1e, reg %.1e, %s %.1e, worst grad %.2e (%s, tol %.0e), worst elem/tol %.2g (%s)" % (
        "ok" if ok else "FAIL", label, rows[0].norm_rel, rows[1].norm_rel, outr.name, outr.norm_rel,
        worst.norm_rel, worst.name[5:], worst.norm_tol, worst_e.elem_ratio, worst_e.name))
    if verbose or not ok:
        print("     config: " + describe(dump.cfg))
        print_rows(rows)
    return ok


def check_dir(path, label=None, verbose=False):
    try:
        dump = Dump(path)
        ref = reference(dump)
        rows = check_arrays(dump, ref)
    except (KeyError, AssertionError, OSError, ValueError) as e:
        print("FAIL %-36s %s" % (label or path, e))
        return False
    return summarize(label or path, dump, rows, verbose)


# ----------------------------------------------------------------------------- --all
def config_matrix(seed_offset=0):
    """(label, qkspec dump arguments) of the configurations --all checks."""
    cfgs = []
    seed = 10 + seed_offset
    for ln in ("pre", "post", "none"):
        for H in (1, 2):
            for loc in (False, True):
                for sr in ("off", "qk", "all"):
                    seed += 1
                    args = ["--preset", "tiny", "--ln", ln, "--heads", str(H), "--sigma-reparam", sr]
                    if loc:
                        args += ["--kappa1", "1", "--kappa2", "0.1"]
                    label = "tiny ln=%s H=%d%s sr=%s" % (ln, H, " LocAteR" if loc else "", sr)
                    cfgs.append((label, args + ["--seed", str(seed)]))
    for ln in ("pre", "post", "none"):
        seed += 1
        cfgs.append(("tiny L=2 ln=%s" % ln, ["--preset", "tiny", "--layers", "2", "--ln", ln, "--seed", str(seed)]))
    cfgs.append(("tiny L=2 pre LocAteR sr=all", ["--preset", "tiny", "--layers", "2", "--kappa1", "1", "--kappa2",
                                                 "0.1", "--sigma-reparam", "all", "--seed", str(41 + seed_offset)]))
    cfgs.append(("tiny L=3 post H=4 d=16 LocAteR sr=qk",
                 ["--preset", "tiny", "--layers", "3", "--ln", "post", "--d", "16", "--dff", "24", "--heads", "4",
                  "--kappa1", "0.5", "--kappa2", "1", "--sigma-reparam", "qk", "--seed", str(42 + seed_offset)]))
    cfgs.append(("small", ["--preset", "small", "--seed", str(43 + seed_offset)]))
    cfgs.append(("small LocAteR sr=all", ["--preset", "small", "--kappa1", "1", "--kappa2", "0.1",
                                          "--sigma-reparam", "all", "--seed", str(44 + seed_offset)]))
    cfgs.append(("walk", ["--preset", "walk", "--seed", str(45 + seed_offset)]))
    cfgs.append(("walk LocAteR", ["--preset", "walk", "--kappa1", "1", "--kappa2", "0.1", "--seed", str(46 + seed_offset)]))
    cfgs.append(("walk H=2 LocAteR sr=qk", ["--preset", "walk", "--heads", "2", "--kappa1", "100", "--kappa2",
                                            "0.01", "--sigma-reparam", "qk", "--seed", str(47 + seed_offset)]))
    cfgs.append(("walk L=2 sr=all", ["--preset", "walk", "--layers", "2", "--sigma-reparam", "all",
                                     "--seed", str(48 + seed_offset)]))
    # LocAteR's summed weighting, fairseq's initialisation, dropout (SPEC §1.1, §1.2)
    for i, ln in enumerate(("pre", "post", "none")):
        cfgs.append(("tiny ln=%s fairseq dropout 0.2 LocAteR sum" % ln,
                     ["--preset", "tiny", "--ln", ln, "--init", "fairseq", "--dropout", "0.2", "--kappa1", "100",
                      "--kappa2", "1", "--locater-norm", "sum", "--seed", str(50 + i + seed_offset)]))
    cfgs.append(("tiny L=2 H=1 fairseq dropout 0.5 sr=all",
                 ["--preset", "tiny", "--layers", "2", "--heads", "1", "--init", "fairseq", "--dropout", "0.5",
                  "--sigma-reparam", "all", "--seed", str(53 + seed_offset)]))
    cfgs.append(("small fairseq dropout 0.1 LocAteR sum",
                 ["--preset", "small", "--init", "fairseq", "--dropout", "0.1", "--kappa1", "100", "--kappa2",
                  "0.01", "--locater-norm", "sum", "--seed", str(54 + seed_offset)]))
    cfgs.append(("small fairseq LocAteR token",
                 ["--preset", "small", "--init", "fairseq", "--kappa1", "100", "--kappa2", "0.01",
                  "--seed", str(55 + seed_offset)]))
    cfgs.append(("walk fairseq dropout 0.2 LocAteR sum",
                 ["--preset", "walk", "--init", "fairseq", "--dropout", "0.2", "--kappa1", "100", "--kappa2", "0.1",
                  "--locater-norm", "sum", "--seed", str(56 + seed_offset)]))
    # the variants of SPEC §1.4 as model options, each LayerNorm placement they allow,
    # ReLU and GELU; two layers; and the continuous stack collapse runs (walk, post-LN,
    # GELU, BERT initialisation)
    seed = 60 + seed_offset
    for v in ("san", "san+mlp", "san+skip", "transformer", "pure", "pure+skip"):
        for ln in (("none",) if v.startswith("pure") else ("pre", "post", "none")):
            for act in ("relu", "gelu"):
                seed += 1
                args = ["--preset", "tiny", "--layers", "2", "--variant", v, "--ln", ln, "--act", act]
                if v in ("san+mlp", "transformer"):
                    args += ["--dff", "12"]
                cfgs.append(("tiny L=2 %s ln=%s %s" % (v, ln, act), args + ["--seed", str(seed)]))
        seed += 1
        cfgs.append(("walk L=3 %s post gelu bert" % v,
                     ["--preset", "walk", "--layers", "3", "--heads", "2", "--variant", v, "--ln",
                      "none" if v.startswith("pure") else "post", "--act", "gelu", "--init", "bert", "--dropout",
                      "0.1", "--seed", str(seed)]))
    return cfgs


def run_dump(qkspec, args, out):
    cmd = [qkspec, "dump"] + args + ["--out", out]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    except OSError as e:
        raise RuntimeError("%s: %s" % (" ".join(cmd), e))
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stdout.strip()))
    return cmd


def default_qkspec():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(os.path.dirname(here), "build", "qkspec")


def run_all(qkspec, verbose, keep, seed_offset=0):
    tmp = tempfile.mkdtemp(prefix="check_model_torch.")
    good = bad = 0
    t0 = time.time()
    try:
        for i, (label, args) in enumerate(config_matrix(seed_offset)):
            out = os.path.join(tmp, "c%02d" % i)
            try:
                run_dump(qkspec, args, out)
            except RuntimeError as e:
                print("FAIL %-36s %s" % (label, e))
                bad += 1
                continue
            if check_dir(out, label, verbose):
                good += 1
            else:
                print("     reproduce: %s dump %s --out DIR" % (qkspec, " ".join(args)))
                bad += 1
    finally:
        if keep:
            print("dumps kept in " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s; tolerances: loss/reg rel %.0e; output norm rel %.0e, elem %.0e|r|+%.0e max|r|; "
          "gradient norm rel %.0e, elem %.0e|r|+%.0e max|r|)" % (
              time.time() - t0, TOL_SCALAR, TOL_OUT_NORM, TOL_OUT_REL, TOL_OUT_FLOOR, TOL_GRAD_NORM,
              TOL_GRAD_REL, TOL_GRAD_FLOOR))
    return good, bad


# ----------------------------------------------------------------------------- --selftest
def selftest(qkspec):
    """Perturb dumped values in memory and require every perturbation to be caught."""
    tmp = tempfile.mkdtemp(prefix="check_model_torch.selftest.")
    failures = 0
    try:
        cases = [("tiny LocAteR sr=all", ["--preset", "tiny", "--kappa1", "1", "--kappa2", "0.1",
                                          "--sigma-reparam", "all", "--seed", "5"]),
                 ("walk LocAteR", ["--preset", "walk", "--kappa1", "1", "--kappa2", "0.1", "--seed", "6"]),
                 ("dropout fairseq LocAteR sum", ["--preset", "tiny", "--init", "fairseq", "--dropout", "0.3",
                                                  "--kappa1", "100", "--kappa2", "1", "--locater-norm", "sum",
                                                  "--seed", "7"])]
        for label, args in cases:
            out = os.path.join(tmp, label.split()[0])
            run_dump(qkspec, args, out)
            dump = Dump(out)
            ref = reference(dump)
            rows = check_arrays(dump, ref)
            if not all(r.ok for r in rows):
                print("selftest: the unperturbed dump %s does not agree" % label)
                print_rows(rows)
                failures += 1
                continue
            targets = ["grad_" + n for n in expected_params(dump.cfg)]
            targets += ["logits" if dump.cfg["model"] == "lm" else "pred", "loss", "reg"]
            caught = 0
            for name in targets:
                orig = dump.arrays[name]
                a = orig.astype(np.float32).copy()
                if name in ("loss", "reg"):
                    j, delta = 0, 10 * TOL_SCALAR * abs(float(a.flat[0]))
                else:
                    r = np.abs(ref["out"] if name in ("logits", "pred") else ref[name]).reshape(-1)
                    if name in ("logits", "pred"):
                        allowed = TOL_OUT_REL * r + TOL_OUT_FLOOR * r.max()
                    elif "terms_" + name in ref:
                        allowed = TOL_GRAD_REL * r + TOL_GRAD_FLOOR * ref["terms_" + name].reshape(-1)
                    else:
                        allowed = TOL_GRAD_REL * r + TOL_GRAD_FLOOR * r.max()
                    j = int(np.argmax(allowed))  # the entry with the widest allowance
                    delta = 10 * allowed[j]
                if delta == 0.0:
                    delta = 1e-3
                a.flat[j] = np.float32(float(a.flat[j]) + delta)
                dump.arrays[name] = a
                rows = check_arrays(dump, ref)
                dump.arrays[name] = orig
                bad = [x.name for x in rows if not x.ok]
                if bad == [name if name != "reg" else "reg (LocAteR)"]:
                    caught += 1
                else:
                    failures += 1
                    print("selftest: %s: perturbing %s[%d] by %.3g was %s" % (
                        label, name, j, delta, "not detected" if not bad else "reported as " + ", ".join(bad)))
            if "dropout_mask" in dump.arrays:  # one multiplier flipped (kept <-> dropped)
                orig = dump.arrays["dropout_mask"]
                a = orig.copy()
                keep = np.float32(1.0) / (np.float32(1.0) - np.float32(dump.cfg["dropout"]))
                a.flat[5] = np.float32(0.0) if a.flat[5] != 0 else keep
                dump.arrays["dropout_mask"] = a
                bad = [x.name for x in check_arrays(dump, ref) if not x.ok]
                dump.arrays["dropout_mask"] = orig
                targets.append("dropout_mask")
                if bad == ["dropout_mask"]:
                    caught += 1
                else:
                    failures += 1
                    print("selftest: %s: flipping dropout_mask[5] was %s" % (
                        label, "not detected" if not bad else "reported as " + ", ".join(bad)))
            print("selftest: %s: %d of %d perturbations detected (one element of each gradient tensor, "
                  "the output, loss and reg%s)" % (label, caught, len(targets),
                                                  ", the dropout mask" if "dropout_mask" in dump.arrays else ""))
        # the reference must depend on the dumped parameters: change one weight by 1%
        dump = Dump(os.path.join(tmp, "tiny"))
        ref = reference(dump)
        wq = dump.arrays["wq"]
        j = int(np.argmax(np.abs(wq)))
        dump.arrays["wq"] = wq.copy()
        dump.arrays["wq"].flat[j] *= np.float32(1.01)
        if all(r.ok for r in check_arrays(dump, reference(dump))):
            print("selftest: changing wq by 1%% in one entry was not detected")
            failures += 1
        dump.arrays["wq"] = wq
        # a wrong tensor shape and a missing gradient must be reported too
        dump.arrays["grad_wq"] = dump.arrays["grad_wq"][..., :-1]
        if all(r.ok for r in check_arrays(dump, ref)):
            print("selftest: a truncated grad_wq was not detected")
            failures += 1
        del dump.arrays["grad_wq"]
        if all(r.ok for r in check_arrays(dump, ref)):
            print("selftest: a missing grad_wq was not detected")
            failures += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("check_model_torch selftest: %s" % ("ok" if failures == 0 else "%d FAILURES" % failures))
    return failures == 0


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", help="dump directories written by `qkspec dump --out DIR`")
    ap.add_argument("--all", action="store_true", help="dump and check the configuration matrix")
    ap.add_argument("--selftest", action="store_true", help="prove that disagreements are reported")
    ap.add_argument("--qkspec", default=default_qkspec(), help="path of the qkspec binary (default build/qkspec)")
    ap.add_argument("--keep", action="store_true", help="with --all: keep the dump directories")
    ap.add_argument("--seed-offset", type=int, default=0, help="with --all: add this to every seed (default 0)")
    ap.add_argument("-v", "--verbose", action="store_true", help="per-tensor table for every configuration")
    args = ap.parse_args()
    if not args.dirs and not args.all and not args.selftest:
        ap.print_usage(sys.stderr)
        return 2
    if (args.all or args.selftest) and not os.access(args.qkspec, os.X_OK):
        print("check_model_torch: %s is not an executable (build with ninja, or pass --qkspec)" % args.qkspec,
              file=sys.stderr)
        return 2
    if args.selftest:
        try:
            passed = selftest(args.qkspec)
        except (RuntimeError, KeyError, AssertionError, OSError, ValueError) as e:
            print("check_model_torch selftest: error: %s" % e)
            passed = False
        if not passed:
            return 1
        if not args.all and not args.dirs:
            return 0
    good = bad = 0
    for d in args.dirs:
        if check_dir(d, d, args.verbose):
            good += 1
        else:
            bad += 1
    if args.all:
        g, b = run_all(args.qkspec, args.verbose, args.keep, args.seed_offset)
        good += g
        bad += b
    print("check_model_torch: %d configurations agree, %d disagree" % (good, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
