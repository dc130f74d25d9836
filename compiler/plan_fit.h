/* plan_fit.h — first-fit placement of buffers by liveness, for pass_plan.
 *
 * Buffers arrive in order of birth; each goes to the lowest offset where it
 * overlaps no buffer still alive, exactly as a scan of the live buffers in
 * offset order would place it, but in O(log n) per buffer: that scan made a
 * deep network's train step, whose forward activations are all alive during
 * the backward, cost n^2 to plan. */
#ifndef DLNC_PLAN_FIT_H
#define DLNC_PLAN_FIT_H
#include <stdint.h>

typedef struct plan_fit plan_fit;

/* Room for `cap` placements between resets. Exits if out of memory. */
plan_fit *plan_fit_new(int cap);
void plan_fit_free(plan_fit *f);
/* Forget every buffer (the next arena class starts empty). */
void plan_fit_reset(plan_fit *f);
/* Drop the buffers whose last use is before `birth`. */
void plan_fit_expire(plan_fit *f, int birth);
/* Place `units` (>= 1) alive until `death`; returns its offset. */
int64_t plan_fit_place(plan_fit *f, int64_t units, int death);

#endif
