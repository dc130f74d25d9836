/* init.c — parameter initializers, with torch.nn.init's formulas.
 *
 *   zeros, ones, constant(a)       w = 0, 1, a
 *   normal(a, b)                   w ~ N(mean a, std b)
 *   uniform(a, b)                  w ~ U[a, b)
 *   lecun_uniform                  U(-bound, bound), bound = gain * sqrt(3 / fan_in)
 *   lecun_normal                   N(0, std), std = gain / sqrt(fan_in)
 *   xavier_uniform                 bound = gain * sqrt(6 / (fan_in + fan_out))
 *   xavier_normal                  std   = gain * sqrt(2 / (fan_in + fan_out))
 *   he_uniform (kaiming_uniform)   bound = gain * sqrt(3 / fan_in)
 *   he_normal  (kaiming_normal)    std   = gain / sqrt(fan_in)
 *   trunc_normal(a, b; lo, hi)     N(mean a, std b) cut to [lo, hi] (init_trunc_normal.c)
 *   orthogonal, sparse, dirac, eye need the shape: dl_init_shaped (init_shaped.c)
 *
 * `gain` 0 means "this initializer's default": sqrt(2) for he_* (PyTorch's
 * calculate_gain('relu'), so he_uniform's bound is sqrt(6 / fan_in)), 1 for
 * lecun_* and xavier_*. A fan of 0 or less (an empty or scalar tensor) is
 * treated as 1 so the formulas stay finite.
 *
 * Values are drawn in order from the caller's dl_rng, so the result depends
 * only on the seed and the order in which the model initializes parameters. */
#include "init_internal.h"

#include <math.h>

static void dl_fill_uniform_range(float *w, int64_t n, float lo, float hi, dl_rng *rng)
{
    for (int64_t i = 0; i < n; i++) w[i] = lo + (hi - lo) * dl_rng_uniform(rng);
}

static void dl_fill_normal_std(float *w, int64_t n, float mean, float std, dl_rng *rng)
{
    for (int64_t i = 0; i < n; i++) w[i] = mean + std * dl_rng_normal(rng);
}

void dl_init_tensor(float *w, int64_t n, const dl_init *init, dl_rng *rng)
{
    double fan_in = init->fan_in > 0 ? (double)init->fan_in : 1.0;
    double fan_out = init->fan_out > 0 ? (double)init->fan_out : 1.0;
    double gain = init->gain;
    if (gain == 0.0) gain = (init->kind == DL_INIT_HE_UNIFORM || init->kind == DL_INIT_HE_NORMAL) ? sqrt(2.0) : 1.0;
    double bound;
    switch (init->kind) {
    case DL_INIT_ZEROS:    for (int64_t i = 0; i < n; i++) w[i] = 0.0f; break;
    case DL_INIT_ONES:     for (int64_t i = 0; i < n; i++) w[i] = 1.0f; break;
    case DL_INIT_CONSTANT: for (int64_t i = 0; i < n; i++) w[i] = init->a; break;
    case DL_INIT_NORMAL:   dl_fill_normal_std(w, n, init->a, init->b, rng); break;
    case DL_INIT_UNIFORM:  dl_fill_uniform_range(w, n, init->a, init->b, rng); break;
    case DL_INIT_LECUN_UNIFORM:
    case DL_INIT_HE_UNIFORM:
        bound = gain * sqrt(3.0 / fan_in);
        dl_fill_uniform_range(w, n, (float)-bound, (float)bound, rng);
        break;
    case DL_INIT_LECUN_NORMAL:
    case DL_INIT_HE_NORMAL:
        dl_fill_normal_std(w, n, 0.0f, (float)(gain / sqrt(fan_in)), rng);
        break;
    case DL_INIT_XAVIER_UNIFORM:
        bound = gain * sqrt(6.0 / (fan_in + fan_out));
        dl_fill_uniform_range(w, n, (float)-bound, (float)bound, rng);
        break;
    case DL_INIT_XAVIER_NORMAL:
        dl_fill_normal_std(w, n, 0.0f, (float)(gain * sqrt(2.0 / (fan_in + fan_out))), rng);
        break;
    case DL_INIT_TRUNC_NORMAL: dl_fill_trunc_normal(w, n, init->a, init->b, init->lo, init->hi, rng); break;
    case DL_INIT_ORTHOGONAL:
    case DL_INIT_SPARSE:
    case DL_INIT_DIRAC:
    case DL_INIT_EYE:
        dl_set_error("dl_init_tensor: initializer kind %d needs the shape (dl_init_shaped)", (int)init->kind);
        for (int64_t i = 0; i < n; i++) w[i] = 0.0f;
        break;
    default:
        /* An unknown kind is a compiler/runtime version mismatch; leave a
         * message and deterministic zeros rather than garbage. */
        dl_set_error("dl_init_tensor: unknown initializer kind %d", (int)init->kind);
        for (int64_t i = 0; i < n; i++) w[i] = 0.0f;
    }
}
