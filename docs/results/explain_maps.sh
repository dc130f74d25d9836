#!/bin/sh
# docs/results/explain_maps.sh — saliency, occlusion and Grad-CAM maps of the first 8
# test images for the two checkpoints of docs/results/adversarial.sh (run it
# first). Writes docs/results/explain_maps.log and the pictures.
R=docs/results
{ echo "# uptime: $(uptime)"
  for m in clean adv; do
    for map in saliency occlusion gradcam; do
      layer=""; [ $map = gradcam ] && layer="--layer h"   # h: the second conv block's output, 32 x 7 x 7
      echo "# OMP_NUM_THREADS=1 build/dlnc explain samples/adversarial.dln --model cnn --checkpoint /tmp/adversarial_$m.st --map $map $layer --grid $R/adversarial_${m}_$map.png"
      OMP_NUM_THREADS=1 build/dlnc explain samples/adversarial.dln --model cnn --checkpoint /tmp/adversarial_$m.st \
        --map $map $layer --grid $R/adversarial_${m}_$map.png 2>&1
    done
  done
  echo "# uptime: $(uptime)"; } > $R/explain_maps.log
