/* Direct convolution (NCHW, PyTorch's semantics: padding, stride, dilation,
 * groups), one image at a time; ep (if any) finishes each image when it is done. */
static int dl_conv2d_ep(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                        void *ctx)
{
    const int64_t icg = g->c / g->groups, ocg = g->oc / g->groups;
    int64_t b;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (g->n > 1)
#endif
    for (b = 0; b < g->n; b++) {
        float *yb = y + b * g->oc * g->oh * g->ow;
        int64_t o;
        for (o = 0; o < g->oc; o++) {
            const int64_t grp = o / ocg;
            int64_t i, j, ci, r, q;
            for (i = 0; i < g->oh; i++)
                for (j = 0; j < g->ow; j++) {
                    float s = 0.0f;
                    for (ci = 0; ci < icg; ci++) {
                        const float *xp = x + ((b * g->c) + grp * icg + ci) * g->h * g->w;
                        const float *wp = w + (o * icg + ci) * g->kh * g->kw;
                        for (r = 0; r < g->kh; r++) {
                            const int64_t yy = i * g->sh - g->pt + r * g->dh;
                            if (yy < 0 || yy >= g->h) continue;
                            for (q = 0; q < g->kw; q++) {
                                const int64_t xx = j * g->sw - g->pl + q * g->dw;
                                if (xx >= 0 && xx < g->w) s += xp[yy * g->w + xx] * wp[r * g->kw + q];
                            }
                        }
                    }
                    yb[(o * g->oh + i) * g->ow + j] = s;
                }
        }
        if (ep) ep(ctx, b, yb);
    }
    return 0;
}
