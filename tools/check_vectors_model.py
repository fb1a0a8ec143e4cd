"""Independence check of the model's golden vectors (ops model_step, model_train),
loaded by tools/check_vectors.py.

model_step: the case is wrapped as a `qkspec dump` and checked by the PyTorch float64
model of tools/check_model_torch.py (forward from the stored initial parameters,
autograd backward) with that tool's tolerances: loss and LocAteR relative 1e-5,
output norm-wise 1e-5, every gradient norm-wise 1e-4 plus an elementwise bound.

Both: the initial parameters p_NAME are re-derived from the seed here (SPEC §1.2's
initialisation, `legacy` or `fairseq` (param init), through the project's generator,
_Xoshiro of check_vectors.py) and must match bit for bit (sr_gamma, set by float32 power
steps, is excepted).

The variants (SPEC §1.4): param variant (absent: transformer; qk_variant's order) and
act (absent or 0 ReLU, 1 GELU) go to the PyTorch reference; a variant without FFN has
dff 0 and no FFN tensors (nothing drawn for them at initialisation).

Issue 11's options: param norm (LocAteR weighting: absent or 0 token, 1 sum: R/(B·T)),
param init (absent or 0 legacy, 1 fairseq), a 9th hyper value (dropout P; absent: 0).
With dropout the masks of every step are recomputed by check_model_torch.dropout_masks
from (seed, step) and used by the float64 reference; model_step's output `drop` (the
multipliers its forward used) must equal them bit for bit.

model_train: the trajectory is replayed in float64 from the stored initial parameters
(and σReparam vectors): power step, forward, autograd gradients, AdamW in PyTorch's
order. Float32 and float64 trajectories separate slowly, so the tolerances are:
  - the loss of step 0 within 1e-5 relative (no update yet: the model_step tolerance),
    of every later step within 2e-4 (float32 rounding ~1e-6 per step, amplified by the
    optimiser's normalisation over 20 steps);
  - the stored hash equals 64-bit FNV-1a of the stored final parameters' bytes in the
    model's storage order, exactly;
  - final parameters norm-wise within 1e-3 of the float64 replay per tensor, except bk,
    whose gradient is zero by construction (softmax ignores a constant logit shift),
    so that Adam's first step moves it by ±lr according to the sign of rounding noise;
    bk must only stay within steps·lr of its initial value.
"""
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
import check_model_torch as cmt  # noqa: E402

KEYS = ["kind", "V", "d", "H", "dff", "L", "T", "B", "ln", "sr", "seed"]
LN_NAMES = {0: "pre", 1: "post", 2: "none"}
SR_NAMES = {0: "off", 1: "qk", 2: "all"}
VARIANTS = ["transformer", "san", "san+mlp", "san+skip", "pure", "pure+skip"]  # qk_variant's order
TOL_TRAIN_LOSS = 2e-4
TOL_STEP0_LOSS = cmt.TOL_SCALAR
# the model's parameter storage order (qk_model.c), for the hash
STORAGE_ORDER = ["wte", "wout", "lnf_g", "lnf_b", "ln1_g", "ln1_b", "wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo",
                 "ln2_g", "ln2_b", "w1", "b1", "w2", "b2", "sr_gamma"]
TOL_TRAIN_PARAM = 1e-3


def _cfg(case):
    p = case["params"]
    h = case["inputs"]["hyper"].astype(np.float64)
    hyper32 = case["inputs"]["hyper"]
    return {
        "seed": p["seed"], "locater_norm": "sum" if p.get("norm", 0) == 1 else "token",
        "init": {1: "fairseq", 2: "bert"}.get(p.get("init", 0), "legacy"),
        "init_std": p.get("init_std_ppm", 0) / 1e6,
        "dropout": float(hyper32[8]) if len(hyper32) > 8 else 0.0,
        "variant": VARIANTS[p.get("variant", 0)], "act": "gelu" if p.get("act", 0) == 1 else "relu",
        "model": "lm" if p["kind"] == 0 else "walk", "vocab": p["V"], "d": p["d"], "heads": p["H"],
        "dff": p["dff"], "layers": p["L"], "seq": p["T"], "batch": p["B"], "ln": LN_NAMES[p["ln"]],
        "ln_eps": float(h[0]), "kappa1": float(h[1]), "kappa2": float(h[2]), "sigma_reparam": SR_NAMES[p["sr"]],
        "lr": float(h[3]), "beta1": float(h[4]), "beta2": float(h[5]), "adam_eps": float(h[6]),
        "weight_decay": float(h[7]),
    }


