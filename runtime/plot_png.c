/* plot_png.c — rasterizing a figure and writing it as a PNG.
 *
 * Every primitive is drawn opaque into a canvas 3x the figure's size in each
 * direction, one sample per canvas pixel (a pixel is covered when its centre
 * is inside the shape), and each 3x3 block is then averaged into one output
 * pixel: 9 coverage levels per pixel, enough to anti-alias curves and the
 * edges of text, with no blending arithmetic in the shape code. Lines are
 * unions of capsules (a segment widened by half the stroke, round ends), so
 * joints need no special case. The PNG is encoded by libpng's simplified
 * API. */
#include "plot_internal.h"
#include "dlnrt.h"

#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

enum { SS = 3 };                          /* samples per output pixel, per direction */

typedef struct dl_canvas {
    int w, h;                             /* samples */
    unsigned char *rgb;
} dl_canvas;

static int dl_clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The samples whose centres fall in [x0, x1) x [y0, y1) (figure pixels). */
static void dl_fill_rect(dl_canvas *c, float x0, float y0, float x1, float y1, uint32_t color)
{
    int i0 = dl_clampi((int)ceilf(x0 * SS - 0.5f), 0, c->w), i1 = dl_clampi((int)ceilf(x1 * SS - 0.5f), 0, c->w);
    int j0 = dl_clampi((int)ceilf(y0 * SS - 0.5f), 0, c->h), j1 = dl_clampi((int)ceilf(y1 * SS - 0.5f), 0, c->h);
    unsigned char r = color >> 16 & 255, g = color >> 8 & 255, b = color & 255;
    for (int j = j0; j < j1; j++)
        for (int i = i0; i < i1; i++) {
            unsigned char *p = c->rgb + ((size_t)j * c->w + i) * 3;
            p[0] = r, p[1] = g, p[2] = b;
        }
}

/* The samples within hw of the segment a-b (a disc when a = b). */
static void dl_fill_capsule(dl_canvas *c, float ax, float ay, float bx, float by, float hw, uint32_t color)
{
    float dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    int i0 = dl_clampi((int)floorf((fminf(ax, bx) - hw) * SS), 0, c->w);
    int i1 = dl_clampi((int)ceilf((fmaxf(ax, bx) + hw) * SS), 0, c->w);
    int j0 = dl_clampi((int)floorf((fminf(ay, by) - hw) * SS), 0, c->h);
    int j1 = dl_clampi((int)ceilf((fmaxf(ay, by) + hw) * SS), 0, c->h);
    unsigned char r = color >> 16 & 255, g = color >> 8 & 255, b = color & 255;
    for (int j = j0; j < j1; j++) {
        float py = (j + 0.5f) / SS;
        for (int i = i0; i < i1; i++) {
            float px = (i + 0.5f) / SS;
            float t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            float ex = px - ax - t * dx, ey = py - ay - t * dy;
            if (ex * ex + ey * ey <= hw * hw) {
                unsigned char *p = c->rgb + ((size_t)j * c->w + i) * 3;
                p[0] = r, p[1] = g, p[2] = b;
            }
        }
    }
}

/* A polyline, dashed with equal on and off lengths carried across vertices.
 * The walk jumps to each dash boundary exactly rather than adding lengths:
 * with sums, s + (a remainder of 1e-7) == s in float, and a run of the
 * regression sample looped here forever. */
static void dl_draw_line(dl_canvas *c, const dl_prim *p)
{
    const double on = p->dash;
    const float hw = p->width / 2;
    double phase = 0;                     /* position in the current dash period, [0, 2 on) */
    for (int k = 0; k + 1 < p->npts; k++) {
        float ax = p->pts[2 * k], ay = p->pts[2 * k + 1], bx = p->pts[2 * k + 2], by = p->pts[2 * k + 3];
        if (!isfinite(ax) || !isfinite(ay) || !isfinite(bx) || !isfinite(by)) continue;
        if (on <= 0) { dl_fill_capsule(c, ax, ay, bx, by, hw, p->color); continue; }
        double len = hypot(bx - ax, by - ay), s = 0;
        while (s < len) {
            double boundary = phase < on ? on : 2 * on, e = fmin(len, s + (boundary - phase));
            if (phase < on)
                dl_fill_capsule(c, (float)(ax + s / len * (bx - ax)), (float)(ay + s / len * (by - ay)),
                                (float)(ax + e / len * (bx - ax)), (float)(ay + e / len * (by - ay)), hw, p->color);
            if (e < len) {
                phase = boundary < 2 * on ? boundary : 0;
            } else {
                phase += len - s;
                if (phase >= 2 * on) phase = 0;
            }
            s = e;
        }
    }
}

