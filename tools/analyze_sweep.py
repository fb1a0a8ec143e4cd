#!/usr/bin/python3
"""The paper's LocAteR claims (SPEC §1.1) read from the CSV files of `qkspec sweep`
(or `reproduce`), in float64, independently of the C code that prints them:

  python3 tools/analyze_sweep.py DIR [DIR ...] [--steps N] [--d-head D]

(--d-head: the head width, λ = √D of the closed form; default 32, the paper-d32 preset;
128 for the paper preset.)

For every directory (one sweep: RUN_evals.csv and RUN_rho.csv per run, runs named
baseline[_sN], locater_{token,sum}_k2_{0,1e-3,1e-2,1e-1,1}[_sN], sigma_reparam[_sN]):

1. Curves across κ2 per LocAteR weighting: mean [min, max] over seeds of the final
   validation perplexity, eigen scale tr(S²), eq. (8) variance, eigen mean, the
   attention entropy and the ρ concentration, both averaged over the evaluations after
   step 0 ("during training"). ρ concentration = share of Σρ on the T/8 largest ρ_i
   (0.125 uniform at T = 64; 1 when ρ sits on T/8 positions).
2. The claims as the paper states them, per weighting, against the seed spread (a
   difference counts when it exceeds the larger [min, max] range of the two values):
   perplexity, scale and variance fall with κ2, entropy rises with κ2 -- "agrees" when
   the largest κ2 run moves the claimed way from κ2 = 0 beyond the spread and no step
   between neighbouring κ2 moves against it beyond the spread, "does not agree" when the
   endpoints or a step move against it beyond the spread, "within noise" otherwise; ρ
   localizes with LocAteR (concentration >= 0.5) and stays near uniform without (<= 2×
   uniform). The same rule as `qkspec sweep` prints (src/cli/cmd_sweep.c).
3. The direct test the theory suggests: over all runs and evaluations after step 0,
   Spearman rank correlations of the attention entropy and the ρ concentration with the
   eigen mean, the eq. (8) variance and ξ = tr S / sqrt(tr S²).
4. The closed form ρ(θ) (SPEC §1.1, corrected variance with the finite-T terms, the form
   the simulation supports) evaluated from the trained W_QK -- tr W = tr W_QK and
   tr W² = tr(S²) from the CSV, Σ = I, λ = sqrt(d_head) -- beside the measured ρ at
   the last evaluation of each run: the concentration of both, the mean |difference|
   over positions, and over all runs and evaluations the rank correlation of the two
   concentrations.

With --steps N only runs whose last evaluation is at step N are used (unfinished runs
are listed and left out).
"""
import csv
import math
import os
import re
import sys
from collections import defaultdict

K2 = ["0", "1e-3", "1e-2", "1e-1", "1"]
NORMS = ["token", "sum"]


