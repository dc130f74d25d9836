/* graph_dump.c — writes a stochastic block model (dl_graph_sbm) in the graph
 * source's file format (docs/language.md, "Graphs"), so that the PyTorch twin
 * (bench/gcn_torch.py) trains on exactly the graph `sbm(...)` gives dlnc:
 * features printed with 9 significant digits read back as the same floats.
 *
 *   graph_dump OUTDIR nodes classes p_in p_out features noise train_per_class val test seed
 */
#include <stdio.h>
#include <stdlib.h>

#include "dlnrt.h"

int main(int argc, char **argv)
{
    if (argc != 12) {
        fprintf(stderr, "usage: %s OUTDIR nodes classes p_in p_out features noise train_per_class val test seed\n", argv[0]);
        return 2;
    }
    dl_data_config dc = {.graph_nodes = atoll(argv[2]), .graph_classes = atoll(argv[3]), .p_in = (float)atof(argv[4]),
                         .p_out = (float)atof(argv[5]), .graph_features = atoll(argv[6]), .noise = (float)atof(argv[7]),
                         .train_per_class = atoll(argv[8]), .graph_val = atoll(argv[9]), .graph_test = atoll(argv[10]),
                         .graph_seed = strtoull(argv[11], NULL, 10)};
    dl_graph g;
    if (dl_graph_sbm(&dc, &g)) {
        fprintf(stderr, "graph_dump: %s\n", dl_last_error());
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/nodes.csv", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); return 1; }
    fprintf(f, "label,split");
    for (int64_t k = 0; k < g.features; k++) fprintf(f, ",f%lld", (long long)k);
    for (int64_t v = 0; v < g.nodes; v++) {
        fprintf(f, "\n%d,%d", g.label[v], g.split[v]);
        for (int64_t k = 0; k < g.features; k++) fprintf(f, ",%.9g", g.x[v * g.features + k]);
    }
    fprintf(f, "\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/edges.csv", argv[1]);
    if (!(f = fopen(path, "w"))) { perror(path); return 1; }
    fprintf(f, "source,target\n");
    for (int64_t e = 0; e < g.edges; e += 2) fprintf(f, "%d,%d\n", g.src[e], g.dst[e]);   /* each undirected edge once */
    fclose(f);
    dl_graph_free(&g);
    return 0;
}
