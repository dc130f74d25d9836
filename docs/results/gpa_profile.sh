#!/bin/sh
# gpa_profile.sh — perf profile of the same 1600 batch-1 gpt forwards (forward_cpu, 8 x 200)
# with the old and the new library, binaries built by docs/results/gpa_batch1.sh.
# Samples are CPU time, so the counts of one symbol compare between the two.
#   sh docs/results/gpa_profile.sh > log
X=${X:-/tmp/gpa_results}
echo "# $(date -u '+%F %T') uptime:$(uptime)"
echo "# perf record of OMP_NUM_THREADS=1 $X/{old,new}/gpt_cpu 8 200"
for side in old new; do
  echo "## $side"
  OMP_NUM_THREADS=1 perf record -q -o $X/$side.perf $X/$side/gpt_cpu 8 200 2>/dev/null | tr '\n' ' '; echo
  perf report -i $X/$side.perf --no-children --sort symbol --show-nr-samples --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -16
done
echo "# end $(date -u +%T) uptime:$(uptime)"
