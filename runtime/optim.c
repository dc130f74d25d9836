/* optim.c — optimizer updates, step for step what torch.optim does.
 *
 * Each update is one loop over the parameter's elements; scalars such as the
 * bias corrections are computed in double once per call, the per-element
 * arithmetic is float32 in the same order as PyTorch's single-tensor
 * (non-foreach) implementations, so a run can be checked against PyTorch to
 * ~1e-6. State lives in m1/m2, zero-initialized by the caller; where PyTorch
 * initializes state differently on the first step (SGD's momentum buffer is a
 * copy of the gradient, Adagrad's sum starts at initial_accumulator_value),
 * we do that when step == 1.
 *
 *   SGD      g' = g + wd*w; buf = step 1 ? g' : mu*buf + (1-dampening)*g'
 *            d = nesterov ? g' + mu*buf : buf  (d = g' without momentum);  w -= lr*d
 *   Adagrad  g' = g + wd*w; clr = lr / (1 + (step-1)*lr_decay); sum += g'^2
 *            w -= clr * g' / (sqrt(sum) + eps)
 *   RMSprop  g' = g + wd*w; sq = alpha*sq + (1-alpha)*g'^2; avg = sqrt(sq) + eps
 *            momentum > 0: buf = mu*buf + g'/avg, w -= lr*buf;  else w -= lr*g'/avg
 *   Adam     g' = g + wd*w; m = lerp(m, g', 1-b1); v = b2*v + (1-b2)*g'^2
 *            w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *   AdamW    w *= 1 - lr*wd, then Adam with no L2 term
 *   LAMB     m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2   (timm's Lamb, bias-corrected)
 *            u = (m/(1-b1^t)) / (sqrt(v)/sqrt(1-b2^t) + eps) + wd*w
 *            r = wd != 0 and |w|, |u| > 0 ? |w| / |u| : 1  (norms of this parameter tensor)
 *            w -= lr * r * u
 *
 * Gradient clipping (clip_norm) is global across parameters, so it is the
 * caller's job: dl_grad_norm gives the norm, the caller scales the gradients. */
/* The update loops are memory-streaming and run once per parameter per step;
 * -O3 without errno-setting sqrtf lets them vectorize, and the clones use
 * AVX2/AVX-512 where the CPU has them (the library is built without -march). */
#pragma GCC optimize("O3", "no-math-errno")
#include "dlnrt.h"

#include <math.h>

int dl_optim_state_slots(dl_optim_kind kind)
{
    switch (kind) {
    case DL_OPT_SGD: return 1;            /* momentum buffer (untouched when momentum == 0) */
    case DL_OPT_ADAGRAD: return 1;        /* sum of squares */
    case DL_OPT_RMSPROP: return 2;        /* square average, momentum buffer */
    case DL_OPT_ADAM: case DL_OPT_ADAMW: case DL_OPT_LAMB: return 2;  /* first, second moment */
    }
    return 0;
}

static void dl_sgd(const dl_optim_config *c, float lr, int64_t step, float *restrict w,
                   const float *restrict g, float *restrict buf, int64_t n)
{
    const float wd = c->weight_decay, mu = c->momentum, damp = 1.0f - c->dampening;
    if (mu == 0.0f || !buf) {
        for (int64_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        float d = wd != 0.0f ? g[i] + wd * w[i] : g[i];
        buf[i] = step <= 1 ? d : mu * buf[i] + damp * d;
        d = c->nesterov ? d + mu * buf[i] : buf[i];
        w[i] -= lr * d;
    }
}

static void dl_adagrad(const dl_optim_config *c, float lr, int64_t step, float *restrict w,
                       const float *restrict g, float *restrict sum, int64_t n)
{
    const float wd = c->weight_decay, eps = c->eps;
    const float clr = (float)(lr / (1.0 + (double)(step - 1) * c->lr_decay));
    const float init = step <= 1 ? c->initial_accumulator : 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float d = wd != 0.0f ? g[i] + wd * w[i] : g[i];
        sum[i] = (sum[i] + init) + d * d;
        w[i] -= clr * (d / (sqrtf(sum[i]) + eps));
    }
}

