/* explain_internal.h — the arithmetic of the L-infinity attacks of
 * explain.c, apart so that unit tests can check it on hand-made numbers. */
#ifndef DLNRT_EXPLAIN_INTERNAL_H
#define DLNRT_EXPLAIN_INTERNAL_H
#include <stdint.h>

/* x[i] += step * sign(g[i]) (sign(0) = 0, as torch.sign): FGSM's step, and
 * each PGD iteration's. */
void dl_sign_step(float *x, const float *g, int64_t n, float step);
/* Projects x onto {|x - x0| <= eps} and then onto [lo, hi], elementwise (a
 * pixel's box inside the ball stays non-empty since x0 is in [lo, hi]). */
void dl_linf_project(float *x, const float *x0, int64_t n, float eps, float lo, float hi);

#endif
