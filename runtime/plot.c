/* plot.c — the chart layer over the display list: tick values, axes, series
 * and legends (see plot_internal.h). Layout numbers are in pixels of the
 * final picture. Text sizes are multiples of 7 pixels, the bitmap font's
 * capital height, so its pixels land on whole picture pixels and stay sharp;
 * frame and grid lines sit on pixel centres for the same reason. */
#include "plot_internal.h"

#include <math.h>
#include <stdlib.h>

enum { DL_TICK_SIZE = 14 };               /* tick labels, legend, axis labels */
#define DL_INK 0x222222u
#define DL_FRAME 0x555555u
#define DL_GRID 0xe4e4e4u
#define DL_LEGEND_EDGE 0xbbbbbbu

/* 1, 2 or 5 times a power of ten: the nearest. */
static double dl_nice_number(double x)
{
    double e = floor(log10(x)), p = pow(10, e), m = x / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

void dl_nice_ticks(double lo, double hi, int target, dl_ticks *t)
{
    if (!isfinite(lo) || !isfinite(hi)) lo = 0, hi = 1;
    if (lo > hi) { double s = lo; lo = hi; hi = s; }
    if (hi - lo < 1e-12 * fmax(fabs(lo), fabs(hi)) || hi == lo) {
        /* a flat curve still gets an axis around its value */
        double pad = lo == 0 ? 1 : fabs(lo) * 0.1;
        lo -= pad, hi += pad;
    }
    t->step = dl_nice_number((hi - lo) / (target > 1 ? target - 1 : 1));
    /* a value a rounding error past a tick does not earn another tick */
    t->lo = floor(lo / t->step + 1e-9) * t->step;
    t->hi = ceil(hi / t->step - 1e-9) * t->step;
    double n = (t->hi - t->lo) / t->step;
    if (!isfinite(n) || !(n >= 1 && n <= 100)) {
        /* beyond double's range (a damaged file's 1e308): two ticks, no loop over billions */
        t->lo = isfinite(lo) && isfinite(hi - lo) ? lo : -1, t->hi = isfinite(lo) && isfinite(hi - lo) ? hi : 1;
        t->step = t->hi - t->lo, t->n = 2, t->decimals = 0;
        return;
    }
    t->n = (int)lround(n) + 1;
    int d = -(int)floor(log10(t->step) + 1e-9);
    t->decimals = d > 0 ? d : 0;
}

float dl_axes_px(const dl_axes *a, double x)
{
    return a->x + (float)((x - a->xt.lo) / (a->xt.hi - a->xt.lo)) * a->w;
}

float dl_axes_py(const dl_axes *a, double y)
{
    return a->y + a->h - (float)((y - a->yt.lo) / (a->yt.hi - a->yt.lo)) * a->h;
}

static float dl_snap(float v) { return floorf(v) + 0.5f; }

static void dl_segment(dl_figure *f, float x0, float y0, float x1, float y1, float width, uint32_t color)
{
    float pts[4] = {x0, y0, x1, y1};
    dl_fig_line(f, pts, 2, width, 0, color);
}

/* Tick i as text: with the decimals its step needs, in exponent form when
 * the axis is huge or tiny (a diverging loss reaches 1e33); never "-0.0". */
static void dl_tick_label(const dl_ticks *t, int i, char *buf, size_t cap)
{
    double v = t->lo + i * t->step, big = fmax(fabs(t->lo), fabs(t->hi));
    if (fabs(v) < t->step * 1e-6) v = 0.0;
    if (big >= 1e6 || (big > 0 && big < 1e-3)) snprintf(buf, cap, "%.3g", v);
    else snprintf(buf, cap, "%.*f", t->decimals, v);
}

void dl_axes_draw(dl_figure *f, const dl_axes *a, const char *title, const char *xlabel, const char *ylabel)
{
    const float s = DL_TICK_SIZE;
    float left = dl_snap(a->x), right = dl_snap(a->x + a->w), top = dl_snap(a->y), bottom = dl_snap(a->y + a->h);
    float widest = 0;
    char label[64];
    for (int i = 0; i < a->yt.n; i++) {
        float y = dl_snap(dl_axes_py(a, a->yt.lo + i * a->yt.step));
        if (i > 0 && i < a->yt.n - 1) dl_segment(f, left, y, right, y, 1, DL_GRID);
        dl_segment(f, left - 5, y, left, y, 1, DL_FRAME);
        dl_tick_label(&a->yt, i, label, sizeof label);
        dl_fig_text(f, left - 9, y + s / 2, s, DL_ANCHOR_END, 0, DL_INK, "%s", label);
        widest = fmaxf(widest, dl_text_width(label, s));
    }
    for (int i = 0; i < a->xt.n; i++) {
        float x = dl_snap(dl_axes_px(a, a->xt.lo + i * a->xt.step));
        if (i > 0 && i < a->xt.n - 1) dl_segment(f, x, top, x, bottom, 1, DL_GRID);
        dl_segment(f, x, bottom, x, bottom + 5, 1, DL_FRAME);
        dl_tick_label(&a->xt, i, label, sizeof label);
        dl_fig_text(f, x, bottom + 9 + s, s, DL_ANCHOR_MIDDLE, 0, DL_INK, "%s", label);
    }
    float frame[10] = {left, top, right, top, right, bottom, left, bottom, left, top};
    dl_fig_line(f, frame, 5, 1, 0, DL_FRAME);
    if (xlabel) dl_fig_text(f, a->x + a->w / 2, bottom + 2 * s + 22, s, DL_ANCHOR_MIDDLE, 0, DL_INK, "%s", xlabel);
    /* beside the widest tick label, but inside the picture (a vertical label extends left of its x) */
    if (ylabel) dl_fig_text(f, fmaxf(left - widest - 18, s + 4), a->y + a->h / 2, s, DL_ANCHOR_MIDDLE, 1, DL_INK, "%s", ylabel);
    if (title) dl_fig_text(f, a->x + a->w / 2, top - 12, s, DL_ANCHOR_MIDDLE, 0, DL_INK, "%s", title);
}

/* Liang-Barsky: the part of segment p-q inside the plot area, as fractions
 * [*t0, *t1] of it; 0 when none is. */
static int dl_clip(const dl_axes *a, float px, float py, float qx, float qy, float *t0, float *t1)
{
    float d[2] = {qx - px, qy - py}, lo[2] = {a->x, a->y}, hi[2] = {a->x + a->w, a->y + a->h}, p[2] = {px, py};
    *t0 = 0, *t1 = 1;
    for (int k = 0; k < 2; k++) {
        if (d[k] == 0) {
            if (p[k] < lo[k] - 1e-3f || p[k] > hi[k] + 1e-3f) return 0;
            continue;
        }
        float ta = (lo[k] - p[k]) / d[k], tb = (hi[k] - p[k]) / d[k];
        if (ta > tb) { float s = ta; ta = tb; tb = s; }
        *t0 = fmaxf(*t0, ta), *t1 = fminf(*t1, tb);
    }
    return *t0 <= *t1;
}

void dl_axes_series(dl_figure *f, const dl_axes *a, const double *xs, const double *ys, int n, uint32_t color,
                    float width, float dash, float marker)
{
    float *pts = malloc((size_t)(n > 0 ? n + 1 : 1) * 2 * sizeof *pts);
    if (!pts) { f->oom = 1; return; }
    int k = 0;                            /* points of the piece being built */
    for (int i = 1; i < n; i++) {
        float t0, t1, px = dl_axes_px(a, xs[i - 1]), py = dl_axes_py(a, ys[i - 1]), qx = dl_axes_px(a, xs[i]),
                      qy = dl_axes_py(a, ys[i]);
        int ok = isfinite(px) && isfinite(py) && isfinite(qx) && isfinite(qy) && dl_clip(a, px, py, qx, qy, &t0, &t1);
        if (ok && (k == 0 || t0 > 0)) {
            if (k >= 2) dl_fig_line(f, pts, k, width, dash, color);
            pts[0] = px + t0 * (qx - px), pts[1] = py + t0 * (qy - py), k = 1;
        }
        if (ok) pts[2 * k] = px + t1 * (qx - px), pts[2 * k + 1] = py + t1 * (qy - py), k++;
        if (!ok || t1 < 1) {              /* the curve leaves the area here */
            if (k >= 2) dl_fig_line(f, pts, k, width, dash, color);
            k = 0;
        }
    }
    if (k >= 2) dl_fig_line(f, pts, k, width, dash, color);
    for (int i = 0; marker > 0 && i < n; i++) {
        float x = dl_axes_px(a, xs[i]), y = dl_axes_py(a, ys[i]);
        if (x >= a->x - 0.01f && x <= a->x + a->w + 0.01f && y >= a->y - 0.01f && y <= a->y + a->h + 0.01f)
            dl_fig_disc(f, x, y, marker, color);
    }
    free(pts);
}

/* How much of the curves drawn so far in a's area lies under the box
 * [x0, x1] x [y0, y1]: segments sampled at 8 points each (grid and frame
 * lines are not curves). */
static int dl_covered(const dl_figure *f, float x0, float y0, float x1, float y1)
{
    int hits = 0;
    for (int i = 0; i < f->n; i++) {
        const dl_prim *p = &f->prims[i];
        if (p->kind != DL_PRIM_LINE || p->color == DL_GRID || p->color == DL_FRAME) continue;
        for (int k = 0; k + 1 < p->npts; k++)
            for (int j = 0; j < 8; j++) {
                float t = j / 8.0f, x = p->pts[2 * k] + t * (p->pts[2 * k + 2] - p->pts[2 * k]),
                      y = p->pts[2 * k + 1] + t * (p->pts[2 * k + 3] - p->pts[2 * k + 1]);
                hits += x >= x0 && x <= x1 && y >= y0 && y <= y1;
            }
    }
    return hits;
}

enum { DL_LEGEND_ROW = DL_TICK_SIZE + 10, DL_LEGEND_SAMPLE = 28, DL_LEGEND_PAD = 10, DL_LEGEND_MARGIN = 12 };

static void dl_legend_size(const dl_legend_entry *e, int n, float *w, float *h)
{
    float text_w = 0;
    for (int i = 0; i < n; i++) text_w = fmaxf(text_w, dl_text_width(e[i].label, DL_TICK_SIZE));
    *w = DL_LEGEND_PAD + DL_LEGEND_SAMPLE + 8 + text_w + DL_LEGEND_PAD;
    *h = DL_LEGEND_PAD + n * DL_LEGEND_ROW - 10 + DL_LEGEND_PAD;
}

/* Whether the curve through (xs, ys) passes under the box (sampled as dl_covered does). */
static int dl_series_under(const dl_axes *a, const double *xs, const double *ys, int n, float x0, float y0, float x1,
                           float y1)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < (i + 1 < n ? 8 : 1); j++) {
            double t = j / 8.0, x = xs[i] + (j ? t * (xs[i + 1] - xs[i]) : 0), y = ys[i] + (j ? t * (ys[i + 1] - ys[i]) : 0);
            float px = dl_axes_px(a, x), py = dl_axes_py(a, y);
            if (px >= x0 && px <= x1 && py >= y0 && py <= y1) return 1;
        }
    return 0;
}

