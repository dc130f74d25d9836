/* sample.c — choosing the next token from a model's logits, for generation.
 *
 * Temperature divides the logits before the softmax: below 1 sharpens the
 * distribution, above 1 flattens it, and 0 is its limit, the argmax. top_k
 * keeps only the k largest logits (the usual guard against the long tail of
 * unlikely tokens), and top_p (nucleus sampling, Holtzman et al. 2020) keeps
 * the likeliest tokens whose probabilities, after the temperature and top_k,
 * first reach p: a cut that adapts to how peaked each step's distribution is.
 * One draw from the caller's dl_rng per sample, so a seed gives the same text
 * every time. Probabilities are accumulated in double from max-subtracted
 * exponentials, so any finite logits are safe. */
#include "dlnrt.h"

#include <math.h>
#include <stdlib.h>

typedef struct dl_scored { float logit; int id; } dl_scored;

/* Largest logit first, lower id first among equals. */
static int dl_cmp_scored(const void *a, const void *b)
{
    const dl_scored *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return x->id - y->id;
}

int dl_sample_logits(const float *logits, int n, float temperature, int top_k, dl_rng *rng)
{
    return dl_sample_logits_p(logits, n, temperature, top_k, 1.0f, rng);
}

int dl_sample_logits_p(const float *logits, int n, float temperature, int top_k, float top_p, dl_rng *rng)
{
    if (!(top_p > 0 && top_p <= 1)) {
        dl_set_error("sample: top_p must be in (0, 1], got %g", (double)top_p);
        return -1;
    }
    if (n < 1 || !logits) { dl_set_error("sample: no logits (n = %d)", n); return -1; }
    if (!(temperature >= 0) || isinf(temperature)) {
        dl_set_error("sample: the temperature must be >= 0 and finite, got %g", (double)temperature);
        return -1;
    }
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (isnan(logits[i]) || logits[i] == INFINITY) {
            dl_set_error("sample: logit %d is %s", i, dl_nonfinite_name(logits[i]));
            return -1;
        }
        if (logits[i] != -INFINITY && (best < 0 || logits[i] > logits[best])) best = i;
    }
    if (best < 0) { dl_set_error("sample: every logit is -inf"); return -1; }
    if (temperature == 0) return best;
    /* The candidates: every id, or the top_k by logit. */
    dl_scored *c = malloc((size_t)n * sizeof *c);
    int m = n;
    if (!c) { dl_set_error("sample: out of memory"); return -1; }
    for (int i = 0; i < n; i++) c[i] = (dl_scored){logits[i], i};
    if ((top_k > 0 && top_k < n) || top_p < 1) qsort(c, (size_t)n, sizeof *c, dl_cmp_scored);
    if (top_k > 0 && top_k < n) m = top_k;
    double total = 0;
    for (int k = 0; k < m; k++) total += exp(((double)c[k].logit - logits[best]) / temperature);
    if (top_p < 1) {
        /* keep token k while the probability before it is below p: the first always stays */
        double before = 0, kept = 0;
        int k = 0;
        for (; k < m && before < top_p * total; k++) {
            double e = exp(((double)c[k].logit - logits[best]) / temperature);
            before += e;
            kept += e;
        }
        m = k;
        total = kept;
    }
    double u = (double)(dl_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0) * total, acc = 0;
    int pick = best;   /* only reached if rounding leaves u at the very top */
    for (int k = 0; k < m; k++) {
        double p = exp(((double)c[k].logit - logits[best]) / temperature);
        acc += p;
        if (p > 0 && u < acc) { pick = c[k].id; break; }
    }
    free(c);
    return pick;
}

double dl_bits_per_char(double loss_nats) { return loss_nats / log(2.0); }
