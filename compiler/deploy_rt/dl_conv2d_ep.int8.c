/* A convolution with an int8 weight (deploy_q8_find): x quantized per tensor,
 * the products summed in int32, scaled back per output channel; other
 * convolutions in float. */
static int dl_conv2d_ep(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                        void *ctx)
{
    const deploy_q8 *q = deploy_q8_find(w);
    const int64_t icg = g->c / g->groups, ocg = g->oc / g->groups;
    int64_t b;
    if (!q) return dl_conv2d_ep_f32(g, x, w, y, ep, ctx);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (g->n > 1)
#endif
    for (b = 0; b < g->n; b++) {
        float *yb = y + b * g->oc * g->oh * g->ow;
        int64_t o, i, j, ci, r, t;
        for (o = 0; o < g->oc; o++)
            for (i = 0; i < g->oh; i++)
                for (j = 0; j < g->ow; j++) {
                    int32_t s = 0;
                    for (ci = 0; ci < icg; ci++) {
                        const float *xp = x + ((b * g->c) + o / ocg * icg + ci) * g->h * g->w;
                        const int8_t *wp = q->w + (o * icg + ci) * g->kh * g->kw;
                        for (r = 0; r < g->kh; r++)
                            for (t = 0; t < g->kw; t++) {
                                const int64_t yy = i * g->sh - g->pt + r * g->dh, xx = j * g->sw - g->pl + t * g->dw;
                                if (yy >= 0 && yy < g->h && xx >= 0 && xx < g->w)
                                    s += deploy_q8_x(xp[yy * g->w + xx], 1.0f / q->xscale) * (int32_t)wp[r * g->kw + t];
                            }
                    }
                    yb[(o * g->oh + i) * g->ow + j] = (float)s * q->xscale * q->scale[o];
                }
        if (ep) ep(ctx, b, yb);
    }
    return 0;
}