int dl_axes_headroom(dl_axes *a, const dl_legend_entry *e, int n, const dl_series *s, int ns)
{
    float w, h;
    dl_legend_size(e, n, &w, &h);
    for (int raised = 0;; raised++) {
        float x0 = a->x + a->w - w - DL_LEGEND_MARGIN, y0 = a->y + DL_LEGEND_MARGIN;
        int under = 0;
        for (int i = 0; i < ns && !under; i++) under = dl_series_under(a, s[i].xs, s[i].ys, s[i].n, x0, y0, x0 + w, y0 + h);
        if (!under || raised == 4) return raised;
        a->yt.hi += a->yt.step;
        a->yt.n++;
    }
}

void dl_legend(dl_figure *f, const dl_axes *a, const dl_legend_entry *e, int n)
{
    const float s = DL_TICK_SIZE, row = DL_LEGEND_ROW, sample = DL_LEGEND_SAMPLE, pad = DL_LEGEND_PAD,
                margin = DL_LEGEND_MARGIN;
    float w, h;
    dl_legend_size(e, n, &w, &h);
    /* the corner hiding the least of the curves: top right, top left, bottom right, bottom left */
    float best_x = 0, best_y = 0;
    int best = -1;
    for (int c = 0; c < 4; c++) {
        float cx = c % 2 == 0 ? a->x + a->w - w - margin : a->x + margin;
        float cy = c < 2 ? a->y + margin : a->y + a->h - h - margin;
        int hits = dl_covered(f, cx, cy, cx + w, cy + h);
        if (best < 0 || hits < best) best = hits, best_x = cx, best_y = cy;
    }
    float x = floorf(best_x) + 0.5f, y = floorf(best_y) + 0.5f;
    float box[10] = {x, y, x + w, y, x + w, y + h, x, y + h, x, y};
    dl_fig_rect(f, x, y, w, h, 0xffffff);
    dl_fig_line(f, box, 5, 1, 0, DL_LEGEND_EDGE);
    for (int i = 0; i < n; i++) {
        float cy = y + pad + i * row + s / 2;
        float pts[4] = {x + pad, cy, x + pad + sample, cy};
        dl_fig_line(f, pts, 2, e[i].width, e[i].dash, e[i].color);
        if (e[i].marker > 0) dl_fig_disc(f, x + pad + sample / 2, cy, e[i].marker, e[i].color);
        dl_fig_text(f, x + pad + sample + 8, cy + s / 2, s, DL_ANCHOR_START, 0, DL_INK, "%s", e[i].label);
    }
}
