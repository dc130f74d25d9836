/* sched.c — learning-rate schedules as a pure function of the (fractional)
 * epoch, so the driver can set the rate every step and a resumed run gets the
 * same rates.
 *
 * Warm-up comes first for every kind: over the first `warmup` epochs the rate
 * rises linearly from base * warmup_start to base (warmup_start 0 means the
 * default 0.1). The kind's own schedule then runs on the post-warm-up clock
 * t = epoch - warmup (like PyTorch's SequentialLR hands over to the second
 * scheduler at the milestone):
 *   constant      base
 *   step          base * gamma^floor(t / step_size)
 *   exponential   base * gamma^t
 *   cosine        min + (base - min) * (1 + cos(pi * t / T)) / 2,  T = total - warmup
 *   poly          min + (base - min) * (1 - t / T)^power  (torch's PolynomialLR when min = 0)
 *   plateau       base, times the scale dl_plateau keeps (plateau.c): it
 *                 depends on validation losses, not on the clock alone
 * Rates are continuous in t; step decay uses floor, so it changes per epoch. */
#include "dlnrt.h"

#include <math.h>

float dl_sched_lr(const dl_sched_config *s, float base_lr, int total_epochs, double epoch)
{
    if (epoch < 0) epoch = 0;
    if (s->warmup > 0 && epoch < s->warmup) {
        double start = s->warmup_start > 0 ? s->warmup_start : 0.1;
        return (float)(base_lr * (start + (1.0 - start) * epoch / s->warmup));
    }
    double t = epoch - (s->warmup > 0 ? s->warmup : 0);
    switch (s->kind) {
    case DL_SCHED_CONSTANT:
    case DL_SCHED_PLATEAU: return base_lr;
    case DL_SCHED_STEP:
        if (s->step_size <= 0) return base_lr;
        return (float)(base_lr * pow(s->gamma, floor(t / s->step_size)));
    case DL_SCHED_EXPONENTIAL: return (float)(base_lr * pow(s->gamma, t));
    case DL_SCHED_COSINE: {
        double T = (double)total_epochs - (s->warmup > 0 ? s->warmup : 0);
        if (T <= 0) return base_lr;
        if (t > T) t = T;
        return (float)(s->min_lr + (base_lr - s->min_lr) * (1.0 + cos(M_PI * t / T)) / 2.0);
    }
    case DL_SCHED_POLY: {
        double T = (double)total_epochs - (s->warmup > 0 ? s->warmup : 0);
        if (T <= 0) return base_lr;
        if (t > T) t = T;
        return (float)(s->min_lr + (base_lr - s->min_lr) * pow(1.0 - t / T, s->power));
    }
    }
    return base_lr;
}