class CaseDump:
    """A golden-vector case seen as a dump directory (the interface of cmt.Dump)."""

    def __init__(self, case, cfg, params, step=0, sr=None):
        self.path = "case " + case["name"]
        self.cfg = cfg
        self.step = step  # keys the dropout masks
        self.arrays = dict(params)
        B, T, d = cfg["batch"], cfg["seq"], cfg["d"]
        data = case["inputs"]["data"].astype(np.float64)
        if cfg["model"] == "lm":
            per = B * (T + 1)
            self.arrays["tokens"] = data[step * per:(step + 1) * per].reshape(B, T + 1).astype(np.int32)
        else:
            per = B * (T + 1) * d
            self.arrays["walk"] = data[step * per:(step + 1) * per].reshape(B, T + 1, d)
        if sr is not None:
            self.arrays["sr_u"], self.arrays["sr_v"] = sr

    def get(self, name):
        if name not in self.arrays:
            raise KeyError("%s: %s missing" % (self.path, name))
        return self.arrays[name]


def _params(case, prefix, cfg):
    out = {}
    for name in cmt.expected_params(cfg):
        key = prefix + name
        if key not in case["outputs"]:
            raise KeyError("output %s missing" % key)
        out[name] = case["outputs"][key].astype(np.float64)
    return out


def init_params(cfg, seed):
    """qk_model_init's parameters (without sr_gamma) as float32 arrays, from the seed:
    embeddings (float)(N(0,1)/sqrt(d)); q, k, v Xavier-uniform with gain 1/sqrt 2, the other
    linears gain 1: a = (float)(gain·sqrt(6/(in+out))), w = a·(2u - 1) in float32 with
    u = (u64 >> 40)·2^-24; LayerNorm 1 and 0; biases 0. Draw order as in qk_model.c.
    init "fairseq" (SPEC §1.2): fc1/fc2 weights instead U(±b), b = (float)(1/sqrt(fan_in))
    (PyTorch's nn.Linear default, kaiming-uniform with a = sqrt 5), drawn in the same place;
    then per layer, after its weights, the biases bq, bk, bv (fan_in d), b1 (d), b2 (dff)
    from U(±b) likewise; bo stays 0."""
    if cfg.get("init") == "bert":
        return _init_bert(cfg, seed)
    from check_vectors import _Xoshiro
    g = _Xoshiro(seed)
    L, d, F = cfg["layers"], cfg["d"], cfg["dff"]
    V = cfg["vocab"] if cfg["model"] == "lm" else 0
    f32 = np.float32
    P = {}

    def normal(n, std):
        return np.array([f32(std * g.normal()) for _ in range(n)], dtype=np.float32)

    def uniform(n, a):
        return np.array([a * (f32(2.0) * f32((g.u64() >> 40) * 2.0 ** -24) - f32(1.0)) for _ in range(n)],
                        dtype=np.float32)

    def xavier(out, inn, gain):
        return uniform(out * inn, f32(gain * math.sqrt(6.0 / (inn + out)))).reshape(out, inn)

    def linear_default(shape, fan_in):
        n = int(np.prod(shape))
        return uniform(n, f32(1.0 / math.sqrt(fan_in))).reshape(shape)

    fairseq = cfg.get("init", "legacy") == "fairseq"

    if V:
        P["wte"] = normal(V * d, 1.0 / math.sqrt(d)).reshape(V, d)
        P["wout"] = normal(V * d, 1.0 / math.sqrt(d)).reshape(V, d)
    if cfg["ln"] == "pre" and V:
        P["lnf_g"], P["lnf_b"] = np.ones(d, np.float32), np.zeros(d, np.float32)
    if cfg["ln"] != "none":  # ln2 only with FFN tensors (dff > 0)
        for k in ("ln1_g", "ln2_g")[:2 if F else 1]:
            P[k] = np.ones((L, d), np.float32)
        for k in ("ln1_b", "ln2_b")[:2 if F else 1]:
            P[k] = np.zeros((L, d), np.float32)
    shapes = {"wq": (d, d, 0.70710678118654752440), "wk": (d, d, 0.70710678118654752440),
              "wv": (d, d, 0.70710678118654752440), "wo": (d, d, 1.0), "w1": (F, d, 1.0), "w2": (d, F, 1.0)}
    bias_fan = {"bq": (d, d), "bk": (d, d), "bv": (d, d), "b1": (F, d), "b2": (d, F)}  # (size, fan_in)
    layers = {k: [] for k in list(shapes) + ["bq", "bk", "bv", "bo", "b1", "b2"]}
    ffn = ("w1", "w2", "b1", "b2") if F else ()  # dff 0: no FFN tensors, nothing drawn for them
    for _ in range(L):
        for k in ("wq", "wk", "wv", "wo") + ffn[:2]:
            out, inn, gain = shapes[k]
            if fairseq and k in ("w1", "w2"):
                layers[k].append(linear_default((out, inn), inn))
            else:
                layers[k].append(xavier(out, inn, gain))
        for k in ("bq", "bk", "bv") + ffn[2:]:
            n, fan = bias_fan[k]
            layers[k].append(linear_default((n,), fan) if fairseq else np.zeros(n, np.float32))
        layers["bo"].append(np.zeros(d, np.float32))
    for k in layers:
        if layers[k]:
            P[k] = np.stack(layers[k])
    return P


