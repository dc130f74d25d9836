/* data_csv.c — numeric CSV files: one sample per line, one column of which
 * is the label (a class index, or a float target for regression).
 *
 * Deliberately plain: fields are separated by one delimiter character,
 * surrounding spaces are ignored, there is no quoting (a numeric table has no
 * use for it), blank lines are skipped, and a UTF-8 byte-order mark at the
 * start of the file is dropped (spreadsheets write one). The first line is a
 * header when asked, or — with header = -1 — when any of its fields is not
 * number text. Number text is whatever strtod reads completely, so "nan" and
 * "inf" count: a first row holding NaN is data, and then an error, not a
 * header silently dropped. Every problem is reported as file:line: column N
 * (the field's 1-based index): a field that is not a number, one that is not
 * finite, one beyond float range (|x| > 3.4e38, which would become inf: the
 * check is on the float, after conversion; values that underflow to 0 or a
 * subnormal are accepted), a row with a different number of fields than the
 * first, a class label that is not a non-negative integer.
 *
 * Named columns (opt->columns, csv(columns = [...])): each is looked up in
 * the header and stays a feature; the batch gets it again as a field of its
 * own (step.c), f32 or — when an i32[N] input reads it — i32, whose values
 * are checked to be integers here, where the line is known. */
#include "dlnrt.h"
#include "file_open_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits line in place into fields; returns the count (at most cap). */
static int dl_csv_split(char *line, char delim, char **fields, int cap, int *overflow)
{
    int n = 0;
    *overflow = 0;
    char *s = line;
    for (;;) {
        char *end = strchr(s, delim);
        if (end) *end = '\0';
        while (*s == ' ' || *s == '\t') s++;
        size_t len = strlen(s);
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n')) s[--len] = '\0';
        if (n < cap) fields[n] = s;
        else *overflow = 1;
        n++;
        if (!end) break;
        s = end + 1;
    }
    return n;
}

typedef enum dl_csv_value { DL_CSV_OK, DL_CSV_NOT_NUMBER, DL_CSV_NOT_FINITE, DL_CSV_BEYOND_FLOAT } dl_csv_value;

/* Reads field s as a number: *out, and whether it is a usable float. */
static dl_csv_value dl_csv_number(const char *s, double *out)
{
    char *end;
    if (!*s) return DL_CSV_NOT_NUMBER;
    double v = strtod(s, &end);
    if (*end) return DL_CSV_NOT_NUMBER;
    *out = v;
    if (!isfinite(v)) return DL_CSV_NOT_FINITE;
    if (isinf((float)v)) return DL_CSV_BEYOND_FLOAT;
    return DL_CSV_OK;
}

/* Finds the named columns in the header fields: their file columns in
 * file_col, their places in a row of x in out. */
static int dl_csv_columns(const char *path, const dl_csv_options *opt, char **fields, int n, int header, int label,
                          int wcol, int *file_col, dl_dataset *out)
{
    if (!header) {
        dl_set_error("%s:1: csv(columns = [...]) finds the columns by name, but the first line is not a header", path);
        return -1;
    }
    for (int k = 0; k < opt->n_columns; k++) {
        int j = 0;
        while (j < n && strcmp(fields[j], opt->columns[k]) != 0) j++;
        if (j == n) {
            char have[256] = "";
            for (int i = 0; i < n && strlen(have) < 200; i++)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", i ? ", " : "", fields[i]);
            dl_set_error("%s:1: no column '%s' in the header (it has: %s%s)", path, opt->columns[k], have,
                         strlen(have) >= 200 ? ", ..." : "");
            return -1;
        }
        if (j == label || j == wcol) {
            dl_set_error("%s:1: column '%s' is the %s column, not a feature", path, opt->columns[k],
                         j == label ? "label" : "weight");
            return -1;
        }
        file_col[k] = j;
        out->column_name[k] = opt->columns[k];
        out->column_x[k] = j - (label < j) - (wcol >= 0 && wcol < j);
        out->column_i32[k] = opt->column_i32[k];
    }
    out->n_columns = opt->n_columns;
    return 0;
}

/* Appends to a growable array of T; capacity doubles. */
static int dl_grow(void **p, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap) return 0;
    int64_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

