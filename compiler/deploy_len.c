/* deploy_len.c — the longest run-time length T an export can take (deploy.h).
 *
 * Why at export time: a table indexed by position (learned_positions' weight,
 * take(w, arange(T))) has a fixed number of rows, and the training build checks
 * every index when it runs. An export at a longer T would be a model whose every
 * call returns -1, which the app would only find when it runs; the length is
 * fixed at export, so the limit is known then and is an error naming it. */
#include "deploy.h"

#include <inttypes.h>

/* The largest T at which the range idx (an iota along a T-long axis, values
 * start + step * i) stays inside rows; INT64_MAX when idx is no such range. */
static int64_t range_limit(const ir_node *idx, uint32_t tbit, int64_t rows)
{
    if (idx->op != OP_iota) return INT64_MAX;
    const ir_dim d = idx->shape.d[idx->a.iota.axis];
    const double start = idx->a.iota.start, step = idx->a.iota.step;
    if (d.syms != tbit || d.k < 1 || step <= 0 || start < 0) return INT64_MAX;
    /* start + step * (k * T - 1) <= rows - 1 */
    const double positions = (rows - 1 - start) / step + 1;
    return positions < d.k ? 0 : (int64_t)(positions / d.k);
}

int64_t deploy_len_limit(const ir_module *m, int k, const ir_node **where)
{
    const ir_graph *g = m->forward;
    int64_t limit = INT64_MAX;
    *where = NULL;
    for (int i = 0; g && i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        int64_t l = INT64_MAX;
        if (n->op == OP_take) l = range_limit(n->in[1], 1u << k, n->in[0]->shape.d[0].k);
        if (n->op == OP_gather) l = range_limit(n->in[1], 1u << k, n->in[0]->shape.d[n->a.gather.axis].k);
        if (l < limit) limit = l, *where = n;
    }
    return limit;
}

int deploy_check_len(const ir_module *m, int k, int64_t t, int given, diag_ctx *d)
{
    const ir_node *n;
    const int64_t limit = deploy_len_limit(m, k, &n);
    if (t <= limit) return 0;
    const char *opt = m->n_syms > 2 ? arena_printf(m->ar, "--seq-len %s=", m->syms[k].name) : "--seq-len ";
    const ir_node *table = n->in[0];
    const char *what = table->op == OP_param ? m->params[table->a.param.index].name : "a table";
    diag_error(d, n->site.file ? n->site : n->loc,
               "%s: %s%" PRId64 " is longer than the model takes: %s has %" PRId64 " rows, one per position, so %s is "
               "at most %" PRId64 "\nhint: export with %s%" PRId64 " or less",
               m->name, given ? opt : "the default length ", t, what,
               table->shape.d[n->op == OP_gather ? n->a.gather.axis : 0].k, m->syms[k].name, limit, opt, limit);
    return -1;
}
