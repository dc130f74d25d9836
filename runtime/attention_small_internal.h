/* attention_small_internal.h — the forward attention's two products for a
 * column-form tile (runtime/attention.c's probs_cols), as direct AVX-512
 * kernels that skip the causal triangle (runtime only). */
#ifndef DLNRT_ATTENTION_SMALL_INTERNAL_H
#define DLNRT_ATTENTION_SMALL_INTERNAL_H
#include <stdint.h>

/* Scores transposed, keys down and queries across:
 *   pt[s * tb + i] = scale * sum_d k[s * ldk + d] * q[i * ldq + d]
 * for keys s < lim and queries i < tb, in blocks of 16 queries; block
 * i0 = 16 j is computed for keys s < min(lim, i0 + 16 + vis) only, where
 * key s is visible to query i iff s <= i + vis (causal; vis < 0 means not
 * causal: every key). Entries left out are not written: probs_cols never
 * reads them (its rows start at the first visible query rounded down to 16)
 * and zeroes them. dh <= 256. Each entry is summed as dl_sgemm's blocked
 * kernels sum it (one FMA per d from zero, then times scale), so the bits
 * are dl_sgemm's wherever it runs them (M, N > 1 and M N K >= 16^3, as at
 * GPT's 64 x 64 x 32; its small-product path sums in another order).
 * `softmax`: then each block's softmax as probs_cols takes it without a
 * mask (the same bits: the same exp, maximum and sums in key order), the
 * block still in L1: pt then holds the weights P^T of every entry
 * dl_attn_pv_cols reads, the others unwritten.
 * Returns 0 when done, -1 (nothing written) when this CPU has no AVX-512:
 * the caller then runs dl_sgemm (and probs_cols). */
int dl_attn_scores_cols(int64_t lim, int64_t tb, int64_t dh, float scale, const float *k, int64_t ldk,
                        const float *q, int64_t ldq, int64_t vis, int softmax, float *pt);

/* out[i * ldo + c] = sum_{s < lim} pt[s * tb + i] * v[s * ldv + c] for
 * i < tb, c < dv, the sum for query i stopping at key i + vis (vis < 0:
 * every key), rounded up to its block of 8 queries: the weights past it are
 * exactly 0 (probs_cols' zeros), and adding 0 * v does not change a finite
 * sum (so a NaN or inf among the values a query cannot see stays out of its
 * output, as it stays out when every key is masked). Summed as
 * dl_sgemm(1, 0, ...) sums it, with the same proviso; returns -1 as above. */
int dl_attn_pv_cols(int64_t lim, int64_t tb, int64_t dv, const float *pt, const float *v, int64_t ldv, int64_t vis,
                    float *out, int64_t ldo);

#endif