int dl_load_csv(const char *path, const dl_csv_options *opt, dl_dataset *out)
{
    memset(out, 0, sizeof *out);
    const char delim = opt->delimiter ? opt->delimiter : ',';
    FILE *f = dl_fopen_regular(path, NULL);
    if (!f) return -1;
    enum { MAX_FIELDS = 1 << 16 };
    char **fields = malloc(MAX_FIELDS * sizeof *fields);
    char *line = NULL;
    size_t line_cap = 0;
    int64_t lineno = 0, x_cap = 0, y_cap = 0, w_cap = 0;
    int ncols = -1, label = 0, wcol = -1, rc = -1, first = 1, max_class = -1, file_col[DL_CSV_MAX_COLUMNS];
    if (!fields) { dl_set_error("%s: out of memory", path); goto done; }
    while (getline(&line, &line_cap, f) != -1) {
        lineno++;
        int overflow;
        char *text = line;
        if (lineno == 1 && strncmp(text, "\xef\xbb\xbf", 3) == 0) text += 3;   /* UTF-8 byte-order mark */
        int n = dl_csv_split(text, delim, fields, MAX_FIELDS, &overflow);
        if (n == 1 && fields[0][0] == '\0') continue;  /* blank line */
        if (overflow) { dl_set_error("%s:%lld: more than %d fields", path, (long long)lineno, MAX_FIELDS); goto done; }
        if (first) {
            first = 0;
            int header = opt->header;
            if (header < 0) {
                double v;
                header = 0;
                for (int i = 0; i < n && !header; i++) header = dl_csv_number(fields[i], &v) == DL_CSV_NOT_NUMBER;
            }
            ncols = n;
            if (ncols < 2) { dl_set_error("%s:%lld: need at least 2 columns (features and a label)", path, (long long)lineno); goto done; }
            label = opt->label_col < 0 ? ncols + opt->label_col : opt->label_col;
            if (label < 0 || label >= ncols) {
                dl_set_error("%s: label column %d is out of range for %d columns", path, opt->label_col, ncols);
                goto done;
            }
            if (opt->has_weight) {
                wcol = opt->weight_col < 0 ? ncols + opt->weight_col : opt->weight_col;
                if (wcol < 0 || wcol >= ncols || wcol == label || ncols < 3) {
                    dl_set_error("%s: weight column %d is %s for %d columns", path, opt->weight_col,
                                 wcol == label ? "the label column" : "out of range (or leaves no feature)", ncols);
                    goto done;
                }
            }
            if (opt->n_columns > 0 && dl_csv_columns(path, opt, fields, n, header, label, wcol, file_col, out)) goto done;
            if (header) continue;
        }
        if (n != ncols) {
            dl_set_error("%s:%lld: expected %d fields, got %d", path, (long long)lineno, ncols, n);
            goto done;
        }
        const int nx = ncols - 1 - (wcol >= 0);   /* features per row */
        if ((wcol >= 0 && dl_grow((void **)&out->weight, &w_cap, out->n + 1, sizeof(float))) ||
            dl_grow((void **)&out->x, &x_cap, (out->n + 1) * nx, sizeof(float)) ||
            dl_grow(opt->classify ? (void **)&out->y_class : (void **)&out->y_dense, &y_cap, out->n + 1,
                    opt->classify ? sizeof(int32_t) : sizeof(float))) {
            dl_set_error("%s: out of memory at line %lld", path, (long long)lineno);
            goto done;
        }
        float *x = out->x + out->n * nx;
        for (int i = 0; i < ncols; i++) {
            double v;
            dl_csv_value kind = dl_csv_number(fields[i], &v);
            if (kind != DL_CSV_OK) {
                dl_set_error("%s:%lld: column %d: '%s' is %s", path, (long long)lineno, i + 1, fields[i],
                             kind == DL_CSV_NOT_NUMBER   ? "not a number"
                             : kind == DL_CSV_NOT_FINITE ? "not a finite number"
                                                         : "beyond float range (+-3.4e38)");
                goto done;
            }
            if (i == wcol) {
                /* an importance weight: a sample's share of the loss, never negative */
                if (v < 0) {
                    dl_set_error("%s:%lld: column %d: weight '%s' is negative", path, (long long)lineno, i + 1, fields[i]);
                    goto done;
                }
                out->weight[out->n] = (float)v;
                continue;
            }
            if (i != label) { *x++ = (float)v; continue; }
            if (!opt->classify) { out->y_dense[out->n] = (float)v; continue; }
            if (v < 0 || v != floor(v) || v > 1e6) {
                dl_set_error("%s:%lld: column %d: class label '%s' is not a non-negative integer", path,
                             (long long)lineno, i + 1, fields[i]);
                goto done;
            }
            out->y_class[out->n] = (int32_t)v;
            if ((int)v > max_class) max_class = (int)v;
        }
        for (int k = 0; k < out->n_columns; k++) {
            double v = 0;
            dl_csv_number(fields[file_col[k]], &v);
            if (out->column_i32[k] && (v != floor(v) || fabs(v) > 16777216.0)) { /* exact in the float row too */
                dl_set_error("%s:%lld: column %d ('%s'): '%s' is not an integer in [-2^24, 2^24], and an i32[N] "
                             "input reads it", path,
                             (long long)lineno, file_col[k] + 1, out->column_name[k], fields[file_col[k]]);
                goto done;
            }
        }
        out->n++;
    }
    if (ferror(f)) { dl_set_error("%s: read error: %s", path, strerror(errno)); goto done; }
    if (out->n == 0) { dl_set_error("%s: no data rows", path); goto done; }
    out->x_numel = ncols - 1 - (wcol >= 0);
    out->x_rank = 1;
    out->x_shape[0] = out->x_numel;
    out->label_kind = opt->classify ? DL_LABEL_CLASS : DL_LABEL_DENSE;
    out->y_numel = 1;
    out->num_classes = opt->classify ? max_class + 1 : 0;
    rc = 0;
done:
    free(line);
    free(fields);
    fclose(f);
    if (rc) dl_dataset_free(out);
    return rc;
}
