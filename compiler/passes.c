/* passes.c — the pass pipeline as a table, and the driver that runs it.
 *
 * Order matters and is the whole policy: attention first (elaboration
 * has run it before autodiff already; here it is observable), bnorm next (it leaves slices and
 * reshapes for fold and CSE to share), fold next (autodiff leaves many
 * reshape-of-constant and x*1 nodes), then CSE (folding exposes duplicates),
 * then bnorm_mask (it finds the ReLU mask CSE has shared), then DCE (all
 * of them leave dead nodes), then fusion and memory planning, which
 * want the smallest graph. Any pass can be observed with --after=NAME (and
 * the graphs as elaboration and autodiff built them with --after=elab), and
 * with verify on, the IR is checked before the first pass and after each. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

const pass_info pass_pipeline[] = {
    {"attention", pass_attention, "attention written from matmul, softmax and a mask as the fused attention op"},
    {"bnorm", pass_bnorm, "batch_normalize's forward as elementwise ops the fuser can join"},
    {"fold", pass_fold, "algebraic simplification and constant folding"},
    {"cse", pass_cse, "merge identical computations"},
    {"bnorm_mask", pass_bnorm_mask, "a ReLU's backward mask read inside batch norm's backward kernels"},
    {"dce", pass_dce, "remove values no output depends on"},
    {"fuse", pass_fuse, "group elementwise chains and epilogues into single loops"},
    {"epilogue", pass_epilogue, "run a convolution's consuming group per image, in its epilogue"},
    {"plan", pass_plan, "assign every value its storage and arena offset"},
    {NULL, NULL, NULL},
};

void pass_rewrite(ir_graph *g, ir_node *(*replace)(ir_node *n, void *ctx), void *ctx) {
    ir_node **rep = calloc((size_t)(g->next_id ? g->next_id : 1), sizeof *rep); /* id -> replacement */
    if (!rep) return;
    int kept = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (rep[n->in[k]->id]) n->in[k] = rep[n->in[k]->id];
        if ((rep[n->id] = replace(n, ctx))) continue;
        g->nodes[kept++] = n;
    }
    g->n_nodes = kept;
    for (int i = 0; i < g->n_outputs; i++)
        if (rep[g->outputs[i].node->id]) g->outputs[i].node = rep[g->outputs[i].node->id];
    free(rep);
    ir_count_uses(g);
}

void pass_lower_in_place(ir_graph *g, ir_node *(*lower)(ir_graph *g, ir_node *n, void *ctx), void *ctx) {
    const int n0 = g->n_nodes, nid = g->next_id > 0 ? g->next_id : 1;
    int *from = calloc((size_t)n0 + 1, sizeof *from), *to = calloc((size_t)n0 + 1, sizeof *to); /* appended range per node */
    ir_node **rep = calloc((size_t)nid, sizeof *rep); /* by the old node's id: its value's new node */
    if (!from || !to || !rep) { /* leaving the graph as it is is always correct */
        free(from), free(to), free(rep);
        return;
    }
    for (int i = 0; i < n0; i++) {
        ir_node *n = g->nodes[i];
        from[i] = g->n_nodes;
        rep[n->id] = lower(g, n, ctx);
        to[i] = g->n_nodes;
        for (int j = from[i]; j < to[i]; j++) /* generated C points at the lowered node's line */
            g->nodes[j]->loc = n->loc, g->nodes[j]->site = n->site, g->nodes[j]->site_block = n->site_block;
    }
    /* the new nodes take the old node's place: its inputs are before it, its uses after */
    ir_node **out = malloc(sizeof *out * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!out) {
        fprintf(stderr, "dlnc: out of memory in a lowering pass\n");
        exit(1);
    }
    int m = 0;
    for (int i = 0; i < n0; i++) {
        ir_node *n = g->nodes[i];
        for (int j = from[i]; j < to[i]; j++) out[m++] = g->nodes[j];
        if (!rep[n->id]) out[m++] = n;
    }
    memcpy(g->nodes, out, sizeof *out * (size_t)m);
    g->n_nodes = m;
    for (int i = 0; i < m; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++) {
            ir_node *in = g->nodes[i]->in[k];
            if (in->id < nid && rep[in->id]) g->nodes[i]->in[k] = rep[in->id];
        }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].node->id < nid && rep[g->outputs[i].node->id]) g->outputs[i].node = rep[g->outputs[i].node->id];
    free(out);
    free(from), free(to), free(rep);
    ir_count_uses(g);
}

int passes_known_stage(const char *name) {
    if (strcmp(name, PASS_STAGE_ELAB) == 0) return 1;
    for (const pass_info *p = pass_pipeline; p->name; p++)
        if (strcmp(p->name, name) == 0) return 1;
    return 0;
}

int passes_run(ir_graph *g, const char *dump_after, FILE *dump_out, int verify) {
    return passes_run_skipping(g, NULL, dump_after, dump_out, verify);
}

static int skipped(const char *const *skip, const char *name) {
    for (; skip && *skip; skip++)
        if (strcmp(*skip, name) == 0) return 1;
    return 0;
}

int passes_run_skipping(ir_graph *g, const char *const *skip, const char *dump_after, FILE *dump_out, int verify) {
    if (dump_after && strcmp(dump_after, PASS_STAGE_ELAB) == 0) {
        ir_print_graph(dump_out ? dump_out : stdout, g);
        dump_after = NULL;
    }
    if (dump_after) {
        int known = 0;
        for (const pass_info *p = pass_pipeline; p->name; p++) known |= strcmp(p->name, dump_after) == 0;
        if (!known) {
            fprintf(stderr, "dlnc: error: unknown pass '%s' (passes:", dump_after);
            for (const pass_info *p = pass_pipeline; p->name; p++) fprintf(stderr, " %s", p->name);
            fprintf(stderr, ")\n");
            return -1;
        }
    }
    if (verify && !ir_verify(g)) {
        fprintf(stderr, "dlnc: internal error: graph '%s' is malformed before the passes\n", g->name);
        return -1;
    }
    for (const pass_info *p = pass_pipeline; p->name; p++) {
        if (!skipped(skip, p->name)) p->run(g);
        if (verify && !ir_verify(g)) {
            fprintf(stderr, "dlnc: internal error: pass '%s' broke graph '%s'\n", p->name, g->name);
            return -1;
        }
        if (dump_after && strcmp(dump_after, p->name) == 0) ir_print_graph(dump_out ? dump_out : stdout, g);
    }
    return 0;
}
