#!/bin/sh
# docs/results/dist_scaling.sh — data-parallel throughput on this machine
# (docs/performance.md, "Data-parallel training"): the MLP and LeNet-5
# samples, one epoch at P = 1 and P = 2 ranks of one thread each, alternated
# twice so that both see the same load; the load is logged before each run.
#   sh docs/results/dist_scaling.sh > docs/results/dist_scaling.log 2>&1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
export DLNC_CACHE=${DLNC_CACHE:-$(mktemp -d)}
git log -1 --format='commit %h %cd'
for round in 1 2; do
  for model in mlp lenet5; do
    for p in 1 2; do
      echo "== round $round, $model, P = $p: $(uptime)"
      nice -n 5 mpirun --oversubscribe -np $p -x OMP_NUM_THREADS -x DLNC_CACHE \
        build/dlnc run samples/$model.dln --epochs 1 2>&1 | grep -E '^epoch|^data-parallel|^done'
    done
  done
done
