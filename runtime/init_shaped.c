/* init_shaped.c — the initializers that depend on the tensor's shape, not
 * only on its size: orthogonal (init_orthogonal.c), sparse, dirac and eye,
 * with torch.nn.init's semantics (orthogonal_, sparse_, dirac_, eye_).
 *
 *   sparse(s, std)   [rows, cols]: N(0, std²), then in each column
 *                    ceil(s · rows) rows, chosen at random, set to 0 (the
 *                    table carries that count: 0.3 as a float times 40 is 12.0000005)
 *   dirac(groups)    [out, in/groups, k...]: 1 at [g·out/groups + d, d, centre]
 *                    for d < min(out/groups, in/groups), 0 elsewhere: the
 *                    convolution passes its input through (identity per group)
 *   eye()            [rows, cols]: 1 on the diagonal, torch.eye(rows, cols)
 *
 * Every other kind is dl_init_tensor's. dlnc checks the shapes when it
 * compiles; the checks here only keep a hand-written table from writing
 * outside the tensor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "init_internal.h"

/* A uniform index in [0, k), from 53 random bits (bias below k / 2^53). */
static int64_t rand_below(dl_rng *rng, int64_t k)
{
    return (int64_t)((double)(dl_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0) * (double)k);
}

static int fill_sparse(float *w, int64_t rows, int64_t cols, int64_t zeros, double std, dl_rng *rng)
{
    if (zeros > rows) zeros = rows;
    if (zeros < 0) zeros = 0;
    int64_t *perm = malloc(sizeof *perm * (size_t)rows);
    if (!perm) {
        dl_set_error("sparse: out of memory for %lld rows", (long long)rows);
        return -1;
    }
    for (int64_t i = 0; i < rows * cols; i++) w[i] = (float)(std * dl_rng_normal(rng));
    for (int64_t j = 0; j < cols; j++) {
        for (int64_t i = 0; i < rows; i++) perm[i] = i;
        for (int64_t i = 0; i < zeros; i++) { /* the first `zeros` of a Fisher–Yates shuffle */
            int64_t r = i + rand_below(rng, rows - i), t = perm[i];
            perm[i] = perm[r], perm[r] = t;
            w[perm[i] * cols + j] = 0.0f;
        }
    }
    free(perm);
    return 0;
}

static void fill_dirac(float *w, int rank, const int64_t *shape, int64_t groups)
{
    int64_t per = shape[0] / groups, n = per < shape[1] ? per : shape[1], spatial = 1, centre = 0;
    for (int k = 2; k < rank; k++) {
        spatial *= shape[k];
        centre = centre * shape[k] + shape[k] / 2;
    }
    for (int64_t g = 0; g < groups; g++)
        for (int64_t d = 0; d < n; d++) w[((g * per + d) * shape[1] + d) * spatial + centre] = 1.0f;
}

void dl_init_shaped(float *w, int rank, const int64_t *shape, const dl_init *init, dl_rng *rng)
{
    int64_t numel = 1;
    for (int k = 0; k < rank; k++) numel *= shape[k];
    int64_t groups = (int64_t)init->a;
    const char *bad = NULL;
    switch (init->kind) {
    case DL_INIT_ORTHOGONAL: bad = rank < 2 ? "orthogonal needs 2 or more dimensions" : NULL; break;
    case DL_INIT_SPARSE: bad = rank != 2 ? "sparse needs 2 dimensions" : NULL; break;
    case DL_INIT_EYE: bad = rank != 2 ? "eye needs 2 dimensions" : NULL; break;
    case DL_INIT_DIRAC:
        bad = rank < 3 || rank > 5 ? "dirac needs 3, 4 or 5 dimensions"
              : groups < 1 || shape[0] % groups ? "dirac: groups must divide dimension 0" : NULL;
        break;
    default: dl_init_tensor(w, numel, init, rng); return;
    }
    memset(w, 0, sizeof *w * (size_t)numel);
    if (bad) {
        dl_set_error("dl_init_shaped: %s", bad);
        return;
    }
    switch (init->kind) {
    case DL_INIT_ORTHOGONAL:
        if (dl_fill_orthogonal(w, shape[0], numel / shape[0], init->gain, rng) != 0) memset(w, 0, sizeof *w * (size_t)numel);
        break;
    case DL_INIT_SPARSE: fill_sparse(w, shape[0], shape[1], (int64_t)init->a, init->b, rng); break;
    case DL_INIT_DIRAC: fill_dirac(w, rank, shape, groups); break;
    case DL_INIT_EYE:
        for (int64_t i = 0; i < shape[0] && i < shape[1]; i++) w[i * shape[1] + i] = 1.0f;
        break;
    default: break;
    }
}
