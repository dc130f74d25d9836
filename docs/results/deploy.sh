#!/bin/sh
# docs/results/deploy.sh — the deployment figures of the README (`dlnc export`):
# samples/mlp.dln and samples/lenet5.dln trained 10 epochs, samples/resnet8.dln
# 1 epoch (1 thread each), exported, the export compiled with
# -std=c99 -pedantic -Wall -Wextra -Werror -O2 (and its object's size taken),
# and compared with the training build's forward over the test set
# (tests/e2e/deploy_main.c: all 10,000 images; ResNet-8's 1,000, the export's
# plain-loop convolutions being slow); the MLP and LeNet-5 also exported with
# --int8 --calibrate 1000 and compared the same way (the accuracy of each);
# then examples/classify.c on two test images. Run from the repository root after `make`; writes docs/results/deploy_*.log.
set -e
R=docs/results
W=/tmp/dlnc_deploy
mkdir -p $W
STRICT="-std=c99 -pedantic -Wall -Wextra -Werror -O2"
for spec in "mlp 10 10000" "lenet5 10 10000" "resnet8 1 1000"; do
  set -- $spec
  m=$1 ep=$2 count=$3
  {
    echo "# uptime: $(uptime)"
    echo "# OMP_NUM_THREADS=1 build/dlnc run samples/$m.dln --epochs $ep --checkpoint $W/$m.st --quiet"
    /usr/bin/time -f "# %e s wall" env OMP_NUM_THREADS=1 build/dlnc run samples/$m.dln --epochs $ep --checkpoint $W/$m.st --quiet 2>&1
    echo "# build/dlnc export samples/$m.dln --checkpoint $W/$m.st -o $W/${m}_infer.c"
    build/dlnc export samples/$m.dln --checkpoint $W/$m.st -o $W/${m}_infer.c
    echo "# cc $STRICT -c $W/${m}_infer.c (then -ffreestanding, -fopenmp): size of the object"
    cc $STRICT -c $W/${m}_infer.c -o $W/${m}_infer.o
    cc $STRICT -ffreestanding -c $W/${m}_infer.c -o $W/${m}_infer_free.o
    cc $STRICT -fopenmp -c $W/${m}_infer.c -o $W/${m}_infer_omp.o
    size $W/${m}_infer.o
    echo "# nm: external symbols of the object"
    nm $W/${m}_infer.o | grep -v " [a-z] "
    echo "# equivalence with the training build's forward (tests/e2e/deploy_main.c), $count test images"
    build/dlnc samples/$m.dln -o $W/model.c
    cp $W/${m}_infer.h $W/model_infer.h
    cc -std=c11 -O2 -fopenmp -Iruntime -I$W -DM=$m -DUM=$(echo $m | tr a-z A-Z) tests/e2e/deploy_main.c $W/model.c \
      $W/${m}_infer_omp.o build/libdlnrt.a -lpng -lz -lm -o $W/equiv_$m
    OMP_NUM_THREADS=1 $W/equiv_$m $W/$m.st $count 1e-4
    if [ $m != resnet8 ]; then
      echo "# int8: build/dlnc export samples/$m.dln --checkpoint $W/$m.st --int8 --calibrate 1000 -o $W/int8/model_infer.c"
      mkdir -p $W/int8
      build/dlnc export samples/$m.dln --checkpoint $W/$m.st --int8 --calibrate 1000 -o $W/int8/model_infer.c
      cc $STRICT -c $W/int8/model_infer.c -o $W/int8/$m.o
      cc $STRICT -fopenmp -c $W/int8/model_infer.c -o $W/int8/${m}_omp.o
      size $W/int8/$m.o
      echo "# the int8 export against the training build's (float) forward, $count test images"
      cc -std=c11 -O2 -fopenmp -Iruntime -I$W/int8 -I$W -DM=$m -DUM=$(echo $m | tr a-z A-Z) tests/e2e/deploy_main.c $W/model.c \
        $W/int8/${m}_omp.o build/libdlnrt.a -lpng -lz -lm -o $W/equiv_int8_$m
      OMP_NUM_THREADS=1 $W/equiv_int8_$m $W/$m.st $count 1e9 - 0
    fi
    echo "# uptime: $(uptime)"
  } > $R/deploy_$m.log 2>&1
done
{
  echo "# cc $STRICT -I$W examples/classify.c $W/lenet5_infer.c -lm -o $W/classify; ./classify on test images 0 and 1 (labels 9 and 2)"
  cc $STRICT -I$W examples/classify.c $W/lenet5_infer.c -lm -o $W/classify
  for k in 0 1; do
    { printf 'P5\n28 28\n255\n'; zcat /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz | tail -c +$((17 + 784 * k)) | head -c 784; } > $W/test$k.pgm
    $W/classify $W/test$k.pgm
  done
} > $R/deploy_classify.log 2>&1
