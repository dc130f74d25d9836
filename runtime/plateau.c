/* plateau.c — ReduceLROnPlateau, as torch.optim.lr_scheduler has it with
 * mode 'min', threshold_mode 'rel' and cooldown 0: a value is an
 * improvement when it is below best * (1 - threshold); after more than
 * `patience` epochs without one the rate is multiplied by `factor` (not
 * below min_lr) and the count starts again.
 *
 * The state is a scale on the base rate rather than a rate, so a warm-up
 * (dl_sched_lr) composes with it and the driver sets the rate every step
 * as for every other schedule. torch skips a reduction smaller than its eps
 * (1e-8); so do we, which is what keeps the rate at min_lr once there. */
#include "dlnrt.h"

#include <math.h>

void dl_plateau_init(dl_plateau *p)
{
    *p = (dl_plateau){.best = INFINITY, .scale = 1.0f};
}

int dl_plateau_step(dl_plateau *p, const dl_sched_config *s, float base_lr, double value)
{
    if (value < p->best * (1.0 - s->threshold)) {
        p->best = value;
        p->bad_epochs = 0;
    } else {
        p->bad_epochs++;
    }
    if (p->bad_epochs <= s->patience) return 0;
    p->bad_epochs = 0;
    const double old_lr = (double)base_lr * p->scale;
    const double new_lr = fmax(old_lr * s->factor, s->min_lr);
    if (!(old_lr - new_lr > 1e-8)) return 0;
    p->scale = base_lr > 0 ? (float)(new_lr / base_lr) : p->scale;
    p->reductions++;
    return 1;
}
