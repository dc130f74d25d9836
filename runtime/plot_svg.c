/* plot_svg.c — a figure as SVG text: one element per primitive, in drawing
 * order (later ones on top, as in the PNG). Text uses the reader's sans-serif
 * font, sized so its capitals are as tall as the bitmap font's; coordinates
 * are printed to a tenth of a pixel, which keeps a curve of a few thousand
 * steps small. */
#include "plot_internal.h"

static void dl_svg_color(FILE *out, const char *attr, uint32_t c)
{
    fprintf(out, " %s=\"#%06x\"", attr, (unsigned)(c & 0xffffff));
}

/* XML needs &, < and > escaped in text; the font covers ASCII only. */
static void dl_svg_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", out);
        else if (*s == '<') fputs("&lt;", out);
        else if (*s == '>') fputs("&gt;", out);
        else if ((unsigned char)*s >= 32 && (unsigned char)*s < 127) fputc(*s, out);
        else fputc('?', out);
    }
}

void dl_fig_write_svg(const dl_figure *f, FILE *out)
{
    static const char *anchors[] = {"start", "middle", "end"};
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
            f->width, f->height, f->width, f->height);
    for (int i = 0; i < f->n; i++) {
        const dl_prim *p = &f->prims[i];
        switch (p->kind) {
        case DL_PRIM_RECT:
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", p->x, p->y, p->w, p->h);
            dl_svg_color(out, "fill", p->color);
            fputs("/>\n", out);
            break;
        case DL_PRIM_LINE:
            fputs("<polyline points=\"", out);
            for (int k = 0; k < p->npts; k++)
                fprintf(out, "%s%.1f,%.1f", k ? " " : "", p->pts[2 * k], p->pts[2 * k + 1]);
            fprintf(out, "\" fill=\"none\" stroke-width=\"%.2f\" stroke-linejoin=\"round\" stroke-linecap=\"round\"",
                    p->width);
            dl_svg_color(out, "stroke", p->color);
            if (p->dash > 0) fprintf(out, " stroke-dasharray=\"%.1f %.1f\"", p->dash, p->dash);
            fputs("/>\n", out);
            break;
        case DL_PRIM_DISC:
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"", p->x, p->y, p->w);
            dl_svg_color(out, "fill", p->color);
            fputs("/>\n", out);
            break;
        case DL_PRIM_TEXT:
            /* capitals are about 0.72 em in DejaVu Sans, Helvetica and Arial */
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
                    "font-size=\"%.1f\" text-anchor=\"%s\"", p->x, p->y, p->size / 0.72f, anchors[p->anchor]);
            dl_svg_color(out, "fill", p->color);
            if (p->vertical) fprintf(out, " transform=\"rotate(-90 %.1f %.1f)\"", p->x, p->y);
            fputc('>', out);
            dl_svg_text(out, p->text);
            fputs("</text>\n", out);
            break;
        }
    }
    fputs("</svg>\n", out);
}