def _init_bert(cfg, seed):
    """init "bert" (SPEC §1.4, include/qk_model.h): every weight matrix N(0, std²) from its
    own stream, sub-seed k of the seed's generator: slot 8·l + (0 wq, 1 wk, 2 wv, 3 wo,
    4 w1, 5 w2) per layer l, 65536 wte, 65539 wout (check_vectors_collapse's reading of the
    streams); biases 0, LayerNorm 1 and 0."""
    from check_vectors_collapse import _normal_tensor
    L, d, F, std = cfg["layers"], cfg["d"], cfg["dff"], cfg["init_std"]
    V = cfg["vocab"] if cfg["model"] == "lm" else 0
    f32 = np.float32
    P = {}
    if V:
        P["wte"] = _normal_tensor(seed, 65536, (V, d), std).astype(f32)
        P["wout"] = _normal_tensor(seed, 65539, (V, d), std).astype(f32)
    if cfg["ln"] == "pre" and V:
        P["lnf_g"], P["lnf_b"] = np.ones(d, f32), np.zeros(d, f32)
    if cfg["ln"] != "none":
        for k in ("ln1_g", "ln2_g")[:2 if F else 1]:
            P[k] = np.ones((L, d), f32)
        for k in ("ln1_b", "ln2_b")[:2 if F else 1]:
            P[k] = np.zeros((L, d), f32)
    shapes = {"wq": (d, d), "wk": (d, d), "wv": (d, d), "wo": (d, d), "w1": (F, d), "w2": (d, F)}
    names = ("wq", "wk", "wv", "wo") + (("w1", "w2") if F else ())
    for k in names:
        P[k] = np.stack([_normal_tensor(seed, 8 * l + ("wq", "wk", "wv", "wo", "w1", "w2").index(k), shapes[k],
                                        std).astype(f32) for l in range(L)])
    for k, n in (("bq", d), ("bk", d), ("bv", d), ("bo", d)) + ((("b1", F), ("b2", d)) if F else ()):
        P[k] = np.zeros((L, n), f32)
    return P


