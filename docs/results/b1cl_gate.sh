# b1cl_gate.sh — runs "$@" RUNS times, each only after 0.3 s in which both cores were idle (/proc/stat)
idle() { awk '/^cpu /{print $5+$6}' /proc/stat; }
n=0; s=$(date +%s)
while [ $n -lt ${RUNS:-4} ] && [ $(( $(date +%s) - s )) -lt ${MAXW:-120} ]; do
  a=$(idle); sleep 0.3; b=$(idle)
  if [ $((b - a)) -ge 58 ]; then echo "-- idle $((b-a))/60"; GOMP_SPINCOUNT=20000 "$@"; n=$((n+1)); fi
done
