/* plot_internal.h — pictures of training runs, drawn without a plotting
 * library (runtime only: the loss curves and the confusion matrix).
 *
 * A figure is a display list: rectangles, polylines, discs and text in pixel
 * coordinates (origin top left, y down). Two writers consume the same list,
 * so the PNG and the SVG of a figure show the same thing: the SVG writer
 * prints it as text, the PNG writer rasterizes it (3x supersampled, which
 * anti-aliases lines and text edges) with a built-in bitmap font and saves
 * it with libpng. On top of that, a small chart layer: axes with "nice"
 * tick values, data-to-pixel mapping, series and a legend. */
#ifndef DLNRT_PLOT_INTERNAL_H
#define DLNRT_PLOT_INTERNAL_H
#include <stdint.h>
#include <stdio.h>

typedef enum dl_prim_kind { DL_PRIM_RECT, DL_PRIM_LINE, DL_PRIM_DISC, DL_PRIM_TEXT } dl_prim_kind;
typedef enum dl_anchor { DL_ANCHOR_START, DL_ANCHOR_MIDDLE, DL_ANCHOR_END } dl_anchor;

typedef struct dl_prim {
    dl_prim_kind kind;
    uint32_t color;                       /* 0xRRGGBB */
    float x, y, w, h;                     /* rect: corner and size; disc: centre, radius in w; text: anchor point on the baseline */
    float width, dash;                    /* line: stroke width; dash length (0 = solid) */
    float *pts;                           /* line: x0, y0, x1, y1, ... (owned) */
    int npts;                             /* line: number of points */
    float size;                           /* text: capital height in pixels */
    dl_anchor anchor;                     /* text: which end (or the middle) sits on the anchor point */
    int vertical;                         /* text: rotated to read bottom to top */
    char *text;                           /* text: ASCII (owned) */
} dl_prim;

typedef struct dl_figure {
    int width, height;                    /* pixels */
    dl_prim *prims;
    int n, cap;
    int oom;                              /* an allocation failed: writing the figure reports it */
} dl_figure;

void dl_fig_init(dl_figure *f, int width, int height);
void dl_fig_free(dl_figure *f);
void dl_fig_rect(dl_figure *f, float x, float y, float w, float h, uint32_t color);
/* pts holds n points (2n floats), copied. */
void dl_fig_line(dl_figure *f, const float *pts, int n, float width, float dash, uint32_t color);
void dl_fig_disc(dl_figure *f, float cx, float cy, float r, uint32_t color);
void dl_fig_text(dl_figure *f, float x, float y, float size, dl_anchor anchor, int vertical, uint32_t color,
                 const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* The figure as an SVG document; rasterized into rgb (width * height * 3
 * bytes, caller-allocated; -1 if out of memory); as a PNG (-1 with an error
 * naming path). */
void dl_fig_write_svg(const dl_figure *f, FILE *out);
int dl_fig_raster(const dl_figure *f, unsigned char *rgb);
int dl_fig_write_png(const dl_figure *f, FILE *out, const char *path);
/* Writes path atomically, as PNG or SVG by its extension (.png, .svg). */
int dl_fig_save(const dl_figure *f, const char *path);

/* ---- the bitmap font (plot_font.c) ---- */
enum { DL_FONT_W = 5, DL_FONT_H = 9, DL_FONT_CAP = 7, DL_FONT_ADVANCE = 6 };
/* Row r (0 = top, DL_FONT_CAP - 1 = baseline row, then 2 descender rows) of
 * character c: bit 4 is the leftmost pixel. Characters outside ASCII 32-126
 * draw as '?'. */
unsigned dl_font_row(unsigned char c, int r);
/* Width in pixels of s drawn with capital height size. */
float dl_text_width(const char *s, float size);

/* ---- charts (plot.c) ---- */
typedef struct dl_ticks {
    double lo, hi, step;                  /* lo and hi are multiples of step covering the data */
    int n;                                /* ticks at lo, lo + step, ..., hi */
    int decimals;                         /* digits after the point that tell the ticks apart */
} dl_ticks;
/* "Nice numbers" (after Heckbert, Graphics Gems I): about `target` ticks
 * whose step is 1, 2 or 5 times a power of ten (the nearest to the range's
 * share; Heckbert first rounds the range up, which can double the axis),
 * from a multiple of the step at or below lo to one at or above hi. */
void dl_nice_ticks(double lo, double hi, int target, dl_ticks *t);

typedef struct dl_axes {
    float x, y, w, h;                     /* the plot area in pixels */
    dl_ticks xt, yt;                      /* the data range is [xt.lo, xt.hi] x [yt.lo, yt.hi] */
} dl_axes;
float dl_axes_px(const dl_axes *a, double x);
float dl_axes_py(const dl_axes *a, double y);
/* Frame, grid, tick labels, axis labels and a title above the area. */
void dl_axes_draw(dl_figure *f, const dl_axes *a, const char *title, const char *xlabel, const char *ylabel);
/* A curve through (xs[i], ys[i]), clipped to the plot area; NaN values
 * break it. marker > 0 draws a disc of that radius at each point inside. */
void dl_axes_series(dl_figure *f, const dl_axes *a, const double *xs, const double *ys, int n, uint32_t color,
                    float width, float dash, float marker);

typedef struct dl_legend_entry {
    const char *label;
    uint32_t color;
    float width, dash, marker;            /* as the series was drawn */
} dl_legend_entry;
/* A boxed legend in the corner of the plot area that hides the least of the
 * curves drawn so far (top right when it is a tie). */
void dl_legend(dl_figure *f, const dl_axes *a, const dl_legend_entry *e, int n);
/* Before drawing: raises the y axis a step at a time (at most 4) until the
 * legend fits in the top right corner above the curves; returns the steps
 * added. */
typedef struct dl_series {
    const double *xs, *ys;
    int n;
} dl_series;
int dl_axes_headroom(dl_axes *a, const dl_legend_entry *e, int n, const dl_series *s, int ns);

#endif