static void dl_rmsprop(const dl_optim_config *c, float lr, float *restrict w, const float *restrict g,
                       float *restrict sq, float *restrict buf, int64_t n)
{
    const float wd = c->weight_decay, a = c->alpha, eps = c->eps, mu = c->momentum;
    for (int64_t i = 0; i < n; i++) {
        float d = wd != 0.0f ? g[i] + wd * w[i] : g[i];
        sq[i] = a * sq[i] + (1.0f - a) * d * d;
        float avg = sqrtf(sq[i]) + eps;
        if (mu > 0.0f && buf) {
            buf[i] = mu * buf[i] + d / avg;
            w[i] -= lr * buf[i];
        } else {
            w[i] -= lr * (d / avg);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void dl_adam(const dl_optim_config *c, float lr, int64_t step, int decoupled, float *restrict w,
                    const float *restrict g, float *restrict m, float *restrict v, int64_t n)
{
    const float b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
    const double t = (double)(step < 1 ? 1 : step);
    const float step_size = (float)(lr / (1.0 - pow(b1, t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    const float decay = decoupled ? 1.0f - lr * wd : 1.0f;
    const float l2 = decoupled ? 0.0f : wd;
    for (int64_t i = 0; i < n; i++) {
        if (decoupled) w[i] *= decay;
        float d = l2 != 0.0f ? g[i] + l2 * w[i] : g[i];
        m[i] += (1.0f - b1) * (d - m[i]);           /* torch: exp_avg.lerp_(grad, 1-beta1) */
        v[i] = b2 * v[i] + (1.0f - b2) * d * d;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        w[i] -= step_size * (m[i] / denom);
    }
}

/* The Adam direction of element i plus the decay, the same float operations in
 * both of dl_lamb's passes (so the second applies exactly what the first measured). */
static inline float lamb_dir(float m, float v, float w, float bc1, float bc2_sqrt, float eps, float wd) {
    return (m / bc1) / (sqrtf(v) / bc2_sqrt + eps) + wd * w;
}

/* LAMB: the moments and the norms of w and of the update in one pass (in
 * double, in element order: the same bits at any thread count), then the
 * update scaled by the trust ratio |w| / |u|. timm applies the ratio only
 * where weight decay is on (always_adapt = False), and so do we. */
static void dl_lamb(const dl_optim_config *c, float lr, int64_t step, float *restrict w, const float *restrict g,
                    float *restrict m, float *restrict v, int64_t n)
{
    const float b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
    const double t = (double)(step < 1 ? 1 : step);
    const float bc1 = (float)(1.0 - pow(b1, t)), bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    double wn = 0.0, un = 0.0;
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        const float u = lamb_dir(m[i], v[i], w[i], bc1, bc2_sqrt, eps, wd);
        wn += (double)w[i] * w[i];
        un += (double)u * u;
    }
    const float scale = lr * (float)(wd != 0.0f && wn > 0.0 && un > 0.0 ? sqrt(wn) / sqrt(un) : 1.0);
    for (int64_t i = 0; i < n; i++) w[i] -= scale * lamb_dir(m[i], v[i], w[i], bc1, bc2_sqrt, eps, wd);
}

void dl_optim_update(const dl_optim_config *c, float lr, int64_t step,
                     float *w, const float *g, float *m1, float *m2, int64_t n)
{
    switch (c->kind) {
    case DL_OPT_SGD: dl_sgd(c, lr, step, w, g, m1, n); return;
    case DL_OPT_ADAGRAD:
        if (!m1) break;
        dl_adagrad(c, lr, step, w, g, m1, n);
        return;
    case DL_OPT_RMSPROP:
        if (!m1) break;
        dl_rmsprop(c, lr, w, g, m1, m2, n);
        return;
    case DL_OPT_ADAM: case DL_OPT_ADAMW:
        if (!m1 || !m2) break;
        dl_adam(c, lr, step, c->kind == DL_OPT_ADAMW, w, g, m1, m2, n);
        return;
    case DL_OPT_LAMB:
        if (!m1 || !m2) break;
        dl_lamb(c, lr, step, w, g, m1, m2, n);
        return;
    default:
        dl_set_error("dl_optim_update: unknown optimizer kind %d", (int)c->kind);
        return;
    }
    dl_set_error("dl_optim_update: optimizer kind %d needs %d state slot(s), got NULL",
                 (int)c->kind, dl_optim_state_slots(c->kind));
}

/* Each array is summed in NORM_CHUNKS contiguous chunks, then the chunks'
 * sums in order: the same bits however many threads share the chunks (an
 * OpenMP reduction clause adds per-thread sums, which moved the clipping
 * scale with the thread count). */
enum { NORM_CHUNKS = 16 };

double dl_grad_norm(float *const *grads, const int64_t *sizes, int count)
{
    double total = 0.0;
    for (int t = 0; t < count; t++) {
        const float *g = grads[t];
        const int64_t n = sizes[t];
        double part[NORM_CHUNKS];
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int c = 0; c < NORM_CHUNKS; c++) {
            double s = 0.0;
            for (int64_t i = n * c / NORM_CHUNKS; i < n * (c + 1) / NORM_CHUNKS; i++) s += (double)g[i] * g[i];
            part[c] = s;
        }
        for (int c = 0; c < NORM_CHUNKS; c++) total += part[c];
    }
    return sqrt(total);
}
