/* summary.c — see summary.h. Parameter counts come from the module, FLOPs
 * from the op table's cost functions evaluated at N = 1, so the numbers here
 * are the same ones the benchmarks use for GFLOP/s. A layer's FLOPs are those
 * of the forward-graph nodes its call produced; nodes outside any top-level
 * call (e.g. an explicit `x + y` in the model body) are counted under "other". */
#include "summary.h"

#include <string.h>

static int64_t numel_const(const ir_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->d[i].k;
    return n;
}

static const char *thousands(char *buf, int len, double v) {
    char raw[64];
    snprintf(raw, sizeof raw, "%.0f", v);
    int n = (int)strlen(raw), o = 0;
    for (int i = 0; i < n && o < len - 2; i++) {
        if (i > 0 && (n - i) % 3 == 0 && raw[i - 1] != '-') buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static double node_flops(const ir_node *n) {
    int64_t syms[IR_MAX_SYMS];
    for (int i = 0; i < IR_MAX_SYMS; i++) syms[i] = 1;
    const ir_op_info *info = &ir_ops[n->op];
    return info->flops ? info->flops(n, syms) : 0.0;
}

void summary_print(FILE *out, const ir_module *m, const elab_summary *s) {
    const ir_graph *g = m->forward;
    char shape[128], a[32], b[32], name[96];
    fprintf(out, "Model: %s\n", m->name);
    fprintf(out, "%-32s %-24s %14s %16s\n", "Layer (type)", "Output shape", "Params", "FLOPs/sample");
    for (int i = 0; i < 32 + 24 + 14 + 16 + 3; i++) fputc('-', out);
    fputc('\n', out);
    double total_flops = 0, layer_flops = 0;
    for (int i = 0; g && i < g->n_nodes; i++) total_flops += node_flops(g->nodes[i]);
    for (int l = 0; s && l < s->n_layers; l++) {
        const elab_layer *L = &s->layers[l];
        int64_t params = 0;
        for (int p = L->param_begin; p < L->param_end; p++)
            if (m->params[p].state) continue; /* carried state, not a parameter */
            else if (m->params[p].trainable || strstr(m->params[p].name, "running_")) params += numel_const(&m->params[p].shape);
        double flops = 0;
        for (int k = L->node_begin; g && k < L->node_end && k < g->n_nodes; k++) flops += node_flops(g->nodes[k]);
        layer_flops += flops;
        if (strcmp(L->name, L->type) == 0) snprintf(name, sizeof name, "%s", L->name);
        else snprintf(name, sizeof name, "%s (%s)", L->name, L->type);
        fprintf(out, "%-32s %-24s %14s %16s\n", name, ir_shape_str(shape, sizeof shape, L->dtype, &L->shape, m),
                thousands(a, sizeof a, (double)params), thousands(b, sizeof b, flops));
    }
    if (total_flops - layer_flops > 0.5)
        fprintf(out, "%-32s %-24s %14s %16s\n", "(other)", "", "0", thousands(b, sizeof b, total_flops - layer_flops));
    for (int i = 0; i < 32 + 24 + 14 + 16 + 3; i++) fputc('=', out);
    fputc('\n', out);
    int64_t trainable = 0, frozen = 0, buffers = 0;
    for (int p = 0; p < m->n_params; p++) {
        if (m->params[p].state) continue;
        int64_t n = numel_const(&m->params[p].shape);
        if (m->params[p].trainable) trainable += n;
        else if (strstr(m->params[p].name, "running_")) buffers += n;
        else frozen += n;
    }
    fprintf(out, "Total params: %s\n", thousands(a, sizeof a, (double)(trainable + frozen)));
    fprintf(out, "Trainable params: %s\n", thousands(a, sizeof a, (double)trainable));
    fprintf(out, "Non-trainable params: %s\n", thousands(a, sizeof a, (double)frozen));
    if (buffers) fprintf(out, "Buffers (running statistics): %s\n", thousands(a, sizeof a, (double)buffers));
    fprintf(out, "Forward FLOPs per sample: %s\n", thousands(a, sizeof a, total_flops));
}