def _check_init(case, cfg):
    """Messages for initial parameters that differ from init_params, bit for bit."""
    want = init_params(cfg, case["params"]["seed"])
    msgs = []
    for name in cmt.expected_params(cfg):
        if name == "sr_gamma":
            continue
        got = case["outputs"].get("p_" + name)
        if got is None or got.shape != want[name].shape:
            msgs.append("p_%s missing or of the wrong shape" % name)
        elif not np.array_equal(got.view(np.uint32), want[name].view(np.uint32)):
            k = int(np.argmax(got.view(np.uint32).ravel() != want[name].view(np.uint32).ravel()))
            msgs.append("p_%s[%d] = %r, initialisation gives %r" % (name, k, float(got.ravel()[k]),
                                                                    float(want[name].ravel()[k])))
    return msgs


def fnv1a64(arrays):
    h = 0xcbf29ce484222325
    for a in arrays:
        for byte in np.ascontiguousarray(a, dtype="<f4").tobytes():
            h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def check_step(case):
    cfg = _cfg(case)
    try:
        params = _params(case, "p_", cfg)
        sr = None
        if cfg["sigma_reparam"] != "off":
            sr = (case["outputs"]["sr_u"], case["outputs"]["sr_v"])
        dump = CaseDump(case, cfg, params, 0, sr)
        o = case["outputs"]
        dump.arrays["loss"] = o["loss"]
        dump.arrays["reg"] = o["reg"]
        B, T = cfg["batch"], cfg["seq"]
        if cfg["model"] == "lm":
            dump.arrays["logits"] = o["out"].reshape(B, T, cfg["vocab"])
        else:
            dump.arrays["pred"] = o["out"]
        for name in cmt.expected_params(cfg):
            dump.arrays["grad_" + name] = o["g_" + name]
        if cfg["dropout"] > 0:
            L = cfg["layers"]
            dump.arrays["dropout_mask"] = o["drop"].reshape(1 + 2 * L, B, T, cfg["d"])
        rows = cmt.check_arrays(dump, cmt.reference(dump))
        init_msgs = _check_init(case, cfg)
    except (KeyError, AssertionError) as e:
        return False, "  case %s: %s" % (case["name"], e)
    if init_msgs:
        return False, "  case %s: %s" % (case["name"], "; ".join(init_msgs))
    bad = [r for r in rows if not r.ok]
    worst = max(r.norm_rel / r.norm_tol for r in rows if math.isfinite(r.norm_rel) and r.norm_tol > 0)
    if bad:
        return False, "  case %s: %s" % (case["name"], "; ".join("%s: %s (norm rel %.3g)" % (r.name, r.note, r.norm_rel)
                                                                  for r in bad))
    return True, "  case %s: %d tensors agree (worst %.2f of tolerance)" % (case["name"], len(rows), worst)


def _power_step(params, sr_u, sr_v, cfg):
    """v <- normalize(W u), u <- normalize(Wᵀ v) for the wrapped layers, float64."""
    wrapped = [0, 1] if cfg["sigma_reparam"] == "qk" else list(range(6))
    for l in range(cfg["layers"]):
        for lin in wrapped:
            W = params[cmt.LIN_PARAM[lin]][l]
            out, inn = W.shape
            v = W @ sr_u[l, lin, :inn]
            v /= np.linalg.norm(v)
            u = W.T @ v
            u /= np.linalg.norm(u)
            sr_v[l, lin, :out] = v
            sr_u[l, lin, :inn] = u