/* Bitmap glyphs, each font pixel a square of size/DL_FONT_CAP figure pixels;
 * the anchor is rounded to a whole pixel so integer-sized font pixels stay
 * sharp. Vertical text turns (u along the text, v down from the baseline)
 * into (x + v, y - u). */
static void dl_draw_text(dl_canvas *c, const dl_prim *p)
{
    float fp = p->size / DL_FONT_CAP, w = dl_text_width(p->text, p->size);
    float u0 = p->anchor == DL_ANCHOR_START ? 0 : p->anchor == DL_ANCHOR_MIDDLE ? -w / 2 : -w;
    float x = roundf(p->x), y = roundf(p->y);
    u0 = roundf(u0);
    for (int k = 0; p->text[k]; k++)
        for (int r = 0; r < DL_FONT_H; r++) {
            unsigned bits = dl_font_row((unsigned char)p->text[k], r);
            for (int col = 0; col < DL_FONT_W; col++) {
                if (!(bits >> (DL_FONT_W - 1 - col) & 1)) continue;
                float u = u0 + (k * DL_FONT_ADVANCE + col) * fp, v = (r - DL_FONT_CAP) * fp;
                if (p->vertical) dl_fill_rect(c, x + v, y - u - fp, x + v + fp, y - u, p->color);
                else dl_fill_rect(c, x + u, y + v, x + u + fp, y + v + fp, p->color);
            }
        }
}

int dl_fig_raster(const dl_figure *f, unsigned char *rgb)
{
    dl_canvas c = {.w = f->width * SS, .h = f->height * SS};
    c.rgb = malloc((size_t)c.w * (size_t)c.h * 3);
    if (!c.rgb) return -1;
    memset(c.rgb, 255, (size_t)c.w * (size_t)c.h * 3);
    for (int i = 0; i < f->n; i++) {
        const dl_prim *p = &f->prims[i];
        switch (p->kind) {
        case DL_PRIM_RECT: dl_fill_rect(&c, p->x, p->y, p->x + p->w, p->y + p->h, p->color); break;
        case DL_PRIM_LINE: dl_draw_line(&c, p); break;
        case DL_PRIM_DISC: dl_fill_capsule(&c, p->x, p->y, p->x, p->y, p->w, p->color); break;
        case DL_PRIM_TEXT: dl_draw_text(&c, p); break;
        }
    }
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++)
            for (int ch = 0; ch < 3; ch++) {
                unsigned sum = 0;
                for (int j = 0; j < SS; j++)
                    for (int i = 0; i < SS; i++) sum += c.rgb[(((size_t)y * SS + j) * c.w + (size_t)x * SS + i) * 3 + ch];
                rgb[((size_t)y * f->width + x) * 3 + ch] = (unsigned char)((sum + SS * SS / 2) / (SS * SS));
            }
    free(c.rgb);
    return 0;
}

int dl_fig_write_png(const dl_figure *f, FILE *out, const char *path)
{
    unsigned char *rgb = malloc((size_t)f->width * (size_t)f->height * 3);
    if (!rgb || dl_fig_raster(f, rgb)) {
        free(rgb);
        dl_set_error("%s: out of memory drawing a %dx%d picture", path, f->width, f->height);
        return -1;
    }
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)f->width;
    im.height = (png_uint_32)f->height;
    im.format = PNG_FORMAT_RGB;
    int ok = png_image_write_to_stdio(&im, out, 0, rgb, 0, NULL);
    if (!ok) dl_set_error("%s: cannot encode the PNG: %s", path, im.message);
    png_image_free(&im);
    free(rgb);
    return ok ? 0 : -1;
}
