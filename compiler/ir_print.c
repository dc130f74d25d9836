/* ir_print.c — the IR as text, and the structural verifier.
 *
 * The dump is what people read with `dlnc --emit=ir --after=PASS`, and what
 * tests compare, so it is one stable line per node:
 *
 *   %4 = matmul %0, %3 [tb] : f32[N, 512]   ; mlp.dln:5:12
 *
 * followed by the plan's annotations when a pass has set them
 * ({group 2, arena@1024}; {epilogue 18, arena@0} on a conv2d whose consuming
 * group runs in its epilogue; {siblings 991, ...} on reductions computed in
 * the loop nest of reduction %991, pass_fuse rule 7). The verifier re-runs every shape rule and checks
 * the invariants passes must keep: topological order, arity, unique ids,
 * outputs that point into the graph. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "ops_conv.h"

static void print_axes(FILE *out, uint64_t mask) {
    const char *sep = "";
    for (int i = 0; i < 64; i++)
        if (mask & ((uint64_t)1 << i)) {
            fprintf(out, "%s%d", sep, i);
            sep = ",";
        }
}

/* The attributes that are not already visible in the node's type, one
 * printer per op family (op_families.def), chosen through ops.def. */

/* Slots as stored: "[1, 2, 0.5]" (families whose slots read as they are). */
static void print_raw(FILE *out, const ir_node *n) {
    const ir_attrs *a = &n->a;
    if (a->ni == 0 && a->nf == 0) return;
    fprintf(out, " [");
    for (int k = 0; k < a->ni; k++) fprintf(out, "%s%lld", k ? ", " : "", (long long)a->i[k]);
    for (int k = 0; k < a->nf; k++) fprintf(out, "%s%.9g", k || a->ni ? ", " : "", a->f[k]);
    fprintf(out, "]");
}

static void print_source(FILE *out, const ir_node *n) {
    if (n->op == OP_constant) fprintf(out, " %.9g", n->a.f[0]);
    else if (n->op == OP_rand_uniform || n->op == OP_rand_normal) fprintf(out, " [stream=%lld]", (long long)n->a.i[0]);
    else if (n->op == OP_rand_int)
        fprintf(out, " [stream=%lld, low=%.0f, high=%.0f]", (long long)n->a.i[0], n->a.f[0], n->a.f[1]);
    else if (n->op == OP_iota) fprintf(out, " [axis=%lld, start=%.17g, step=%.17g]", (long long)n->a.i[0], n->a.f[0], n->a.f[1]);
}

static void print_elemwise(FILE *out, const ir_node *n) { print_raw(out, n); }

static void print_reduce(FILE *out, const ir_node *n) {
    fprintf(out, " [axes=");
    print_axes(out, (uint64_t)n->a.i[0]);
    fprintf(out, "%s]", n->a.i[1] ? ", keepdims" : "");
}

static void print_layout(FILE *out, const ir_node *n) {
    if (n->op != OP_transpose) return; /* reshape, broadcast_to: the type says it all */
    fprintf(out, " [perm=");
    for (int k = 0; k < n->a.ni; k++) fprintf(out, "%s%lld", k ? "," : "", (long long)n->a.i[k]);
    fprintf(out, "]");
}

static void print_matmul(FILE *out, const ir_node *n) {
    const ir_attrs *a = &n->a;
    if (a->i[0] || a->i[1]) fprintf(out, " [%s%s%s]", a->i[0] ? "ta" : "", a->i[0] && a->i[1] ? ", " : "", a->i[1] ? "tb" : "");
}

static void print_softmax(FILE *out, const ir_node *n) { fprintf(out, " [axis=%lld]", (long long)n->a.i[0]); }

static void print_norm(FILE *out, const ir_node *n) {
    fprintf(out, " [eps=%g%s]", n->a.f[0], n->op == OP_layer_norm ? "" : n->a.i[0] ? ", dweight" : ", dx");
}

static void print_contrastive(FILE *out, const ir_node *n) {
    fprintf(out, " [t=%g%s]", n->a.f[0], n->op == OP_nt_xent ? "" : n->a.i[0] ? ", dz2" : ", dz1");
}

static void print_label(FILE *out, const ir_node *n) {
    if (n->op == OP_unpick) fprintf(out, " [C=%lld]", (long long)n->a.i[0]);
    if (n->op == OP_gather || n->op == OP_gather_grad) fprintf(out, " [axis=%lld]", (long long)n->a.i[0]);
    if (n->op == OP_argmax) fprintf(out, " [axis=%lld%s]", (long long)n->a.i[0], n->a.ni > 1 && n->a.i[1] ? ", min" : "");
    if ((n->op == OP_pick || n->op == OP_unpick) && n->a.ni >= 3 && n->a.i[1])
        fprintf(out, " [ignore=%lld]", (long long)n->a.i[2]);
}

static void print_movement(FILE *out, const ir_node *n) { print_raw(out, n); }

