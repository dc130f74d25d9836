/* emit_dot.c — the model graph as Graphviz dot (see emit_dot.h).
 *
 * The picture is at the level of the --summary table, not of IR ops: a
 * dense layer is one box, not a transpose, a matmul and an add. Each forward
 * node belongs to the layer whose call produced it (elab_layer's node
 * range) or, outside every call, stands for itself; an edge joins the
 * owners of an op and of each of its operands when they differ. Parameters
 * and constants are inside their boxes, so they draw no edges.
 *
 *   dlnc --emit=dot samples/lenet5.dln | dot -Tsvg > lenet5.svg */
#include "emit_dot.h"

#include <stdlib.h>
#include <string.h>

/* A graph vertex: a layer, a stand-alone op, an input or an output. */
typedef enum dot_kind { DOT_LAYER, DOT_OP, DOT_INPUT, DOT_OUTPUT } dot_kind;
typedef struct dot_vertex {
    dot_kind kind;
    int index;                            /* layer index, node id, input or output index */
} dot_vertex;

typedef struct dot_edges {
    dot_vertex (*e)[2];
    int n, cap;
} dot_edges;

static void dot_id(FILE *out, int mod, dot_vertex v)
{
    static const char *tag[] = {"layer", "op", "in", "out"};
    fprintf(out, "m%d_%s%d", mod, tag[v.kind], v.index);
}

/* A label in double quotes: quotes and backslashes escaped, "\n" kept as dot's line break. */
static void dot_label(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') fputs("\\n", out);
        else if (*s == '"' || *s == '\\') fprintf(out, "\\%c", *s);
        else fputc(*s, out);
    }
}

/* One vertex line: `    m0_layer3 [<attrs>label="<label>"];` (attrs empty or ending in ", "). */
static void dot_vertex_line(FILE *out, int mod, dot_vertex v, const char *attrs, const char *label)
{
    fprintf(out, "    ");
    dot_id(out, mod, v);
    fprintf(out, " [%slabel=\"", attrs);
    dot_label(out, label);
    fprintf(out, "\"];\n");
}

static int dot_same(dot_vertex a, dot_vertex b) { return a.kind == b.kind && a.index == b.index; }

static void dot_add_edge(dot_edges *es, dot_vertex from, dot_vertex to)
{
    if (dot_same(from, to)) return;
    for (int i = 0; i < es->n; i++)
        if (dot_same(es->e[i][0], from) && dot_same(es->e[i][1], to)) return;
    if (es->n == es->cap) {
        int cap = es->cap ? 2 * es->cap : 64;
        void *p = realloc(es->e, (size_t)cap * sizeof *es->e);
        if (!p) return;   /* out of memory: a missing arrow, not a crash */
        es->e = p;
        es->cap = cap;
    }
    es->e[es->n][0] = from;
    es->e[es->n][1] = to;
    es->n++;
}

/* Who draws node n: its layer, itself, or the graph input it is. */
static dot_vertex dot_owner(const ir_node *n, const int *layer_of)
{
    if (n->op == OP_input) return (dot_vertex){DOT_INPUT, n->a.input.index};
    if (layer_of[n->id] >= 0) return (dot_vertex){DOT_LAYER, layer_of[n->id]};
    return (dot_vertex){DOT_OP, n->id};
}

/* As --summary counts them: trainable parameters and running statistics. */
static int64_t dot_layer_params(const ir_module *m, const elab_layer *L)
{
    int64_t total = 0;
    for (int p = L->param_begin; p < L->param_end; p++) {
        if (!m->params[p].trainable && !strstr(m->params[p].name, "running_")) continue;
        int64_t n = 1;
        for (int d = 0; d < m->params[p].shape.rank; d++) n *= m->params[p].shape.d[d].k;
        total += n;
    }
    return total;
}