def check_train(case):
    cfg = _cfg(case)
    steps = case["params"]["steps"]
    try:
        params = _params(case, "p_", cfg)
        final = _params(case, "final_", cfg)
        sr = None
        if cfg["sigma_reparam"] != "off":
            sr = (case["outputs"]["sr_u0"].astype(np.float64).copy(), case["outputs"]["sr_v0"].astype(np.float64).copy())
    except KeyError as e:
        return False, "  case %s: %s" % (case["name"], e)
    init = {k: v.copy() for k, v in params.items()}
    msgs = _check_init(case, cfg)
    final32 = {k: case["outputs"]["final_" + k] for k in cmt.expected_params(cfg)}
    want_hash = fnv1a64(final32[k] for k in STORAGE_ORDER if k in final32)
    got_hash = int(case["outputs"]["hash"][0])
    if got_hash != want_hash:
        msgs.append("hash %016x, FNV-1a of the final parameters is %016x" % (got_hash, want_hash))
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    lr, b1, b2, eps, wd = cfg["lr"], cfg["beta1"], cfg["beta2"], cfg["adam_eps"], cfg["weight_decay"]
    c_loss = case["outputs"]["loss"].astype(np.float64)
    worst_loss = 0.0
    loss0_err = None
    for s in range(steps):
        if sr is not None:
            _power_step(params, sr[0], sr[1], cfg)
        ref = cmt.reference(CaseDump(case, cfg, params, s, sr))
        err = abs(c_loss[s] - ref["loss"]) / abs(ref["loss"])
        worst_loss = max(worst_loss, err)
        if s == 0:
            loss0_err = err
        t = s + 1
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        for k in params:
            g = np.asarray(ref["grad_" + k], dtype=np.float64)
            params[k] = params[k] * (1 - lr * wd)
            m[k] = b1 * m[k] + (1 - b1) * g
            v2[k] = b2 * v2[k] + (1 - b2) * g * g
            params[k] = params[k] - (lr / bc1) * m[k] / (np.sqrt(v2[k]) / math.sqrt(bc2) + eps)
    if loss0_err is not None and loss0_err > TOL_STEP0_LOSS:
        msgs.append("step 0 loss differs by %.3g relative (tolerance %g)" % (loss0_err, TOL_STEP0_LOSS))
    if worst_loss > TOL_TRAIN_LOSS:
        msgs.append("loss differs by %.3g relative (tolerance %g)" % (worst_loss, TOL_TRAIN_LOSS))
    worst_param = 0.0
    for k in params:
        if k == "bk":
            drift = np.max(np.abs(final[k] - init[k]))
            if drift > steps * lr * 1.01 + 1e-12:
                msgs.append("bk moved %.3g > steps·lr" % drift)
            continue
        den = np.linalg.norm(params[k])
        rel = np.linalg.norm(final[k] - params[k]) / den if den > 0 else np.linalg.norm(final[k])
        worst_param = max(worst_param, rel)
        if rel > TOL_TRAIN_PARAM:
            msgs.append("final %s differs by %.3g (norm-wise, tolerance %g)" % (k, rel, TOL_TRAIN_PARAM))
    if msgs:
        return False, "  case %s: %s" % (case["name"], "; ".join(msgs))
    return True, "  case %s: %d steps agree (loss %.2g, parameters %.2g relative)" % (case["name"], steps, worst_loss,
                                                                                       worst_param)


CHECKS = {"model_step": check_step, "model_train": check_train}
# check_vectors.py --selftest: model_step compares float32 gradients with float64 ones
# elementwise within 1e-3 relative, so its corruption is bit 19 (2^-4 relative); the
# trajectory's later losses are held to 2e-4 and its final parameters to 1e-3, so bit 15
# (2^-8); its initial parameters and hash are exact and catch any flip.
SELFTEST_BITS = {"model_step": 19, "model_train": 15}
SELFTEST_EXEMPT = {("model_step", "g_bk"): "zero by construction (softmax ignores a constant logit shift); "
                                           "judged against the size of its terms, so its rounding noise "
                                           "carries no information"}
TOLERANCES = {
    "model_step": "initial parameters exact; PyTorch float64 autograd: loss/reg 1e-5 rel, output 1e-5, gradients "
                  "1e-4 norm-wise",
    "model_train": "initial parameters exact; hash exact; float64 replay: loss 1e-5 rel at step 0, 2e-4 later, "
                   "final parameters 1e-3 norm-wise (bk: drift <= steps·lr)",
}
