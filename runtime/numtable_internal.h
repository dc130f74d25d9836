/* numtable_internal.h — small CSV tables of numbers with a header line, as
 * the training driver writes them (the history, the per-step losses, the
 * confusion matrix) and `dlnc plot` reads them back (runtime only). */
#ifndef DLNRT_NUMTABLE_INTERNAL_H
#define DLNRT_NUMTABLE_INTERNAL_H

typedef struct dl_numtable {
    char **names;                         /* the header's column names */
    int ncols;
    int nrows;
    double *v;                            /* nrows x ncols, row-major; NaN where the file says nan */
    int *line;                            /* the file line of each row, for messages */
} dl_numtable;

/* Reads path: a header of column names, then rows of as many numbers
 * (strtod's syntax, so "nan" and "inf" too). Blank lines are skipped, a
 * byte-order mark and CR line ends are accepted, there is no quoting. A
 * missing header, a row with another field count or a field that is not a
 * number is an error "path:line: ...". */
int dl_numtable_read(const char *path, dl_numtable *t);
void dl_numtable_free(dl_numtable *t);
/* The index of the column called name, or -1. */
int dl_numtable_col(const dl_numtable *t, const char *name);
static inline double dl_numtable_at(const dl_numtable *t, int row, int col)
{
    return t->v[(long)row * t->ncols + col];
}

#endif
