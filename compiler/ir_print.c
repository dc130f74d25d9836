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
#include "ir_attrs.h"

/* The attributes that are not already visible in the node's type, as
 * ir_attrs.def describes them (ir_attrs.c). */
static void print_attrs(FILE *out, const ir_node *n) { ir_attrs_print(out, n); }

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
            int k = (int)n->a.input.index;
            if (k >= g->n_inputs || g->inputs[k].node != n || !ir_shape_eq(&g->inputs[k].shape, &n->shape))
                ok = fail(g, n, "does not match its graph input record");
        }
        if (n->op == OP_param && g->mod) {
            int k = (int)n->a.param.index;
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