/* 61706 -> "61,706", as --summary prints counts */
static const char *dot_thousands(char *buf, size_t cap, int64_t v)
{
    char raw[32];
    int n = snprintf(raw, sizeof raw, "%lld", (long long)v), o = 0;
    for (int i = 0; i < n && o + 2 < (int)cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static void emit_module(FILE *out, int mi, const ir_module *m, const elab_summary *s)
{
    const ir_graph *g = m->forward;
    char shape[160], label[512];
    int *layer_of = malloc((size_t)(g->next_id + 1) * sizeof *layer_of);
    if (!layer_of) return;
    for (int i = 0; i <= g->next_id; i++) layer_of[i] = -1;
    for (int l = 0; l < s->n_layers; l++)
        for (int k = s->layers[l].node_begin; k < s->layers[l].node_end && k < g->n_nodes; k++)
            layer_of[g->nodes[k]->id] = l;

    fprintf(out, "  subgraph \"cluster_%s\" {\n    label=\"", m->name);
    dot_label(out, m->name);
    fprintf(out, "\";\n");
    for (int i = 0; i < g->n_inputs; i++) {
        snprintf(label, sizeof label, "%s\n%s", g->inputs[i].name,
                 ir_shape_str(shape, sizeof shape, g->inputs[i].dtype, &g->inputs[i].shape, m));
        dot_vertex_line(out, mi, (dot_vertex){DOT_INPUT, i}, "shape=oval, fillcolor=\"#fde9c9\", ", label);
    }
    for (int l = 0; l < s->n_layers; l++) {
        const elab_layer *L = &s->layers[l];
        if (L->node_begin >= L->node_end) continue;   /* computed nothing: no box */
        int64_t params = dot_layer_params(m, L);
        ir_shape_str(shape, sizeof shape, L->dtype, &L->shape, m);
        int k = strcmp(L->name, L->type) ? snprintf(label, sizeof label, "%s (%s)\n%s", L->name, L->type, shape)
                                         : snprintf(label, sizeof label, "%s\n%s", L->name, shape);
        if (params && k > 0 && k < (int)sizeof label) {
            char num[32];
            snprintf(label + k, sizeof label - (size_t)k, "\n%s params", dot_thousands(num, sizeof num, params));
        }
        dot_vertex_line(out, mi, (dot_vertex){DOT_LAYER, l}, params ? "" : "fillcolor=\"#eeeeee\", ", label);
    }
    dot_edges es = {0};
    for (int k = 0; k < g->n_nodes; k++) {
        const ir_node *n = g->nodes[k];
        if (ir_ops[n->op].kind == IR_SOURCE) continue;
        dot_vertex to = dot_owner(n, layer_of);
        if (to.kind == DOT_OP) {
            snprintf(label, sizeof label, "%s\n%s", ir_ops[n->op].name,
                     ir_shape_str(shape, sizeof shape, n->dtype, &n->shape, m));
            dot_vertex_line(out, mi, to, "shape=box, style=\"filled\", fillcolor=\"#eeeeee\", ", label);
        }
        for (int i = 0; i < n->nin; i++)
            if (n->in[i]->op == OP_input || ir_ops[n->in[i]->op].kind != IR_SOURCE)
                dot_add_edge(&es, dot_owner(n->in[i], layer_of), to);
    }
    for (int o = 0; o < g->n_outputs; o++) {
        if (g->outputs[o].kind != IR_OUT_VALUE) continue;
        const ir_node *n = g->outputs[o].node;
        dot_vertex v = {DOT_OUTPUT, o};
        snprintf(label, sizeof label, "%s\n%s", g->n_outputs > 1 && g->outputs[o].name ? g->outputs[o].name : "output",
                 ir_shape_str(shape, sizeof shape, n->dtype, &n->shape, m));
        dot_vertex_line(out, mi, v, "shape=oval, fillcolor=\"#d5efd5\", ", label);
        dot_add_edge(&es, dot_owner(n, layer_of), v);
    }
    for (int i = 0; i < es.n; i++) {
        fprintf(out, "    ");
        dot_id(out, mi, es.e[i][0]);
        fprintf(out, " -> ");
        dot_id(out, mi, es.e[i][1]);
        fprintf(out, ";\n");
    }
    fprintf(out, "  }\n");
    free(es.e);
    free(layer_of);
}

void emit_dot(FILE *out, ir_module *const *mods, const elab_summary *sums, int n_mods, const char *source)
{
    fprintf(out, "// dlnc --emit=dot %s: the forward graph of each model, one box per layer\ndigraph \"", source);
    dot_label(out, source);
    fprintf(out, "\" {\n"
                 "  rankdir=TB;\n"
                 "  graph [fontname=\"Helvetica\", fontsize=12];\n"
                 "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#dbe9f6\", color=\"#4a6f8f\", "
                 "fontname=\"Helvetica\", fontsize=11];\n"
                 "  edge [color=\"#555555\", arrowsize=0.7];\n");
    for (int m = 0; m < n_mods; m++)
        if (mods[m]->forward) emit_module(out, m, mods[m], &sums[m]);
    fprintf(out, "}\n");
}
