/* plot_fig.c — the display list of a figure, and saving it by file type.
 * See plot_internal.h. An allocation failure while building a figure only
 * sets a flag, so drawing code stays a plain sequence of calls; the save
 * reports it. */
#include "plot_internal.h"
#include "atomic_file_internal.h"
#include "dlnrt.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void dl_fig_init(dl_figure *f, int width, int height)
{
    memset(f, 0, sizeof *f);
    f->width = width;
    f->height = height;
}

void dl_fig_free(dl_figure *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->prims[i].pts);
        free(f->prims[i].text);
    }
    free(f->prims);
    f->prims = NULL;
    f->n = f->cap = 0;
}

static dl_prim *dl_fig_push(dl_figure *f, dl_prim_kind kind, uint32_t color)
{
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 64;
        dl_prim *p = realloc(f->prims, (size_t)cap * sizeof *p);
        if (!p) { f->oom = 1; return NULL; }
        f->prims = p;
        f->cap = cap;
    }
    dl_prim *p = &f->prims[f->n++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->color = color;
    return p;
}

void dl_fig_rect(dl_figure *f, float x, float y, float w, float h, uint32_t color)
{
    dl_prim *p = dl_fig_push(f, DL_PRIM_RECT, color);
    if (p) p->x = x, p->y = y, p->w = w, p->h = h;
}

void dl_fig_line(dl_figure *f, const float *pts, int n, float width, float dash, uint32_t color)
{
    if (n < 2) return;
    float *copy = malloc((size_t)n * 2 * sizeof *copy);
    dl_prim *p = copy ? dl_fig_push(f, DL_PRIM_LINE, color) : NULL;
    if (!p) { free(copy); f->oom = 1; return; }
    memcpy(copy, pts, (size_t)n * 2 * sizeof *copy);
    p->pts = copy;
    p->npts = n;
    p->width = width;
    p->dash = dash;
}

void dl_fig_disc(dl_figure *f, float cx, float cy, float r, uint32_t color)
{
    dl_prim *p = dl_fig_push(f, DL_PRIM_DISC, color);
    if (p) p->x = cx, p->y = cy, p->w = r;
}

void dl_fig_text(dl_figure *f, float x, float y, float size, dl_anchor anchor, int vertical, uint32_t color,
                 const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *copy = strdup(buf);
    dl_prim *p = copy ? dl_fig_push(f, DL_PRIM_TEXT, color) : NULL;
    if (!p) { free(copy); f->oom = 1; return; }
    p->x = x;
    p->y = y;
    p->size = size;
    p->anchor = anchor;
    p->vertical = vertical;
    p->text = copy;
}

static int dl_has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), k = strlen(ext);
    return n > k && strcasecmp(path + n - k, ext) == 0;
}

int dl_fig_save(const dl_figure *f, const char *path)
{
    int png = dl_has_ext(path, ".png"), svg = dl_has_ext(path, ".svg");
    if (!png && !svg) {
        dl_set_error("%s: a picture is written as .png or .svg; the name says neither", path);
        return -1;
    }
    if (f->oom) {
        dl_set_error("%s: out of memory building the picture", path);
        return -1;
    }
    dl_atomic_file a;
    if (dl_atomic_create(&a, path)) return -1;
    if (svg) {
        dl_fig_write_svg(f, a.f);
    } else if (dl_fig_write_png(f, a.f, path)) {
        dl_atomic_abort(&a);
        return -1;
    }
    return dl_atomic_commit(&a);
}
