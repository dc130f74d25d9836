/* Scaled-dot-product attention (dlnrt.h's dl_attention_geom) as plain loops:
 * one (batch, head, query) row at a time, two passes over its keys — the
 * largest score, then the exponentials' sum and the weighted values written
 * straight into the output row — so the softmax is the stable one and no
 * scores are stored (the export allocates nothing). A row whose keys are all
 * masked (-inf) is 0, as in the runtime. */
static int dl_attention(const dl_attention_geom *g, const float *q, const float *k, const float *v, const float *mask,
                        float *out)
{
    const int64_t dh = g->e / g->heads, dv = g->ev / g->heads, rows = g->batch * g->heads * g->t;
    int64_t r;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (rows * g->s * (dh + dv) >= 1000000)
#endif
    for (r = 0; r < rows; r++) {
        const int64_t b = r / (g->heads * g->t), h = r / g->t % g->heads, t = r % g->t;
        const float *qr = q + (b * g->t + t) * g->e + h * dh;
        const float *kb = k + b * (g->kb ? g->kb : g->s * g->e) + h * dh;
        const float *vb = v + b * (g->vb ? g->vb : g->s * g->ev) + h * dv;
        float *o = out + (b * g->t + t) * g->ev + h * dv, mx = -INFINITY, sum = 0.0f;
        const float *mr = mask;
        int64_t lim = g->causal && t + g->q_pos0 + 1 < g->s ? t + g->q_pos0 + 1 : g->s, s, j;
        if (mask) { /* the mask's row for (b, h, t): strides over the scores' coordinates */
            int64_t off = h * g->mh + t * g->mt, bb = b;
            int i;
            for (i = g->nb - 1; i >= 0; i--) off += (bb % g->bdim[i]) * g->mb[i], bb /= g->bdim[i];
            mr = mask + off;
        }
        if (lim < 0) lim = 0;
        for (j = 0; j < dv; j++) o[j] = 0.0f;
        for (s = 0; s < lim; s++) {
            float sc = 0.0f;
            for (j = 0; j < dh; j++) sc += qr[j] * kb[s * g->e + j];
            sc = sc * g->scale + (mr ? mr[s * g->ms] : 0.0f);
            mx = sc > mx ? sc : mx;
        }
        if (mx == -INFINITY) continue;
        for (s = 0; s < lim; s++) {
            float sc = 0.0f, p;
            for (j = 0; j < dh; j++) sc += qr[j] * kb[s * g->e + j];
            sc = sc * g->scale + (mr ? mr[s * g->ms] : 0.0f);
            if (sc == -INFINITY) continue;
            p = dl_expf(sc - mx);
            sum += p;
            for (j = 0; j < dv; j++) o[j] += p * vb[s * g->ev + j];
        }
        for (j = 0; j < dv; j++) o[j] /= sum;
    }
    return 0;
}
