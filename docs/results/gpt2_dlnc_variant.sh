#!/bin/sh
# gpt2_dlnc_variant.sh — build/dlnc, then one piece of the generated forward taken out, to
# measure an upper bound on what making that piece faster could save (the outputs are wrong:
# timing only). Used as NEW_DLNC by docs/results/gpt2_bounds.sh through bench/ab.sh:
#   VARIANT=nogelu    GELU's erf gone: y = 0.5 v (1 + v) (same passes, no erf polynomial, no division)
#   VARIANT=nodiv     erf's rational c * p / q with the division made a multiply (c * p * q)
#   VARIANT=noslice   the three copies of q, k, v out of the fused projection skipped
# Arguments as dlnc's: MODEL.dln -o OUT.c
set -e
here=$(dirname "$0")
DLNC=${DLNC:-$here/../../build/dlnc}
"$DLNC" "$@"
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
case $VARIANT in
  nogelu) sed -E -i 's/\(0\.5f \* (v[0-9]+) \* \(1\.0f \+ dl_erff\(v[0-9]+ \* 0\.70710678118654752f\)\)\)/(0.5f * \1 * (1.0f + \1))/' "$out" ;;
  nodiv) sed -i '0,/^#include "dlnrt.h"/s//#include "dlnrt.h"\
static inline float erf_nodiv(float x)\
{\
    const float c = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x), x2 = c * c;\
    float p = -2.72614225801306e-10f;\
    p = p * x2 + 2.77068142495902e-08f;\
    p = p * x2 + -2.10102402082508e-06f;\
    p = p * x2 + -5.69250639462346e-05f;\
    p = p * x2 + -7.34990630326855e-04f;\
    p = p * x2 + -2.95459980854025e-03f;\
    p = p * x2 + -1.60960333262415e-02f;\
    float q = -1.45660718464996e-05f;\
    q = q * x2 + -2.13374055278905e-04f;\
    q = q * x2 + -1.68282697438203e-03f;\
    q = q * x2 + -7.37332916720468e-03f;\
    q = q * x2 + -1.42647390514189e-02f;\
    return c * p * q;\
}\
#define dl_erff erf_nodiv/' "$out" ;;
  noslice) sed -E -i 's/^    ([a-z0-9_]+_k[0-9]+_slice)\(n, t[0-9]+, t[0-9]+\);$/    \/* \1 skipped *\//' "$out" ;;
  *) echo "gpt2_dlnc_variant.sh: VARIANT must be nogelu, nodiv or noslice" >&2; exit 2 ;;
esac
