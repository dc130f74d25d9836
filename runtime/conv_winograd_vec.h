/* conv_winograd_vec.h — what conv_winograd.c and conv_winograd4.c's
 * transforms share: run-time ISA clones and the 8-float vector they put 8
 * tiles in. Include after <string.h>, in a file compiled with -Wpsabi off
 * (the vector helpers are always inlined: no vector crosses a call). */
#ifndef DLNRT_CONV_WINOGRAD_VEC_H
#define DLNRT_CONV_WINOGRAD_VEC_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WG_CLONES
#endif

typedef float wg_v8 __attribute__((vector_size(32)));
#define INLINE inline __attribute__((always_inline))

static INLINE wg_v8 load8(const float *p) {
    wg_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

#endif
