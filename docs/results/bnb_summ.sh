#!/bin/sh
# bnb_summ.sh LISTING — a bnb_profmain run's kernel times by kind, in ms per
# training step (steps = calls of the batch_stats sites / number of batch norms,
# NBN, 21 for ResNet-20). Kinds: conv (forward, data and weight gradient), and
# the rest ("non-conv"): batch_stats, the forward normalize group
# (sub_mul_add[...]), the ReLU backward alone (step_mul) or with a residual add
# (add_step_mul), batch_norm_sums, batch_norm_dx, other.
NBN=${NBN:-21}
awk -v nbn="$NBN" '$1 == "site" {ms=$2; k=$6; op=$8;
  if (op ~ /conv2d/ || op ~ /conv_transpose2d/) cat="conv"; else if (k ~ /batch_stats/) cat="stats";
  else if (k ~ /sub_mul_add/) cat="normalize"; else if (k ~ /add_step_mul/) cat="resid_mask";
  else if (k ~ /step_mul/) cat="relu_mask"; else if (k ~ /batch_norm_sums/) cat="sums";
  else if (k ~ /batch_norm_dx/) cat="dx"; else cat="other";
  t[cat] += ms; if (cat != "conv") nc += ms; if (k ~ /batch_stats/) sc += $4}
  END {st = sc / nbn; printf "conv=%.2f nonconv=%.2f | stats=%.2f normalize=%.2f relu_mask=%.2f resid_mask=%.2f sums=%.2f dx=%.2f other=%.2f\n",
    t["conv"]/st, nc/st, t["stats"]/st, t["normalize"]/st, t["relu_mask"]/st, t["resid_mask"]/st, t["sums"]/st, t["dx"]/st, t["other"]/st}' "$1"