static void print_indexing(FILE *out, const ir_node *n) {
    if (n->op == OP_cast_i32) return;
    fprintf(out, " [axis=%lld", (long long)n->a.i[0]);
    if (n->op == OP_argsort && n->a.i[2]) fprintf(out, ", k=%lld", (long long)n->a.i[2]);
    fprintf(out, "%s]", !n->a.i[1] ? "" : n->op == OP_argsort ? ", descending" : ", reverse");
}

static void print_attention(FILE *out, const ir_node *n) {
    const attn_attrs *a = &n->a.attn;
    fprintf(out, " [heads=%lld, scale=%g%s", (long long)a->heads, a->scale, a->causal ? ", causal" : "");
    if (a->q_pos0) fprintf(out, ", q_pos0=%lld", (long long)a->q_pos0);
    if (n->op == OP_attention_grad)
        fprintf(out, ",%s%s%s%s", a->which & ATTN_DQ ? " dq" : "", a->which & ATTN_DK ? " dk" : "",
                a->which & ATTN_DV ? " dv" : "", a->which & ATTN_DMASK ? " dmask" : "");
    fprintf(out, "]");
}

static void print_conv(FILE *out, const ir_node *n) {
    char buf[200];
    fprintf(out, "%s", conv_geom_str(buf, sizeof buf, n)); /* packed pairs, unpacked for people */
}

static void print_scan(FILE *out, const ir_node *n) {
    const ir_attrs *a = &n->a;
    if (n->op == OP_scan_part) fprintf(out, " [part=%lld]", (long long)a->i[0]);
    else
        fprintf(out, " [body=%lld, carries=%lld, sequences=%lld, results=%lld, sums=%lld%s]", (long long)a->i[0],
                (long long)a->i[1], (long long)a->i[2], (long long)a->i[3], (long long)a->i[5], a->i[4] ? ", reverse" : "");
}

typedef void (*print_fn)(FILE *out, const ir_node *n);
static const print_fn print_by_op[OP__COUNT] = {
#define OP(name, arity, kind, family, c_expr, ref) [OP_##name] = print_##family,
#include "ops.def"
#undef OP
};

static void print_attrs(FILE *out, const ir_node *n) { print_by_op[n->op](out, n); }

static const char *storage_name(int s) {
    static const char *names[] = {"arena", "param", "input", "output", "inline", "alias", "static"};
    return s >= 0 && s <= IR_STORE_STATIC ? names[s] : "?";
}

static void print_plan(FILE *out, const ir_node *n) {
    int natural = n->op == OP_input ? IR_STORE_INPUT : n->op == OP_param ? IR_STORE_PARAM : IR_STORE_ARENA;
    int show_store = n->offset >= 0 || n->storage != natural;
    if (n->group < 0 && !n->epilogue && !n->sibling && !show_store) return;
    fprintf(out, "  {");
    if (n->group >= 0) fprintf(out, "group %d%s", n->group, show_store ? ", " : "");
    if (n->epilogue) fprintf(out, "epilogue %d%s", n->epilogue->id, show_store ? ", " : "");
    if (n->sibling) fprintf(out, "siblings %d%s", n->sibling->id, show_store ? ", " : "");
    if (show_store) {
        fprintf(out, "%s", storage_name(n->storage));
        if (n->offset >= 0) fprintf(out, "@%lld", (long long)n->offset);
    }
    fprintf(out, "}");
}

static void print_node(FILE *out, const ir_graph *g, const ir_node *n) {
    char type[160];
    fprintf(out, "  %%%d = %s", n->id, ir_ops[n->op].name);
    if ((n->op == OP_input || n->op == OP_param) && n->name) fprintf(out, " %s", n->name);
    for (int k = 0; k < n->nin; k++) fprintf(out, "%s %%%d", k ? "," : "", n->in[k]->id);
    print_attrs(out, n);
    fprintf(out, " : %s", ir_shape_str(type, sizeof type, n->dtype, &n->shape, g->mod));
    print_plan(out, n);
    if (n->loc.file) fprintf(out, "   ; %s:%d:%d", n->loc.file, n->loc.line, n->loc.col);
    fprintf(out, "\n");
}

static const char *out_kind_name(ir_out_kind k) {
    switch (k) {
    case IR_OUT_VALUE: return "value";
    case IR_OUT_LOSS: return "loss";
    case IR_OUT_GRAD: return "grad";
    case IR_OUT_ASSIGN: return "assign";
    case IR_OUT_INPUT_GRAD: return "input_grad";
    }
    return "?";
}

