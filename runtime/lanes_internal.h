/* lanes_internal.h — fixed-width float vectors for the normalization kernels
 * (layer_norm.c, batch_norm.c).
 *
 * Their loops are compiled for AVX-512, AVX2 and baseline x86-64 and chosen
 * at load time (DL_LANE_CLONES), as gemm.c's kernels are: the library is
 * built for baseline x86-64, where the lanes run 4 wide, while the generated
 * C they replace is compiled with -march=native. Sums go through LANES
 * partial accumulators added in a fixed order (hsum), so the compiler
 * vectorizes them without -ffast-math and every clone gives the same bits
 * (-std=c11 keeps FMA contraction off). Include after <string.h>. */
#ifndef DL_LANES_INTERNAL_H
#define DL_LANES_INTERNAL_H

#define LANES 16

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DL_LANE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DL_LANE_CLONES
#endif
#define INLINE static inline __attribute__((always_inline))

/* LANES floats as one GCC vector: one zmm, two ymm or four xmm registers
 * depending on the clone, the same lanes (and bits) in each. */
typedef float vf __attribute__((vector_size(LANES * sizeof(float))));
/* Helpers that return a vf are always inlined into a clone: no ABI to change. */
#pragma GCC diagnostic ignored "-Wpsabi"

INLINE vf load(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE float hsum(vf v) {
    float s = 0.0f;
    for (int l = 0; l < LANES; l++) s += v[l];
    return s;
}

#endif
