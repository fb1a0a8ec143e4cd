#!/usr/bin/python3
"""collapse_trained.py — tables of r_l along training from tools/collapse_trained.sh.

    /usr/bin/python3 tools/collapse_trained.py OUTDIR

Reads OUTDIR/L{L}_{variant}_s{seed}.csv (qkspec train --rank-csv: run, step, layer,
r_mean, r_std; r_mean is the mean over the last validation batch's sequences) and prints
Markdown: per depth L and variant, r_1 and r_L at initialisation (step 0) and at the
end, and r_L at every evaluation, each as the mean over seeds with the range
(min..max) over seeds. Nothing is computed here but means and ranges of the CSVs.
"""
import csv
import glob
import os
import re
import sys

VARIANTS = ["san", "san+mlp", "san+skip", "transformer", "pure", "pure+skip"]


def load(outdir):
    runs = {}  # (L, variant) -> {seed: {(step, layer): r}}
    for path in glob.glob(os.path.join(outdir, "L*_s*.csv")):
        m = re.match(r"L(\d+)_(.+)_s(\d+)\.csv$", os.path.basename(path))
        if not m:
            continue
        L, v, s = int(m.group(1)), m.group(2), int(m.group(3))
        with open(path) as f:
            rows = {(int(r["step"]), int(r["layer"])): float(r["r_mean"]) for r in csv.DictReader(f)}
        if rows:
            runs.setdefault((L, v), {})[s] = rows
    return runs


def cell(vals):
    if not vals:
        return "-"
    m = sum(vals) / len(vals)
    if len(vals) == 1:
        return "%.3g" % m
    return "%.3g (%.3g..%.3g)" % (m, min(vals), max(vals))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    runs = load(sys.argv[1])
    if not runs:
        sys.exit("collapse_trained: no runs in %s" % sys.argv[1])
    depths = sorted({L for L, _ in runs})
    for L in depths:
        print("\nL = %d: r_l, mean over seeds (range over seeds)\n" % L)
        print("| variant | seeds | r_1 init | r_1 trained | r_%d init | r_%d trained | last step |" % (L, L))
        print("|---|--:|--:|--:|--:|--:|--:|")
        for v in VARIANTS:
            seeds = runs.get((L, v))
            if not seeds:
                continue
            last = min(max(s for s, _ in rows) for rows in seeds.values())

            def at(step, layer):
                return [rows[(step, layer)] for rows in seeds.values() if (step, layer) in rows]

            print("| %s | %d | %s | %s | %s | %s | %d |" % (v, len(seeds), cell(at(0, 1)), cell(at(last, 1)),
                                                         cell(at(0, L)), cell(at(last, L)), last))
        steps = sorted({s for seeds in (runs[k] for k in runs if k[0] == L) for rows in seeds.values()
                        for s, _ in rows})
        print("\nL = %d: r_%d along training (mean over seeds)\n" % (L, L))
        print("| variant | " + " | ".join("step %d" % s for s in steps) + " |")
        print("|---|" + "--:|" * len(steps))
        for v in VARIANTS:
            seeds = runs.get((L, v))
            if not seeds:
                continue
            vals = []
            for s in steps:
                x = [rows[(s, L)] for rows in seeds.values() if (s, L) in rows]
                vals.append("%.3g" % (sum(x) / len(x)) if x else "-")
            print("| %s | %s |" % (v, " | ".join(vals)))


if __name__ == "__main__":
    main()