void ir_print_graph(FILE *out, const ir_graph *g) {
    char type[160];
    fprintf(out, "graph %s (%s) {\n", g->name, g->mode == IR_MODE_TRAIN ? "train" : "eval");
    if (g->n_inputs) fprintf(out, "  inputs:\n");
    for (int i = 0; i < g->n_inputs; i++)
        fprintf(out, "    %s: %s = %%%d\n", g->inputs[i].name,
                ir_shape_str(type, sizeof type, g->inputs[i].dtype, &g->inputs[i].shape, g->mod), g->inputs[i].node->id);
    for (int i = 0; i < g->n_nodes; i++) print_node(out, g, g->nodes[i]);
    if (g->n_outputs) fprintf(out, "  outputs:\n");
    for (int i = 0; i < g->n_outputs; i++) {
        const ir_output *o = &g->outputs[i];
        const char *kind = out_kind_name(o->kind);
        int show_name = o->name && strcmp(o->name, kind) != 0;
        fprintf(out, "    %s%s%s = %%%d\n", kind, show_name ? " " : "", show_name ? o->name : "", o->node->id);
    }
    if (g->arena_floats > 0) fprintf(out, "  arena: %lld floats\n", (long long)g->arena_floats);
    fprintf(out, "}\n");
}

void ir_print_module(FILE *out, const ir_module *m) {
    char type[160];
    fprintf(out, "module %s\n", m->name);
    for (int p = 0; p < m->n_params; p++)
        fprintf(out, "  param %s: %s%s\n", m->params[p].name,
                ir_shape_str(type, sizeof type, IR_F32, &m->params[p].shape, m),
                m->params[p].trainable ? "" : " (not trainable)");
    const ir_graph *gs[3] = {m->forward, m->eval_step, m->train_step};
    for (int i = 0; i < 3; i++)
        if (gs[i]) ir_print_graph(out, gs[i]);
    for (int i = 0; i < m->n_bodies; i++) {
        fprintf(out, "body %d:\n", i);
        ir_print_graph(out, m->bodies[i]);
    }
}

/* ---- verifier ----------------------------------------------------------- */

static int fail(const ir_graph *g, const ir_node *n, const char *what) {
    if (n) fprintf(stderr, "ir_verify: graph %s: %%%d (%s): %s\n", g->name, n->id,
                   (unsigned)n->op < OP__COUNT ? ir_ops[n->op].name : "?", what);
    else fprintf(stderr, "ir_verify: graph %s: %s\n", g->name, what);
    return 0;
}

int ir_verify(const ir_graph *g) {
    int ok = 1;
    /* position of each id in the node list, -1 = not (yet) in the graph */
    int *pos = malloc(sizeof(int) * (size_t)(g->next_id > 0 ? g->next_id : 1));
    if (!pos) return fail(g, NULL, "out of memory");
    for (int i = 0; i < g->next_id; i++) pos[i] = -1;
    for (int i = 0; i < g->n_nodes && ok; i++) {
        const ir_node *n = g->nodes[i];
        if (!n) { ok = fail(g, NULL, "null node"); break; }
        if (n->id < 0 || n->id >= g->next_id || pos[n->id] >= 0) { ok = fail(g, n, "bad or duplicate id"); break; }
        if ((unsigned)n->op >= OP__COUNT) { ok = fail(g, n, "bad opcode"); break; }
        const ir_op_info *info = &ir_ops[n->op];
        if (info->arity >= 0 && n->nin != info->arity) { ok = fail(g, n, "wrong number of inputs"); break; }
        for (int k = 0; k < n->nin && ok; k++)
            if (!n->in[k] || n->in[k]->id < 0 || n->in[k]->id >= g->next_id || pos[n->in[k]->id] < 0 ||
                g->nodes[pos[n->in[k]->id]] != n->in[k])
                ok = fail(g, n, "uses a value that is not defined before it");
        if (!ok) break;
        ir_node copy = *n;
        char err[512];
        if (!info->shape(&copy, err, sizeof err)) {
            ok = fail(g, n, err);
            break;
        }
        if (copy.dtype != n->dtype || !ir_shape_eq(&copy.shape, &n->shape)) { ok = fail(g, n, "stored shape differs from its shape rule"); break; }
        if (n->op == OP_input) {
            int k = (int)n->a.i[0];
            if (k >= g->n_inputs || g->inputs[k].node != n || !ir_shape_eq(&g->inputs[k].shape, &n->shape))
                ok = fail(g, n, "does not match its graph input record");
        }
        if (n->op == OP_param && g->mod) {
            int k = (int)n->a.i[0];
            if (k >= g->mod->n_params || !ir_shape_eq(&g->mod->params[k].shape, &n->shape))
                ok = fail(g, n, "does not match its module parameter");
        }
        pos[n->id] = i;
    }
    for (int i = 0; i < g->n_outputs && ok; i++) {
        const ir_node *n = g->outputs[i].node;
        if (!n || n->id < 0 || n->id >= g->next_id || pos[n->id] < 0 || g->nodes[pos[n->id]] != n)
            ok = fail(g, NULL, "an output refers to a node that is not in the graph");
    }
    for (int i = 0; i < g->n_inputs && ok; i++) {
        const ir_node *n = g->inputs[i].node;
        if (!n || pos[n->id] < 0) ok = fail(g, NULL, "a graph input's node is not in the graph");
    }
    free(pos);
    return ok;
}
