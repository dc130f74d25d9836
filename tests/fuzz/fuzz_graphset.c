/* fuzz_graphset.c — libFuzzer harness: the bytes are a graph collection's
 * directory, split at the first two 0x00 bytes into graphs.csv, nodes.csv
 * and edges.csv (docs/language.md, "Graph classification"). A loaded set is
 * checked for what the batches rely on: each graph a non-empty range of
 * nodes in order, its edges a range of both-ways pairs with ids local to it
 * and below its node count, labels below the class count, finite features,
 * the per-graph maxima true, and finite edge features. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[3] = {data, data + size, data + size};
    size_t len[3] = {size, 0, 0};
    for (int k = 1; k < 3; k++) {
        const uint8_t *cut = memchr(part[k - 1], 0, len[k - 1]);
        if (!cut) break;
        part[k] = cut + 1;
        len[k] = (size_t)(data + size - part[k]);
        len[k - 1] = (size_t)(cut - part[k - 1]);
    }
    scratch_write("gs/graphs.csv", part[0], len[0]);
    scratch_write("gs/nodes.csv", part[1], len[1]);
    scratch_write("gs/edges.csv", part[2], len[2]);
    dl_graphset gs;
    if (dl_graphset_load(scratch_path("gs"), &gs) != 0) return 0;
    if (gs.graphs < 1 || gs.nodes < gs.graphs || gs.features < 1 || gs.edges < 2 || gs.edges % 2 ||
        gs.count[DL_SPLIT_TRAIN] < 1 || gs.node_start[0] != 0 || gs.node_start[gs.graphs] != gs.nodes ||
        gs.edge_start[0] != 0 || gs.edge_start[gs.graphs] != gs.edges)
        abort();
    int64_t max_n = 0, max_e = 0;
    for (int64_t g = 0; g < gs.graphs; g++) {
        const int64_t n = gs.node_start[g + 1] - gs.node_start[g], ne = gs.edge_start[g + 1] - gs.edge_start[g];
        if (n < 1 || ne < 0 || ne % 2 || gs.label[g] < 0 || gs.label[g] >= gs.classes || gs.split[g] > DL_SPLIT_TEST) abort();
        max_n = n > max_n ? n : max_n, max_e = ne > max_e ? ne : max_e;
        for (int64_t e = gs.edge_start[g]; e < gs.edge_start[g + 1]; e++) {
            if (gs.src[e] < 0 || gs.src[e] >= n || gs.dst[e] < 0 || gs.dst[e] >= n || gs.src[e] == gs.dst[e]) abort();
            if ((e - gs.edge_start[g]) % 2 && (gs.src[e] != gs.dst[e - 1] || gs.dst[e] != gs.src[e - 1])) abort();
        }
    }
    if (max_n != gs.max_nodes || max_e != gs.max_edges) abort();
    for (int64_t i = 0; i < gs.nodes * gs.features; i++)
        if (!isfinite(gs.x[i])) abort();
    if (gs.edge_features < 0 || (gs.edge_features > 0) != (gs.edge_attr != NULL)) abort();
    for (int64_t i = 0; i < gs.edges * gs.edge_features; i++)   /* edge features: finite */
        if (!isfinite(gs.edge_attr[i])) abort();
    dl_graphset_free(&gs);
    return 0;
}
