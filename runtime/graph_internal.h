/* graph_internal.h — what the graph readers (graph_read.c, graphset_read.c)
 * share (runtime only). */
#ifndef DLNRT_GRAPH_INTERNAL_H
#define DLNRT_GRAPH_INTERNAL_H
#include <stdint.h>

/* Labels are class indices of an output layer: a bound keeps a typo (1e9)
 * from being a billion-class classifier. */
enum { DL_GRAPH_MAX_CLASSES = 1000000 };

/* v as an int in [lo, hi), else an error at path:line naming what. */
int dl_graph_int_in(double v, double lo, double hi, const char *path, int line, const char *what, int64_t *out);

/* v as a float, else an error "path:line: <what> '<name>' of <whose> <index> must
 * be a finite float, got v" (a node's or an edge's feature column). */
int dl_graph_float(double v, const char *path, int line, const char *what, const char *name, const char *whose,
                   int64_t index, float *out);

/* key: M triples (smaller node, larger node, file line), one per undirected
 * edge; sorted in place. -1 with "path:line: the edge a-b again (first on
 * line l)" at the first edge given twice. */
int dl_graph_edge_repeats(const char *path, int64_t *key, int64_t M);

#endif
