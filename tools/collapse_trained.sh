#!/bin/sh
# collapse_trained.sh — r_l along training (SPEC §1.4, the paper's trained half):
# language models of every variant, post-LN, GELU FFN of width 4d, BERT initialisation,
# trained with the project's trainer on an English corpus; r_l of every layer's hidden
# state at initialisation and every --eval-every steps (qkspec train --rank-csv).
#   sh tools/collapse_trained.sh OUTDIR [CORPUS]       (CORPUS: default the cached one)
# Sizes by environment: D (64), LAYERS ("2 4 6"), SEEDS ("1 2"), STEPS (1000),
# EVERY (250), QKSPEC (build/qkspec). Then: python3 tools/collapse_trained.py OUTDIR
set -e
out=${1:?usage: sh tools/collapse_trained.sh OUTDIR [CORPUS]}
corpus=${2:-$(ls "$HOME"/.cache/qkspec/*.txt 2>/dev/null | head -n 1)}
[ -n "$corpus" ] || { echo "collapse_trained: no corpus (sh tools/get_corpus.sh)" >&2; exit 2; }
q=${QKSPEC:-build/qkspec}
D=${D:-64}; LAYERS=${LAYERS:-"2 4 6"}; SEEDS=${SEEDS:-"1 2"}; STEPS=${STEPS:-1000}; EVERY=${EVERY:-250}
mkdir -p "$out"
for L in $LAYERS; do
  for v in san san+mlp san+skip transformer pure pure+skip; do
    for s in $SEEDS; do
      label="L${L}_${v}_s${s}"
      [ -f "$out/$label.csv" ] && continue
      "$q" train --text "$corpus" --d "$D" --heads $((D / 16)) --dff $((4 * D)) --layers "$L" --seq 64 \
        --batch 16 --lr 1e-3 --ln post --act gelu --init bert --variant "$v" --seed "$s" --steps "$STEPS" \
        --eval-every "$EVERY" --label "$label" --rank-csv "$out/$label.csv" --quiet > "$out/$label.log" 2>&1
      tail -n 3 "$out/$label.log" | head -n 1
    done
  done
done
