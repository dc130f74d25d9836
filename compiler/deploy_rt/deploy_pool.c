/* Pooling: kind 0 max (-inf padding, dilation; idx, if not NULL, gets the
 * flat index of the first maximum in its plane, as torch's return_indices),
 * 1 average (the window clipped to the input, divided by its padded size
 * with count_include_pad, else its real size), 2 adaptive average
 * (PyTorch's adaptive_avg_pool2d windows). */
static void deploy_pool(const dl_conv2d_geom *g, const float *x, float *y, int32_t *idx, int kind)
{
    int64_t p;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (g->n * g->c * g->oh * g->ow > 100000)
#endif
    for (p = 0; p < g->n * g->c; p++) {
        const float *xp = x + p * g->h * g->w;
        int64_t i, j, r, q;
        for (i = 0; i < g->oh; i++)
            for (j = 0; j < g->ow; j++) {
                const int64_t o = (p * g->oh + i) * g->ow + j;
                int64_t r0 = i * g->sh - g->pt, q0 = j * g->sw - g->pl, r1, q1, best, padded;
                float m = -INFINITY, s = 0.0f;
                if (kind == 0) {
                    r1 = r0 + g->dh * (g->kh - 1) + 1, q1 = q0 + g->dw * (g->kw - 1) + 1;
                    if (r1 > g->h) r1 = g->h;
                    if (q1 > g->w) q1 = g->w;
                    while (r0 < 0) r0 += g->dh;
                    while (q0 < 0) q0 += g->dw;
                    best = r0 * g->w + q0;
                    for (r = r0; r < r1; r += g->dh)
                        for (q = q0; q < q1; q += g->dw) {
                            const float v = xp[r * g->w + q];
                            if (v > m || v != v) m = v, best = r * g->w + q;
                        }
                    if (y) y[o] = m;
                    if (idx) idx[o] = (int32_t)best;
                    continue;
                }
                if (kind == 2) {
                    r0 = i * g->h / g->oh, r1 = ((i + 1) * g->h + g->oh - 1) / g->oh;
                    q0 = j * g->w / g->ow, q1 = ((j + 1) * g->w + g->ow - 1) / g->ow;
                    padded = (r1 - r0) * (q1 - q0);
                } else {
                    r1 = r0 + g->kh < g->h + g->pb ? r0 + g->kh : g->h + g->pb;
                    q1 = q0 + g->kw < g->w + g->pr ? q0 + g->kw : g->w + g->pr;
                    padded = (r1 - r0) * (q1 - q0);
                    if (r0 < 0) r0 = 0;
                    if (q0 < 0) q0 = 0;
                    if (r1 > g->h) r1 = g->h;
                    if (q1 > g->w) q1 = g->w;
                }
                for (r = r0; r < r1; r++)
                    for (q = q0; q < q1; q++) s += xp[r * g->w + q];
                y[o] = s / (float)(g->count_include_pad || kind == 2 ? padded : (r1 - r0) * (q1 - q0));
            }
    }
}
