/* passes.h — graph-to-graph passes. Each is a verb with the same signature,
 * lives in its own file (pass_<name>.c), and can be observed with
 * `dlnc --emit=ir --after=<name>`. */
#ifndef DLNC_PASSES_H
#define DLNC_PASSES_H
#include <stdio.h>

#include "ir.h"

typedef void (*pass_fn)(ir_graph *g);

typedef struct pass_info {
    const char *name;
    pass_fn run;
    const char *what;    /* one line for --help */
} pass_info;

void pass_attention(ir_graph *g); /* matmul, mask, softmax, matmul -> attention (also run before autodiff) */
void pass_bnorm(ir_graph *g);   /* batch_normalize -> (x - mean) * k + b, elementwise */
void pass_bnorm_mask(ir_graph *g); /* a ReLU mask read inside batch_norm_sums / batch_norm_dx */
void pass_dce(ir_graph *g);     /* drop nodes no output depends on */
void pass_cse(ir_graph *g);     /* merge identical (op, inputs, attrs) nodes */
void pass_fold(ir_graph *g);    /* algebraic simplification: x*1, x+0, reshape of reshape, ... */
void pass_fuse(ir_graph *g);    /* assign fusion groups (elementwise chains, epilogues) */
void pass_epilogue(ir_graph *g);/* link a conv2d to the elementwise group that consumes it */
void pass_plan(ir_graph *g);    /* memory plan: storage kind and arena offset per node */

/* After pass_plan: the size of arena class `cls` (a symbol mask) in units of
 * its monomial, which the emitter allocates. */
int64_t plan_class_size(const ir_graph *g, uint32_t cls);
/* After pass_plan: the floats of the graph's STATIC values (computed once, kept). */
int64_t plan_static_size(const ir_graph *g);

/* After pass_plan: 1 if no two simultaneously-live arena buffers overlap;
 * otherwise 0, describing each overlap on err (may be NULL). For debug
 * builds and tests. */
int plan_verify(const ir_graph *g, FILE *err);

/* The sweep CSE and fold share: visits the nodes in order, each with its
 * inputs already redirected to earlier replacements; when replace(n, ctx)
 * returns another node, n is dropped and every later use of n (and any
 * output) takes that node instead. Recounts uses at the end. Out of memory
 * leaves the graph as it was (skipping a rewrite is always safe). */
void pass_rewrite(ir_graph *g, ir_node *(*replace)(ir_node *n, void *ctx), void *ctx);

/* For passes that lower an op to others: lower(g, n, ctx) may append nodes
 * to g and returns the node that takes n's value, or NULL to keep n. The
 * appended nodes move to n's place (their inputs are before it, n's uses
 * after it) and take n's source location; uses and outputs of a replaced n
 * take the new node. Recounts uses. */
void pass_lower_in_place(ir_graph *g, ir_node *(*lower)(ir_graph *g, ir_node *n, void *ctx), void *ctx);

extern const pass_info pass_pipeline[]; /* in order; NULL-terminated by name */

/* The stage before the first pass: the graphs as elaboration built them,
 * the train graph already differentiated (autodiff runs inside elaboration). */
#define PASS_STAGE_ELAB "elab"
/* 1 if name is PASS_STAGE_ELAB or a pass of the pipeline (for --after). */
int passes_known_stage(const char *name);

/* Run the pipeline. If dump_after names a pass, print the graph to dump_out
 * right after it (and keep going). If verify, run ir_verify after each pass
 * and return -1 on a violation. */
int passes_run(ir_graph *g, const char *dump_after, FILE *dump_out, int verify);
/* The same without the passes named in skip (a NULL-terminated list; NULL
 * skips none). `--check-numerics` skips fuse and epilogue, so that every op
 * is a kernel of its own whose output can be checked. */
int passes_run_skipping(ir_graph *g, const char *const *skip, const char *dump_after, FILE *dump_out, int verify);

#endif
