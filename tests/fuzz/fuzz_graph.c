/* fuzz_graph.c — libFuzzer harness: the bytes are a graph directory, the
 * part before the first 0x00 byte its nodes.csv and the rest its edges.csv
 * (docs/language.md, "Graphs"). A loaded graph is checked for what the
 * source promises the model: ids in range, no self-loop, each edge both
 * ways, labels below the class count, finite features, and finite edge
 * features alike in both directions of an edge. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *cut = memchr(data, 0, size);
    const size_t nodes = cut ? (size_t)(cut - data) : size;
    scratch_write("g/nodes.csv", data, nodes);
    const char *edges = scratch_write("g/edges.csv", cut ? cut + 1 : data + size, cut ? size - nodes - 1 : 0);
    (void)edges;
    dl_graph g;
    if (dl_graph_load(scratch_path("g"), &g) != 0) return 0;
    if (g.nodes < 1 || g.features < 1 || g.edges < 2 || g.edges % 2 || g.count[DL_SPLIT_TRAIN] < 1) abort();
    for (int64_t e = 0; e < g.edges; e++) {
        if (g.src[e] < 0 || g.src[e] >= g.nodes || g.dst[e] < 0 || g.dst[e] >= g.nodes || g.src[e] == g.dst[e]) abort();
        if (e % 2 && (g.src[e] != g.dst[e - 1] || g.dst[e] != g.src[e - 1])) abort();
    }
    for (int64_t v = 0; v < g.nodes; v++) {
        if (g.label[v] < 0 || g.label[v] >= g.classes || g.split[v] > DL_SPLIT_TEST) abort();
        for (int64_t f = 0; f < g.features; f++)
            if (!isfinite(g.x[v * g.features + f])) abort();
    }
    /* edge features (edges.csv's columns after source,target): finite, both directions alike */
    if (g.edge_features < 0 || (g.edge_features > 0) != (g.edge_attr != NULL)) abort();
    for (int64_t e = 0; e < g.edges; e++)
        for (int64_t f = 0; f < g.edge_features; f++) {
            const float a = g.edge_attr[e * g.edge_features + f];
            if (!isfinite(a) || (e % 2 && a != g.edge_attr[(e - 1) * g.edge_features + f])) abort();
        }
    dl_graph_free(&g);
    return 0;
}
