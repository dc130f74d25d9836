/* Max pooling with -inf padding; idx (may be NULL) gets the flat index of the
 * first maximum in its plane, as torch's return_indices. */
static void dl_max_pool2d(const dl_conv2d_geom *g, const float *x, float *y, int32_t *idx)
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
                int64_t r0 = i * g->sh - g->pt, q0 = j * g->sw - g->pl;
                int64_t r1 = r0 + g->dh * (g->kh - 1) + 1, q1 = q0 + g->dw * (g->kw - 1) + 1, best;
                float m = -INFINITY;
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
                if (y) y[(p * g->oh + i) * g->ow + j] = m;
                if (idx) idx[(p * g->oh + i) * g->ow + j] = (int32_t)best;
            }
    }
}
