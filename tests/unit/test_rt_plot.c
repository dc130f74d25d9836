/* test_rt_plot.c — the pictures of a training run (runtime/plot*.c,
 * pictures.c, confusion.c, numtable.c): nice tick values; a known history's
 * points land on the pixels the axes say, in the display list and in the
 * decoded PNG; the PNG has the stated size and the SVG is well-formed XML;
 * the rasterizer fills exactly the pixels of an aligned rectangle; every
 * printable character has a glyph; the confusion matrix is counted, printed
 * and drawn; damaged CSVs are errors naming file:line, and write nothing. */
#include "dlnrt.h"
#include "files.h"
#include "pictures_internal.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int plot_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dlnrt_plot_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int plot_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* dir/name with the given contents; returns the path (static buffer per call site use). */
static const char *write_file(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

static int near_color(const unsigned char *px, int w, int x, int y, uint32_t c, int tol)
{
    const unsigned char *p = px + ((size_t)y * w + x) * 3;
    return abs(p[0] - (int)(c >> 16 & 255)) <= tol && abs(p[1] - (int)(c >> 8 & 255)) <= tol &&
           abs(p[2] - (int)(c & 255)) <= tol;
}

/* Well-formed enough for our writer's output: a prolog, then elements that
 * either close themselves or are closed by the same name, properly nested,
 * attribute values quoted, no stray '<' or '&' in text. */
static int svg_well_formed(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (strncmp(buf, "<?xml ", 6)) return 0;
    char *stack[64];
    int depth = 0, roots = 0;
    for (char *s = strstr(buf, "?>") + 2; *s; s++) {
        if (*s == '&') {
            if (strncmp(s, "&amp;", 5) && strncmp(s, "&lt;", 4) && strncmp(s, "&gt;", 4)) return 0;
            continue;
        }
        if (*s != '<') continue;
        char *end = s + 1;
        int quoted = 0;
        for (; *end && (quoted || *end != '>'); end++) {
            if (*end == '"') quoted = !quoted;
            if (*end == '<' && !quoted) return 0;
        }
        if (!*end) return 0;
        if (s[1] == '/') {
            size_t len = strcspn(s + 2, " >");
            if (depth == 0 || strcspn(stack[depth - 1], " />") != len || strncmp(stack[depth - 1], s + 2, len))
                return 0;
            depth--;
        } else if (end[-1] != '/') {
            if (depth == 64) return 0;
            if (depth == 0) roots++;
            stack[depth++] = s + 1;
        } else if (depth == 0) {
            roots++;
        }
        s = end;
    }
    return depth == 0 && roots == 1;
}

static void test_nice_ticks(void)
{
    dl_ticks t;
    /* the step is the 1, 2 or 5 x 10^k nearest to range / (target - 1) */
    dl_nice_ticks(0, 2.43, 6, &t);        /* 0.486 -> 0.5 */
    CU_ASSERT_DOUBLE_EQUAL(t.step, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(t.lo, 0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(t.hi, 2.5, 1e-12);
    CU_ASSERT_EQUAL(t.n, 6);
    CU_ASSERT_EQUAL(t.decimals, 1);
    dl_nice_ticks(85.21, 87.24, 6, &t);   /* accuracies in percent: 0.406 -> 0.5 */
    CU_ASSERT_DOUBLE_EQUAL(t.step, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(t.lo, 85, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(t.hi, 87.5, 1e-9);
    dl_nice_ticks(0, 100.2, 9, &t);       /* 12.5 -> 10: the axis ends at 110, not 200 */
    CU_ASSERT_DOUBLE_EQUAL(t.step, 10, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(t.hi, 110, 1e-9);
    dl_nice_ticks(0.2, 0.61, 6, &t);      /* 0.082 -> 0.1 */
    CU_ASSERT_DOUBLE_EQUAL(t.step, 0.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(t.lo, 0.2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(t.hi, 0.7, 1e-12);
    CU_ASSERT_EQUAL(t.n, 6);
    CU_ASSERT_EQUAL(t.decimals, 1);
    dl_nice_ticks(0.4, 1.0, 6, &t);       /* exactly on ticks: no extra tick beyond */
    CU_ASSERT_DOUBLE_EQUAL(t.step, 0.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(t.lo, 0.4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(t.hi, 1.0, 1e-12);
    CU_ASSERT_EQUAL(t.n, 7);
    dl_nice_ticks(3, 3, 6, &t);           /* a flat curve still gets a range */
    CU_ASSERT(t.lo < 3 && t.hi > 3 && t.n >= 2);
    dl_nice_ticks(NAN, 1, 6, &t);
    CU_ASSERT(isfinite(t.lo) && isfinite(t.hi) && t.hi > t.lo);
    dl_nice_ticks(0, 0.00123, 5, &t);
    CU_ASSERT_EQUAL(t.decimals, 4);
    dl_nice_ticks(-1e308, 1e308, 6, &t);  /* the range overflows double */
    CU_ASSERT(isfinite(t.lo) && isfinite(t.hi) && t.hi > t.lo && t.n == 2);
    dl_nice_ticks(1e300, 1.0000000000001e300, 6, &t);
    CU_ASSERT(isfinite(t.step) && t.step > 0 && t.n >= 2 && t.n <= 101);
}

static void test_font(void)
{
    CU_ASSERT_EQUAL(dl_font_row(' ', 3), 0u);
    for (int c = 33; c < 127; c++) {
        unsigned ink = 0;
        for (int r = 0; r < DL_FONT_H; r++) {
            CU_ASSERT(dl_font_row((unsigned char)c, r) < 32u);   /* 5 pixels wide */
            ink |= dl_font_row((unsigned char)c, r);
        }
        CU_ASSERT(ink != 0);
    }
    CU_ASSERT_EQUAL(dl_font_row(200, 0), dl_font_row('?', 0));
    CU_ASSERT_DOUBLE_EQUAL(dl_text_width("ab", 14), (2 * 6 - 1) * 2, 1e-6);
}

/* An aligned rectangle fills exactly its pixels; a one-pixel line on pixel
 * centres is one pixel wide and solid; text leaves ink. */
static void test_raster(void)
{
    dl_figure f;
    dl_fig_init(&f, 40, 30);
    dl_fig_rect(&f, 10, 5, 4, 3, 0xff0000);
    float line[4] = {2.5f, 20.5f, 30.5f, 20.5f};
    dl_fig_line(&f, line, 2, 1, 0, 0x0000ff);
    dl_fig_text(&f, 20, 29, 7, DL_ANCHOR_START, 0, 0x000000, "Hi");
    unsigned char rgb[40 * 30 * 3];
    CU_ASSERT_EQUAL_FATAL(dl_fig_raster(&f, rgb), 0);
    int red = 0;
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            int in = x >= 10 && x < 14 && y >= 5 && y < 8;
            int is_red = near_color(rgb, 40, x, y, 0xff0000, 0);
            red += is_red;
            if (in) CU_ASSERT(is_red);
        }
    CU_ASSERT_EQUAL(red, 12);
    CU_ASSERT(near_color(rgb, 40, 15, 20, 0x0000ff, 0));
    CU_ASSERT(near_color(rgb, 40, 15, 19, 0xffffff, 0));
    CU_ASSERT(near_color(rgb, 40, 15, 21, 0xffffff, 0));
    CU_ASSERT(near_color(rgb, 40, 20, 22, 0x000000, 0));   /* H's left stem: rows 22..28 */
    dl_fig_free(&f);
}

/* A flat curve at the top of its range would sit under the legend: the
 * axis is raised by whole steps until the top right corner is free. */
static void test_legend_headroom(void)
{
    double xs[3] = {0, 1, 2}, ys[3] = {1, 3, 3};
    dl_axes a = {.x = 100, .y = 50, .w = 600, .h = 200};
    dl_nice_ticks(0, 2, 5, &a.xt);
    dl_nice_ticks(1, 3, 5, &a.yt);
    double hi = a.yt.hi;
    dl_legend_entry e = {"a rather long legend label", 0x1f77b4, 2, 0, 0};
    dl_series s = {xs, ys, 3};
    int raised = dl_axes_headroom(&a, &e, 1, &s, 1);
    CU_ASSERT(raised >= 1 && raised <= 4);
    CU_ASSERT_DOUBLE_EQUAL(a.yt.hi, hi + raised * a.yt.step, 1e-9);
    CU_ASSERT(dl_axes_py(&a, 3) > a.y + 12 + 24);   /* below the one-row legend box */
    CU_ASSERT_EQUAL(dl_axes_headroom(&a, &e, 1, &s, 1), 0);
}

static const char *history_csv =
    "epoch,train_loss,val_loss,val_acc,seconds\n"
    "1,1.0,0.9,0.5,1.5\n"
    "2,0.8,nan,0.6,1.5\n"                   /* a missing evaluation: a gap, not a zero */
    "3,0.6,0.7,0.7,1.5\n"
    "4,0.4,0.5,0.8,1.5\n";

/* Epochs 1-4 on x (ticks 0..4 by 1) and losses 0.4-1.0 on y (ticks 0.4 to
 * 1.0 by 0.1): the loss panel's area is x 100..772, y 78..308, so epoch 2,
 * loss 0.8 is at (100 + 2/4 * 672, 308 - 0.4/0.6 * 230) = (436, 154.67). */
static void test_history_points(void)
{
    char path[256];
    write_file("points.csv", history_csv, path, sizeof path);
    dl_numtable h;
    CU_ASSERT_EQUAL_FATAL(dl_numtable_read(path, &h), 0);
    CU_ASSERT_EQUAL(h.nrows, 4);
    CU_ASSERT(isnan(dl_numtable_at(&h, 1, 2)));
    dl_figure f;
    dl_axes ax[2];
    CU_ASSERT_EQUAL_FATAL(dl_history_figure(path, &h, NULL, NULL, "points", &f, ax), 0);
    CU_ASSERT_EQUAL(f.width, DL_HISTORY_WIDTH);
    CU_ASSERT_EQUAL(f.height, DL_HISTORY_HEIGHT_2);
    CU_ASSERT_DOUBLE_EQUAL(ax[0].xt.lo, 0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ax[0].xt.hi, 4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ax[0].xt.step, 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ax[0].yt.lo, 0.4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ax[0].yt.hi, 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(dl_axes_px(&ax[0], 2), 436, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL(dl_axes_py(&ax[0], 0.8), 154.667, 1e-3);
    /* the training curve: one polyline in the training colour through the four points */
    const dl_prim *train = NULL;
    int eval_pieces = 0, eval_from_3 = 0;
    for (int i = 0; i < f.n; i++) {
        if (f.prims[i].kind != DL_PRIM_LINE || f.prims[i].width != 2) continue;
        if (f.prims[i].color == 0x1f77b4 && !train) train = &f.prims[i];
        if (f.prims[i].color == 0xe8710a && f.prims[i].pts[1] < 308.5f) {   /* the loss panel's */
            eval_pieces++;
            eval_from_3 += f.prims[i].npts == 2 && fabsf(f.prims[i].pts[0] - 604) < 1e-3f;
        }
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(train);
    CU_ASSERT_EQUAL(train->npts, 4);
    CU_ASSERT_DOUBLE_EQUAL(train->pts[2], 436, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL(train->pts[3], 154.667, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL(train->pts[6], 772, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL(train->pts[7], 308, 1e-3);
    /* val loss: epochs 3 -> 4 only (the gap at epoch 2 breaks it), and the legend's sample */
    CU_ASSERT_EQUAL(eval_pieces, 2);
    CU_ASSERT_EQUAL(eval_from_3, 1);
    /* the accuracy panel below, in percent */
    CU_ASSERT(ax[1].w > 0 && ax[1].y > ax[0].y + ax[0].h);
    CU_ASSERT(ax[1].yt.lo <= 50 && ax[1].yt.hi >= 80);

    /* in the picture: the marker at (436, 154.67) has the training colour */
    char png[256];
    snprintf(png, sizeof png, "%s/points.png", dir);
    CU_ASSERT_EQUAL_FATAL(dl_fig_save(&f, png), 0);
    int w = 0, hgt = 0;
    unsigned char *px = test_read_png(png, PNG_FORMAT_RGB, &w, &hgt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(px);
    CU_ASSERT_EQUAL(w, DL_HISTORY_WIDTH);
    CU_ASSERT_EQUAL(hgt, DL_HISTORY_HEIGHT_2);
    CU_ASSERT(near_color(px, w, 436, 154, 0x1f77b4, 8));
    int y_acc = (int)dl_axes_py(&ax[1], 70), x3 = (int)dl_axes_px(&ax[1], 3);
    CU_ASSERT(near_color(px, w, x3, y_acc, 0xe8710a, 8));   /* epoch 3, 70% */
    CU_ASSERT(near_color(px, w, 5, 5, 0xffffff, 0));
    free(px);
    dl_fig_free(&f);
    dl_numtable_free(&h);
}

/* The history of a run of samples/regression.dln: drawing its dashed
 * validation curve looped forever when the dash walk added lengths in float
 * (a remainder of 1e-7 added to 20 pixels changed nothing). alarm() turns a
 * relapse into a failure instead of a hang. */
static const char *regression_csv =
    "epoch,train_loss,val_loss,val_acc,seconds\n"
    "1,0.103725,0.0836317,nan,0.001\n"
    "2,0.0827218,0.0795219,nan,0.001\n"
    "3,0.0786649,0.0758449,nan,0.001\n"
    "4,0.072097,0.065853,nan,0.001\n"
    "5,0.0537873,0.0388552,nan,0.003\n"
    "6,0.0250984,0.0140993,nan,0.001\n"
    "7,0.0105463,0.00812467,nan,0.001\n"
    "8,0.00801227,0.00751399,nan,0.001\n"
    "9,0.00726265,0.0069851,nan,0.001\n"
    "10,0.00656179,0.00671555,nan,0.005\n"
    "11,0.00600644,0.0054753,nan,0.001\n"
    "12,0.00556047,0.00499506,nan,0.001\n"
    "13,0.0049306,0.00462046,nan,0.001\n"
    "14,0.00462209,0.00422338,nan,0.001\n"
    "15,0.00439153,0.00427214,nan,0.001\n"
    "16,0.00414242,0.00389639,nan,0.001\n"
    "17,0.00415229,0.00374348,nan,0.001\n"
    "18,0.00377092,0.0037697,nan,0.001\n"
    "19,0.00356433,0.00331346,nan,0.001\n"
    "20,0.0034476,0.00331261,nan,0.001\n"
    "21,0.00328649,0.00310003,nan,0.001\n"
    "22,0.00324477,0.00310656,nan,0.001\n"
    "23,0.00311982,0.00315285,nan,0.001\n"
    "24,0.00315124,0.00292928,nan,0.001\n"
    "25,0.00304677,0.00296357,nan,0.001\n"
    "26,0.00297107,0.00280035,nan,0.001\n"
    "27,0.00297922,0.00291588,nan,0.001\n"
    "28,0.00292347,0.00281961,nan,0.001\n"
    "29,0.00288852,0.00293894,nan,0.001\n"
    "30,0.00287215,0.00268524,nan,0.001\n"
;

static void test_dash_walk_ends(void)
{
    char path[256], png[256];
    write_file("regression.csv", regression_csv, path, sizeof path);
    snprintf(png, sizeof png, "%s/regression.png", dir);
    alarm(60);
    CU_ASSERT_EQUAL(dl_plot_csv(path, png), 0);
    alarm(0);
    int w = 0, h = 0;
    unsigned char *px = test_read_png(png, PNG_FORMAT_RGB, &w, &h);
    CU_ASSERT_PTR_NOT_NULL(px);
    CU_ASSERT_EQUAL(h, DL_HISTORY_HEIGHT_1);
    free(px);
}

/* A diverging run's losses (1e33) label their axis in exponent form, and
 * the y label stays inside the picture. */
static void test_huge_values(void)
{
    char path[256];
    write_file("huge.csv", "epoch,train_loss,val_loss,val_acc,seconds\n1,1.2e33,inf,nan,0.1\n", path, sizeof path);
    dl_numtable h;
    CU_ASSERT_EQUAL_FATAL(dl_numtable_read(path, &h), 0);
    dl_figure f;
    CU_ASSERT_EQUAL_FATAL(dl_history_figure(path, &h, NULL, NULL, "huge", &f, NULL), 0);
    CU_ASSERT_EQUAL(f.height, DL_HISTORY_HEIGHT_1);   /* no accuracy measured: one panel */
    int exp_labels = 0, ylabel_inside = 0;
    for (int i = 0; i < f.n; i++) {
        const dl_prim *p = &f.prims[i];
        if (p->kind != DL_PRIM_TEXT) continue;
        exp_labels += strstr(p->text, "e+33") != NULL;
        if (!strcmp(p->text, "loss") && p->vertical) ylabel_inside = p->x - p->size >= 0;
    }
    CU_ASSERT(exp_labels >= 2);
    CU_ASSERT(ylabel_inside);
    dl_fig_free(&f);
    dl_numtable_free(&h);
}

/* dl_plot_csv with and without -o, the per-step file beside the history,
 * PNG size and SVG well-formedness. */
static void test_plot_csv_files(void)
{
    char path[256], steps[256], out[256];
    write_file("run.csv", history_csv, path, sizeof path);
    FILE *s = fopen(write_file("run.steps.csv", "step,epoch,train_loss\n", steps, sizeof steps), "a");
    for (int i = 1; i <= 40; i++) fprintf(s, "%d,%g,%g\n", i, i / 10.0, 2.0 / (1 + i / 10.0));
    fclose(s);
    CU_ASSERT_EQUAL_FATAL(dl_plot_csv(path, NULL), 0);
    snprintf(out, sizeof out, "%s/run.png", dir);
    int w = 0, h = 0;
    unsigned char *px = test_read_png(out, PNG_FORMAT_RGB, &w, &h);
    CU_ASSERT_PTR_NOT_NULL(px);
    CU_ASSERT_EQUAL(w, 800);
    CU_ASSERT_EQUAL(h, 712);
    free(px);
    snprintf(out, sizeof out, "%s/run.svg", dir);
    CU_ASSERT(svg_well_formed(out));
    snprintf(out, sizeof out, "%s/other.svg", dir);
    CU_ASSERT_EQUAL(dl_plot_csv(path, out), 0);
    CU_ASSERT(svg_well_formed(out));
    /* the per-step losses are in it: a polyline of 40 points or so (clipped at the top) */
    FILE *f = fopen(out, "r");
    char line[8192];
    int long_lines = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "#a6cbe6") && strstr(line, "<polyline")) long_lines++;
    fclose(f);
    CU_ASSERT(long_lines >= 2);            /* the curve and its legend sample */
    snprintf(out, sizeof out, "%s/other.jpg", dir);
    CU_ASSERT_EQUAL(dl_plot_csv(path, out), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "other.jpg: a picture is written as .png or .svg"));
    CU_ASSERT_EQUAL(access(out, F_OK), -1);
}

/* Damaged files: the message names file:line and what is wrong; no picture. */
static void expect_plot_error(const char *name, const char *text, const char *message)
{
    char path[256], want[512], png[256];
    write_file(name, text, path, sizeof path);
    CU_ASSERT_EQUAL(dl_plot_csv(path, NULL), -1);
    snprintf(want, sizeof want, "%s/%s", dir, message);
    if (strcmp(dl_last_error(), want)) printf("\n  got:  %s\n  want: %s\n", dl_last_error(), want);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), want);
    char *p = dl_sibling_path(path, ".png");
    snprintf(png, sizeof png, "%s", p);
    free(p);
    CU_ASSERT_EQUAL(access(png, F_OK), -1);
}

static void test_damaged_csv(void)
{
    const char *head = "epoch,train_loss,val_loss,val_acc,seconds\n";
    char text[512];
    snprintf(text, sizeof text, "%s1,1.0,0.9,0.5,1.5\n2,0.8,abc,0.6,1.5\n", head);
    expect_plot_error("d1.csv", text, "d1.csv:3: column 3 (val_loss): 'abc' is not a number");
    snprintf(text, sizeof text, "%s1,1.0,0.9,0.5,1.5\n2,0.8,0.7,0.6\n", head);
    expect_plot_error("d2.csv", text, "d2.csv:3: 4 fields, but the header names 5 columns");
    snprintf(text, sizeof text, "%s1,1.0,0.9,0.5,1.5\n\n1,0.8,0.7,0.6,1.5\n", head);
    expect_plot_error("d3.csv", text, "d3.csv:4: epoch 1 follows epoch 1; the epochs must increase");
    expect_plot_error("d4.csv", "", "d4.csv:1: the file is empty; expected a header line of column names");
    expect_plot_error("d5.csv", head, "d5.csv: the history has no epochs yet");
    expect_plot_error("d6.csv", "a,b\n1,2\n",
                      "d6.csv:1: neither a training history (epoch,train_loss,...) nor a confusion matrix "
                      "(true_class,pred_0,...)");
    expect_plot_error("d7.csv", "epoch,loss\n1,2\n",
                      "d7.csv:1: not a training history: no 'train_loss' column (the header is 'epoch,loss')");
    snprintf(text, sizeof text, "%s1,1.0,0.9,0.5,", head);   /* a run killed mid-line */
    expect_plot_error("d8.csv", text, "d8.csv:2: column 5 (seconds): '' is not a number");
    expect_plot_error("d9.csv", "true_class,pred_0,pred_1\n0,5,1\n1,2,x\n",
                      "d9.csv:3: column 3 (pred_1): 'x' is not a number");
    expect_plot_error("d10.csv", "true_class,pred_0,pred_1\n0,5,1\n",
                      "d10.csv: 1 rows for 2 classes; a confusion matrix is square");
    expect_plot_error("d11.csv", "true_class,pred_0,pred_1\n0,5,1\n1,2,-3\n",
                      "d11.csv:3: column 3: a count is a whole number >= 0");
    /* a binary file or a terminal escape in a header or field: shown as \xNN, never raw */
    expect_plot_error("d20.csv", "epoch,train_loss,val\x1b[2J\n1,0.5,\x80\x01z\n",
                      "d20.csv:2: column 3 (val\\x1b[2J): '\\x80\\x01z' is not a number");
    expect_plot_error("d21.csv", "epoch,lo\xffss\n1,2\n",
                      "d21.csv:1: not a training history: no 'train_loss' column (the header is 'epoch,lo\\xffss')");
    /* the per-step file beside a good history is checked too */
    char path[256];
    write_file("d12.steps.csv", "step,epoch,train_loss\n1,0.1,2.0\n2,0.2\n", path, sizeof path);
    snprintf(text, sizeof text, "%s1,1.0,0.9,0.5,1.5\n", head);
    expect_plot_error("d12.csv", text, "d12.steps.csv:3: 2 fields, but the header names 3 columns");
    write_file("d13.steps.csv", "step,epoch,train_loss\n1,0.1,2.0\n", path, sizeof path);
    CU_ASSERT_EQUAL(dl_plot_csv(path, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "d13.steps.csv: this is a run's per-step losses; plot its history ("));
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "/d13.csv), which draws them too"));
}

static void test_nul_and_missing(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/nul.csv", dir);
    FILE *f = fopen(path, "wb");
    fwrite("epoch,train_loss\n1,\0002\n", 1, 23, f);
    fclose(f);
    CU_ASSERT_EQUAL(dl_plot_csv(path, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "nul.csv:2: a NUL byte"));
    snprintf(path, sizeof path, "%s/none.csv", dir);
    CU_ASSERT_EQUAL(dl_plot_csv(path, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "none.csv: cannot open: No such file"));
}

static void test_confusion(void)
{
    /* rows: logits of 3 classes; argmax 1, 0, 2, 2, and a NaN row (argmax skips NaN) */
    float logits[] = {0, 5, 1, 3, 2, 1, 0, 0, 9, 1, 1, 2, NAN, 0, 1};
    int32_t labels[] = {1, 0, 1, 2, 2};
    int64_t counts[9] = {0};
    dl_count_confusion(logits, labels, 5, 3, counts);
    int64_t want[9] = {1, 0, 0, 0, 1, 1, 0, 0, 2};
    for (int i = 0; i < 9; i++) CU_ASSERT_EQUAL(counts[i], want[i]);
    int32_t bad[] = {7, -1, 0, 0, 0};
    int64_t c2[9] = {0};
    dl_count_confusion(logits, bad, 2, 3, c2);   /* labels out of range are not counted */
    for (int i = 0; i < 9; i++) CU_ASSERT_EQUAL(c2[i], 0);

    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    dl_confusion_print(m, counts, 3, "val");
    fclose(m);
    CU_ASSERT_STRING_EQUAL(text, "confusion matrix (val; rows: true class, columns: predicted class):\n"
                                 "           0     1     2   recall\n"
                                 "     0     1     0     0   100.0%\n"
                                 "     1     0     1     1    50.0%\n"
                                 "     2     0     0     2   100.0%\n");
    free(text);

    char csv[256], png[256], svg[256];
    snprintf(csv, sizeof csv, "%s/m.confusion.csv", dir);
    CU_ASSERT_EQUAL_FATAL(dl_confusion_write_csv(csv, counts, 3), 0);
    CU_ASSERT_EQUAL_FATAL(dl_plot_csv(csv, NULL), 0);
    snprintf(png, sizeof png, "%s/m.confusion.png", dir);
    snprintf(svg, sizeof svg, "%s/m.confusion.svg", dir);
    CU_ASSERT(svg_well_formed(svg));
    int w = 0, h = 0;
    unsigned char *px = test_read_png(png, PNG_FORMAT_RGB, &w, &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(px);
    /* 3 classes: cells of 94 pixels (the matrix is at least 280), from (100, 90) */
    CU_ASSERT_EQUAL(h, 90 + 3 * 94 + 84);
    CU_ASSERT(near_color(px, w, 100 + 3, 90 + 3, 0x08306b, 2));            /* (0,0): all of class 0 */
    CU_ASSERT(near_color(px, w, 100 + 94 + 3, 90 + 94 + 3, 0x6baed6, 2));  /* (1,1): half of class 1 */
    CU_ASSERT(near_color(px, w, 100 + 3, 90 + 94 + 3, 0xf7fbff, 2));       /* (1,0): none */
    free(px);
    /* the figure says what it shows */
    dl_numtable t;
    CU_ASSERT_EQUAL_FATAL(dl_numtable_read(csv, &t), 0);
    dl_figure f;
    CU_ASSERT_EQUAL_FATAL(dl_confusion_figure(csv, &t, "m: confusion matrix", &f), 0);
    int found = 0;
    for (int i = 0; i < f.n; i++)
        found += f.prims[i].kind == DL_PRIM_TEXT && !strcmp(f.prims[i].text, "5 samples, accuracy 80.00%");
    CU_ASSERT_EQUAL(found, 1);
    dl_fig_free(&f);
    dl_numtable_free(&t);
}

static void test_sibling_path(void)
{
    char *p = dl_sibling_path("runs/mlp.csv", ".steps.csv");
    CU_ASSERT_STRING_EQUAL(p, "runs/mlp.steps.csv");
    free(p);
    p = dl_sibling_path("history", ".png");
    CU_ASSERT_STRING_EQUAL(p, "history.png");
    free(p);
}

void suite_rt_plot(void)
{
    CU_pSuite s = CU_add_suite("rt_plot", plot_setup, plot_teardown);
    CU_add_test(s, "nice tick values", test_nice_ticks);
    CU_add_test(s, "bitmap font covers printable ASCII", test_font);
    CU_add_test(s, "rasterizer: exact rectangles, crisp lines, text", test_raster);
    CU_add_test(s, "room for the legend above the curves", test_legend_headroom);
    CU_add_test(s, "history points land on their pixels", test_history_points);
    CU_add_test(s, "huge values: exponent tick labels", test_huge_values);
    CU_add_test(s, "dashed curves: the walk ends (hung before)", test_dash_walk_ends);
    CU_add_test(s, "dl_plot_csv: PNG size, well-formed SVG, per-step file", test_plot_csv_files);
    CU_add_test(s, "damaged CSVs: file:line errors, no picture", test_damaged_csv);
    CU_add_test(s, "NUL bytes and missing files", test_nul_and_missing);
    CU_add_test(s, "confusion matrix: counts, table, heat map", test_confusion);
    CU_add_test(s, "sibling paths", test_sibling_path);
}
