/* Average pooling: the window of output (i, j) clipped to the input, divided
 * by its padded size (count_include_pad) or real size; adaptive windows as
 * PyTorch's adaptive_avg_pool2d. */
static void deploy_avg_pool(const dl_conv2d_geom *g, const float *x, float *y, int adaptive)
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
                int64_t r0, r1, q0, q1, padded;
                float s = 0.0f, div;
                if (adaptive) {
                    r0 = i * g->h / g->oh, r1 = ((i + 1) * g->h + g->oh - 1) / g->oh;
                    q0 = j * g->w / g->ow, q1 = ((j + 1) * g->w + g->ow - 1) / g->ow;
                    div = (float)((r1 - r0) * (q1 - q0));
                } else {
                    r0 = i * g->sh - g->pt, q0 = j * g->sw - g->pl;
                    r1 = r0 + g->kh < g->h + g->pb ? r0 + g->kh : g->h + g->pb;
                    q1 = q0 + g->kw < g->w + g->pr ? q0 + g->kw : g->w + g->pr;
                    padded = (r1 - r0) * (q1 - q0);
                    if (r0 < 0) r0 = 0;
                    if (q0 < 0) q0 = 0;
                    if (r1 > g->h) r1 = g->h;
                    if (q1 > g->w) q1 = g->w;
                    div = (float)(g->count_include_pad ? padded : (r1 - r0) * (q1 - q0));
                }
                for (r = r0; r < r1; r++)
                    for (q = q0; q < q1; q++) s += xp[r * g->w + q];
                y[(p * g->oh + i) * g->ow + j] = s / div;
            }
    }
}
