# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): samples/simclr.dln a
# few steps. The contrastive model trains on two views of each image
# (views = 2, NT-Xent over the run-time batch) and saves its checkpoint; the
# probe loads the encoder from it (the projection head skipped), trains its
# linear layer and reports the test accuracy with its 95% interval. ~10 s.
if [ -d /usr/share/datasets/fashion-mnist ]; then
SD=$(cd "$B" && pwd)/dlnc; SS=$(pwd)/samples/simclr.dln
sc() { (cd "$T" && DLNC_CACHE="$T/cache" OMP_NUM_THREADS=1 "$SD" run "$SS" --max-steps 3 "$@"); }
sc --model simclr > "$T/simclr.out" 2>&1; rs1=$?
sc --model probe > "$T/simclr_probe.out" 2>&1; rs2=$?
if [ $rs1 -eq 0 ] && [ $rs2 -eq 0 ] && [ -s "$T/simclr.safetensors" ] \
   && grep -q "^done: 1 epoch, 3 steps .*saved simclr.safetensors" "$T/simclr.out" \
   && grep -q "^init_from simclr.safetensors: 6 tensors loaded, 4 in the file skipped (proj1.weight, proj1.bias, proj2.weight, proj2.bias)" "$T/simclr_probe.out" \
   && grep -q "^  accuracy .*\[.*%, .*%\] *Wilson" "$T/simclr_probe.out"; then
  echo "simclr: two views + nt_xent over the run-time batch, probe of the saved encoder: ok"; pass=$((pass+1))
else
  echo "FAIL simclr ($rs1 $rs2):"; tail -5 "$T/simclr.out" "$T/simclr_probe.out"; fail=$((fail+1))
fi
else
  echo "skip simclr (no Fashion-MNIST in /usr/share/datasets/fashion-mnist)"
fi