def load_dir(d):
    runs = {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith("_evals.csv"):
            continue
        name = fn[: -len("_evals.csv")]
        ev = list(csv.DictReader(open(os.path.join(d, fn))))
        rho = defaultdict(dict)
        rp = os.path.join(d, name + "_rho.csv")
        if os.path.exists(rp):
            for r in csv.DictReader(open(rp)):
                rho[int(r["step"])][int(r["position"])] = float(r["rho"])
        rows = []
        for e in ev:
            st = int(e["step"])
            v = [rho[st][i] for i in sorted(rho[st])] if st in rho else []
            rows.append({"step": st, "ppl": float(e["val_ppl"]), "mean": float(e["eig_mean"]),
                         "scale": float(e["eig_scale"]), "var": float(e["eig_var"]), "trace": float(e["trace"]),
                         "spec": float(e["spectral_norm"]), "ent": float(e["attn_entropy"]), "rho": v})
        runs[name] = rows
    return runs


def topk(v):
    T = len(v)
    if T == 0:
        return float("nan")
    k = max(1, T // 8)
    t = math.fsum(v)
    return math.fsum(sorted(v, reverse=True)[:k]) / t if t > 0 else float("nan")


def split_name(name):
    m = re.match(r"(.*)_s(\d+)$", name)
    return (m.group(1), int(m.group(2))) if m else (name, 1)


def config_of(cfg):
    """('baseline'|'sigma'|('locater', norm, k2))"""
    if cfg == "baseline":
        return "baseline"
    if cfg == "sigma_reparam":
        return "sigma"
    m = re.match(r"locater_(?:(token|sum)_)?k2_(.*)$", cfg)
    if m:
        return ("locater", m.group(1) or "token", m.group(2))
    return None


def run_numbers(rows):
    last = rows[-1]
    during = rows[1:] if len(rows) > 1 else rows
    tk = [topk(r["rho"]) for r in during]
    tk = [x for x in tk if x == x]
    return {"steps": last["step"], "ppl": last["ppl"], "scale": last["scale"], "var": last["var"], "mean": last["mean"],
            "spec": last["spec"], "ent": math.fsum(r["ent"] for r in during) / len(during),
            "topk": math.fsum(tk) / len(tk) if tk else float("nan"), "ent_final": last["ent"],
            "topk_final": topk(last["rho"])}


def stat(xs):
    xs = [x for x in xs if x == x]
    if not xs:
        return None
    return (math.fsum(xs) / len(xs), min(xs), max(xs), len(xs))


def beyond(a, b):
    return abs(b[0] - a[0]) > max(a[2] - a[1], b[2] - b[1])


def fmt(s, digits=4):
    if s is None:
        return "–"
    f = lambda x: ("%.*g" % (digits, x))
    return f(s[0]) if s[3] == 1 else "%s [%s, %s]" % (f(s[0]), f(s[1]), f(s[2]))


def ladder(s, dirn):
    idx = [i for i, x in enumerate(s) if x is not None]
    if len(idx) < 2:
        return "not measured", 0, 0, 0
    down = against = 0
    for a, b in zip(idx, idx[1:]):
        dd = dirn * (s[b][0] - s[a][0])
        if dd > 0:
            down += 1
        elif beyond(s[a], s[b]):
            against += 1
    lo, hi = s[idx[0]], s[idx[-1]]
    D = dirn * (hi[0] - lo[0])
    far = beyond(lo, hi)
    v = "does not agree" if (D < 0 and far) or against else "agrees" if (D > 0 and far) else "within noise"
    return v, down, against, len(idx) - 1


def rank(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0
        i = j + 1
    return r


def pearson(x, y):
    n = len(x)
    if n < 3:
        return float("nan")
    mx, my = math.fsum(x) / n, math.fsum(y) / n
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = math.fsum((a - mx) ** 2 for a in x)
    syy = math.fsum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def spearman(x, y):
    pairs = [(a, b) for a, b in zip(x, y) if a == a and b == b and abs(a) != float("inf") and abs(b) != float("inf")]
    if len(pairs) < 3:
        return float("nan"), len(pairs)
    return pearson(rank([p[0] for p in pairs]), rank([p[1] for p in pairs])), len(pairs)


def rho_closed_finite(theta, trW, trW2, lam, T):
    """SPEC §1.1 closed form, corrected variance 2(θ-½)² + 1/12, finite-T terms
    (qk_rho_closed_finite in src/experiments/qk_localize.c)."""
    if not (trW2 > 0):
        return float("nan")
    xi, eta = trW / math.sqrt(trW2), math.sqrt(trW2) / lam
    s = math.sqrt(2.0 * (2.0 * (theta - 0.5) ** 2 + 1.0 / 12.0))
    z = (theta - 0.5 - 0.5 / T) * xi
    lo, hi = -1.0 / (T * eta), (1.0 - 1.0 / T) / eta
    return 0.5 * math.erf((hi - z) / s) - 0.5 * math.erf((lo - z) / s)


def closed_rho(row, T, lam):
    return [rho_closed_finite((i + 1) / T, row["trace"], row["scale"], lam, T) for i in range(T)]


def analyze(d, want_steps, md, d_head):
    runs = load_dir(d)
    groups = defaultdict(dict)
    left_out = []
    for name, rows in runs.items():
        if not rows:
            continue
        cfg, seed = split_name(name)
        c = config_of(cfg)
        if c is None:
            continue
        q = run_numbers(rows)
        if want_steps and q["steps"] != want_steps:
            left_out.append("%s (step %d)" % (name, q["steps"]))
            continue
        groups[c][seed] = (q, rows)
    out = []
    p = out.append
    T = max((len(r["rho"]) for rows in runs.values() for r in rows), default=64)
    lam = math.sqrt(d_head)
    p("## %s" % d)
    nseeds = sorted({s for g in groups.values() for s in g})
    p("runs used: %d (seeds %s)%s" % (sum(len(g) for g in groups.values()), ",".join(map(str, nseeds)),
                                      "; left out, unfinished: " + ", ".join(left_out) if left_out else ""))
    # 1. curves across κ2
    cols = [("ppl", "val ppl (final)", 4), ("scale", "eig scale tr(S²) (final)", 3), ("var", "eq. (8) var (final)", 3),
            ("mean", "eig mean (final)", 3), ("ent", "entropy (during)", 4), ("topk", "ρ concentration (during)", 3)]
    p("")
    p("| run | κ2 | seeds | " + " | ".join(c[1] for c in cols) + " |")
    p("|---|--:|--:|" + "--:|" * len(cols))
    order = [("baseline", "no regularizer", "–")] + [(("locater", n, k), "LocAteR, %s" % n, k) for n in NORMS for k in K2] + \
            [("sigma", "σReparam (W_Q, W_K)", "–")]
    for c, label, k in order:
        g = groups.get(c)
        if not g:
            continue
        cells = [fmt(stat([q[key] for q, _ in g.values()]), dg) for key, _, dg in cols]
        p("| %s | %s | %d | %s |" % (label, k, len(g), " | ".join(cells)))
    # 2. claims
    p("")
    p("| claim (SPEC §1.1) | weighting | κ2 = " + ", ".join(K2) + " | verdict |")
    p("|---|---|---|---|")
    claims = [("ppl", -1, "validation perplexity falls with κ2"), ("scale", -1, "eigen scale tr(S²) falls with κ2"),
              ("var", -1, "eq. (8) variance falls with κ2"), ("ent", +1, "attention entropy (during training) rises with κ2")]
    verdicts = {}
    for norm in NORMS:
        if not any(("locater", norm, k) in groups for k in K2):
            continue
        for key, dirn, text in claims:
            s = [stat([q[key] for q, _ in groups.get(("locater", norm, k), {}).values()]) for k in K2]
            v, down, against, nst = ladder(s, dirn)
            pair = []
            g0, g1 = groups.get(("locater", norm, "0"), {}), groups.get(("locater", norm, "1"), {})
            for seed in sorted(set(g0) & set(g1)):
                pair.append("%+.3g" % (g1[seed][0][key] - g0[seed][0][key]))
            one = all(x is None or x[3] == 1 for x in s)
            if one and v != "not measured":
                v += ", one seed: no noise estimate"
            verdicts[(norm, key)] = v
            p("| %s | %s | %s | **%s** (%d of %d steps %s, %d against beyond the spread; κ2 = 1 minus κ2 = 0 per seed: %s) |"
              % (text, norm, "; ".join(fmt(x, 4) for x in s), v, down, nst, "down" if dirn < 0 else "up", against,
                 " ".join(pair) or "–"))
        s = [stat([q["topk"] for q, _ in groups.get(("locater", norm, k), {}).values()]) for k in K2]
        b = stat([q["topk"] for q, _ in groups.get("baseline", {}).values()])
        present = [x for x in s if x is not None]
        if b is None or not present:
            continue
        k = max(1, T // 8)
        uniform = b[0] <= 2.0 * k / T
        loc = sum(x[0] >= 0.5 for x in present)
        more = sum(x[0] > b[0] and beyond(b, x) for x in present)
        less = sum(x[0] < b[0] and beyond(b, x) for x in present)
        v = "agrees" if uniform and loc == len(present) and more == len(present) else \
            "does not agree" if (not uniform and b[0] >= 0.5) or less > 0 or (not loc and not more) else "partly"
        if b[3] == 1 and all(x[3] == 1 for x in present):
            v += ", one seed: no noise estimate"
        verdicts[(norm, "rho")] = v
        p("| ρ localizes with LocAteR (≥ 0.5), near uniform without (≤ %.3g) | %s | %s | **%s** (no regularizer %s; "
          "localized at %d of %d κ2; above the baseline beyond the spread at %d; below it at %d) |"
          % (2.0 * k / T, norm, "; ".join(fmt(x, 3) for x in s), v, fmt(b, 3), loc, len(present), more, less))
    # 3. the scatter: entropy and ρ concentration against the eigen statistics
    pts = []
    for c, g in groups.items():
        for seed, (q, rows) in g.items():
            for r in rows[1:]:
                tr2 = r["scale"]
                xi = r["trace"] / math.sqrt(tr2) if tr2 > 0 else float("nan")
                pts.append((r["mean"], r["var"], xi, r["ent"], topk(r["rho"])))
    p("")
    p("Over all runs and evaluations after step 0 (%d points): Spearman rank correlation" % len(pts))
    p("")
    p("| | eig mean | eq. (8) variance | ξ = tr S/√tr S² |")
    p("|---|--:|--:|--:|")
    for j, lab in ((3, "attention entropy"), (4, "ρ concentration")):
        cells = []
        for i in (0, 1, 2):
            r, n = spearman([x[i] for x in pts], [x[j] for x in pts])
            cells.append("%+.3f" % r)
        p("| %s | %s |" % (lab, " | ".join(cells)))
    # 4. closed form from the trained W_QK beside the measured ρ
    p("")
    p("Closed-form ρ (corrected variance, finite-T terms, Σ = I, λ = √%d) from the trained W_QK (tr W_QK and tr S² of "
      "the last evaluation) beside the measured ρ of that evaluation:" % d_head)
    p("")
    p("| run | κ2 | ξ | η = √tr S²/λ | ρ concentration, measured | closed form | mean \\|ρ_meas − ρ_closed\\| | "
      "Σρ measured / closed |")
    p("|---|--:|--:|--:|--:|--:|--:|--:|")
    allm, allc = [], []
    for c, label, k in order:
        g = groups.get(c)
        if not g:
            continue
        xs, es, cm, cc, dm, sr = [], [], [], [], [], []
        for seed, (q, rows) in sorted(g.items()):
            last = rows[-1]
            cl = closed_rho(last, len(last["rho"]) or T, lam)
            tr2 = last["scale"]
            xs.append(last["trace"] / math.sqrt(tr2) if tr2 > 0 else float("nan"))
            es.append(math.sqrt(tr2) / lam if tr2 > 0 else float("nan"))
            cm.append(topk(last["rho"]))
            cc.append(topk(cl))
            dm.append(math.fsum(abs(a - b) for a, b in zip(last["rho"], cl)) / len(cl))
            sc = math.fsum(cl)
            sr.append(math.fsum(last["rho"]) / sc if sc > 0 else float("nan"))
            for r in rows[1:]:
                cl2 = closed_rho(r, len(r["rho"]) or T, lam)
                allm.append(topk(r["rho"]))
                allc.append(topk(cl2))
        p("| %s | %s | %s | %s | %s | %s | %s | %s |" % (label, k, fmt(stat(xs), 3), fmt(stat(es), 3), fmt(stat(cm), 3),
                                                       fmt(stat(cc), 3), fmt(stat(dm), 3), fmt(stat(sr), 3)))
    r, n = spearman(allm, allc)
    p("")
    p("Rank correlation of the measured and the closed-form ρ concentration over all runs and evaluations after "
      "step 0: %+.3f (%d points)." % (r, n))
    # 5. per layer (RUN_layers.csv, written for L·H > 1)
    per = defaultdict(lambda: defaultdict(list))  # config -> layer -> [(scale_final, ent_during, topk_during)]
    L = 0
    for c, g in groups.items():
        for seed, (q, rows) in g.items():
            name = [k for k, v in runs.items() if v is rows][0]
            lp = os.path.join(d, name + "_layers.csv")
            if not os.path.exists(lp):
                continue
            byl = defaultdict(lambda: defaultdict(list))
            for row in csv.DictReader(open(lp)):
                byl[int(row["layer"])][int(row["step"])].append(row)
            for l, steps in byl.items():
                L = max(L, l + 1)
                last = max(steps)
                after = [st for st in steps if st > 0] or [last]
                scale = math.fsum(float(x["eig_scale"]) for x in steps[last]) / len(steps[last])
                ent = math.fsum(float(steps[st][0]["layer_attn_entropy"]) for st in after) / len(after)
                tk = [float(steps[st][0]["layer_rho_top_share"]) for st in after]
                tk = [x for x in tk if x == x]
                per[c][l].append((scale, ent, math.fsum(tk) / len(tk) if tk else float("nan")))
    if L:
        p("")
        p("Per layer (RUN_layers.csv): eigen scale tr(S²) at the last evaluation (mean over heads), attention "
          "entropy and ρ concentration during training; mean [min, max] over seeds:")
        p("")
        p("| run | κ2 | " + " | ".join("layer %d: scale; entropy; ρ conc." % l for l in range(L)) + " |")
        p("|---|--:|" + "---|" * L)
        for c, label, k in order:
            if c not in per:
                continue
            cells = []
            for l in range(L):
                v = per[c].get(l, [])
                cells.append("; ".join(fmt(stat([x[j] for x in v]), 3) for j in range(3)) if v else "–")
            p("| %s | %s | %s |" % (label, k, " | ".join(cells)))
    return out, verdicts


def main(argv):
    dirs, steps, md, dh = [], None, False, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--steps":
            steps = int(argv[i + 1]); i += 2; continue
        if a == "--d-head":
            dh = int(argv[i + 1]); i += 2; continue
        if a == "--markdown":
            md = True; i += 1; continue
        dirs.append(a); i += 1
    if not dirs:
        print(__doc__)
        return 2
    for d in dirs:
        out, _ = analyze(d, steps, md, dh or 32)
        print("\n".join(out))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
