/* hsum_tree_internal.h — eight 16-lane horizontal sums at once, as one
 * shuffle tree (gemm_small.c's matrix-vector rows, conv_pointwise_s2.c's
 * weight-gradient tiles). */
#ifndef DLNRT_HSUM_TREE_INTERNAL_H
#define DLNRT_HSUM_TREE_INTERNAL_H

/* The helper is always inlined into code compiled for one target, so no
 * call passes a vector and GCC's ABI note does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float dl_gv16 __attribute__((vector_size(64)));
typedef float dl_gv8 __attribute__((vector_size(32)));

/* Lane k of the result is the sum of a[k]'s lanes (eight rows' horizontal
 * sums at once): three rounds that each add the two halves of every row's
 * partial sums while packing two rows' results into one vector
 * (16 -> 8 -> 4 -> 2 lanes a row), then a last pairwise add.
 * About 24 instructions for eight rows, where a per-row 16-lane reduction
 * took as many as the products themselves at K = 128. A fixed tree: every
 * variant, and every row, adds in the same order. */
static inline __attribute__((always_inline)) dl_gv8 dl_gv_hsum8(const dl_gv16 *a)
{
    dl_gv16 s[4], t[2];
    for (int k = 0; k < 4; k++)
        s[k] = __builtin_shufflevector(a[2 * k], a[2 * k + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
               __builtin_shufflevector(a[2 * k], a[2 * k + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    for (int k = 0; k < 2; k++)
        t[k] = __builtin_shufflevector(s[2 * k], s[2 * k + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
               __builtin_shufflevector(s[2 * k], s[2 * k + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    dl_gv16 u = __builtin_shufflevector(t[0], t[1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) +
                __builtin_shufflevector(t[0], t[1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    return __builtin_shufflevector(u, u, 0, 2, 4, 6, 8, 10, 12, 14) + __builtin_shufflevector(u, u, 1, 3, 5, 7, 9, 11, 13, 15);
}

#endif
