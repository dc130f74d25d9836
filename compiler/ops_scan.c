/* ops_scan.c — the loop op and its parts: shape rules, cost, and reverse mode.
 *
 * Reverse mode of a scan is another scan, running the other way: its carry is
 * the gradient of the carried state, its sequences are the carries saved
 * before each forward step, the forward sequences and the gradients of the
 * per-step results, and it accumulates the gradients of the captures. Its
 * body recomputes one forward step from the saved carry and differentiates
 * it (ad_vjp), so the only per-step values kept are the carries: memory
 * O(T * state), and the forward body's intermediates never outlive a step. */
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "ops_impl.h"
#include "ops_scan.h"

scan_info scan_info_of(const ir_node *n) {
    const ir_attrs_scan *a = &n->a.scan;
    scan_info s = {(int)a->body, (int)a->carries, (int)a->sequences, (int)a->results, (int)a->sums, 0, (int)a->reverse};
    s.ncap = n->nin - s.nc - s.ns;
    return s;
}

/* [N, ...] with the sequence length inserted at axis 1. */
static ir_shape with_time(const ir_shape *s, ir_dim t) {
    ir_shape r = {.rank = s->rank + 1};
    r.d[0] = s->d[0];
    r.d[1] = t;
    for (int i = 1; i < s->rank; i++) r.d[i + 1] = s->d[i];
    return r;
}

int scan_part_shape(const ir_module *m, const ir_node *scan, int p, ir_shape *out) {
    scan_info si = scan_info_of(scan);
    if (!m || si.body < 0 || si.body >= m->n_bodies || si.ns < 1) return 0;
    const ir_graph *b = m->bodies[si.body];
    ir_dim t = scan->in[si.nc]->shape.d[1];
    if (p < si.nc) *out = b->outputs[p].node->shape;
    else if (p < si.nc + si.ny) *out = with_time(&b->outputs[p].node->shape, t);
    else if (p < 2 * si.nc + si.ny) *out = with_time(&scan->in[p - si.nc - si.ny]->shape, t);
    else if (p < 2 * si.nc + si.ny + si.na) *out = b->outputs[p - si.nc].node->shape;
    else return 0;
    return 1;
}

int op_shape_scan(ir_node *n, char *err, int errlen) {
    scan_info si = scan_info_of(n);
    if (si.nc < 0 || si.ns < 1 || si.ny < 0 || si.na < 0 || si.ncap < 0)
        return ops_fail(err, errlen, "scan: needs at least one sequence (carries %d, sequences %d, inputs %d)", si.nc,
                        si.ns, n->nin);
    const ir_node *s0 = n->in[si.nc];
    char b[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    for (int k = si.nc; k < si.nc + si.ns; k++) {
        const ir_node *x = n->in[k];
        if (x->shape.rank < 2)
            return ops_fail(err, errlen, "scan: a sequence must be at least [N, T], got %s\nhint: the loop runs over "
                            "axis 1", ops_type(b, x));
        if (!ir_dim_eq(x->shape.d[0], s0->shape.d[0]) || !ir_dim_eq(x->shape.d[1], s0->shape.d[1]))
            return ops_fail(err, errlen, "scan: the sequences must agree in their first two dimensions, got %s and %s",
                            ops_type(b, s0), ops_type(b2, x));
    }
    n->dtype = IR_F32;
    n->shape = (ir_shape){.rank = 1, .d = {ir_dim_const(1)}};
    return 1;
}

int op_shape_scan_part(ir_node *n, char *err, int errlen) {
    if (n->in[0]->op != OP_scan) return ops_fail(err, errlen, "scan_part: its input must be a scan");
    if (!ir_attrs_get_shape(&n->a, 1, &n->shape)) return ops_fail(err, errlen, "scan_part: malformed shape attribute");
    n->dtype = IR_F32;
    return 1;
}

double op_flops_scan(const ir_node *n, const int64_t *sv) {
    scan_info si = scan_info_of(n);
    double steps = (double)ir_dim_eval(n->in[si.nc]->shape.d[1], sv);
    return steps * (n->a.scan.flops0 + n->a.scan.flops_n * (double)sv[IR_SYM_N]);
}

double op_flops_scan_part(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }

/* FLOPs of one run of body at batch size nb. */
static double body_flops(const ir_graph *b, int64_t nb) {
    int64_t sv[IR_MAX_SYMS];
    for (int i = 0; i < IR_MAX_SYMS; i++) sv[i] = 1;
    sv[IR_SYM_N] = nb;
    double f = 0;
    for (int i = 0; i < b->n_nodes; i++) f += ir_ops[b->nodes[i]->op].flops(b->nodes[i], sv);
    return f;
}

ir_node *scan_build(ir_graph *g, int body, ir_node *const *ins, int nin, int nc, int ns, int ny, int na, int reverse) {
    const ir_graph *b = g->mod->bodies[body];
    double f0 = body_flops(b, 0), f1 = body_flops(b, 1);
    ir_attrs a = {.scan = {.body = body, .carries = nc, .sequences = ns, .results = ny, .reverse = reverse, .sums = na,
                           .flops0 = f0, .flops_n = f1 - f0},
                  .ni = 6, .nf = 2};
    return ir_op_attrs(g, OP_scan, ins, nin, &a);
}

ir_node *scan_part(ir_graph *g, ir_node *scan, int p) {
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *q = g->nodes[i];
        if (q->op == OP_scan_part && q->in[0] == scan && q->a.scan_part.part == p) return q;
    }
    ir_shape s;
    if (!scan_part_shape(g->mod, scan, p, &s)) return NULL;
    ir_attrs a = {.scan_part = {.part = p}};
    ir_attrs_set_shape(&a, 1, &s);
    ir_node *r = ir_op_attrs(g, OP_scan_part, &scan, 1, &a);
    r->loc = scan->loc, r->site = scan->site, r->site_block = scan->site_block;
    return r;
}

/* A part's gradient reaches its scan through a token, so the scan's VJP runs
 * once, after every part's gradient is complete (parts follow their scan). */
void op_vjp_scan_part(ad_ctx *c, ir_node *n, ir_node *gy) {
    (void)gy;
    if (!c->grad[n->in[0]->id]) ad_accum(c, n->in[0], ir_const(c->g, 0.0, &n->in[0]->shape));
}

/* Copies body's node n into bb, its inputs through map (by body node id). */
static ir_node *clone_node(ir_graph *bb, const ir_node *n, ir_node **map) {
    ir_node *in[IR_MAX_LOOP_IN];
    for (int k = 0; k < n->nin; k++) in[k] = map[n->in[k]->id];
    ir_node *r = ir_op_attrs(bb, n->op, in, n->nin, &n->a);
    r->loc = n->loc, r->site = n->site, r->site_block = n->site_block, r->grad_of = n->grad_of;
    r->name = n->name;
    return r;
}

/* The leaves of a sum (adds of equal shapes), at most 8 (more: returns 9). */
static int collect_terms(ir_node *x, ir_node **out, int n) {
    if (n > 8) return n;
    if (x->op == OP_add && ir_shape_eq(&x->in[0]->shape, &x->shape) && ir_shape_eq(&x->in[1]->shape, &x->shape))
        return collect_terms(x->in[1], out, collect_terms(x->in[0], out, n));
    if (n < 8) out[n] = x;
    return n + 1;
}

/* A term of a capture's gradient that a loop can leave to after it. */
typedef struct hoisted {
    int j;              /* the capture (index into wrt) */
    ir_node *a, *b;     /* a^T b, or the batch sum of a when b is NULL */
    int ya, yb;         /* their positions among the body's stacked results, or -1 ... */
    ir_node *sa, *sb;   /* ... when the outer graph has them stacked already (a sequence the body reads) */
} hoisted;

static int per_sample(const ir_node *x) {
    return x->shape.rank >= 1 && x->shape.d[0].syms == 1u << IR_SYM_N && x->shape.d[0].k == 1 && x->dtype == IR_F32;
}

static int hoistable(ir_node *t, hoisted *h) {
    *h = (hoisted){0};
    if (t->op == OP_matmul && t->a.matmul.ta && !t->a.matmul.tb && t->in[0]->shape.rank == 2 && t->in[1]->shape.rank == 2 &&
        per_sample(t->in[0]) && per_sample(t->in[1])) {
        h->a = t->in[0], h->b = t->in[1];
        return 1;
    }
    if (t->op == OP_reduce_sum && t->a.reduce.axes == 1 && !t->a.reduce.keepdims && per_sample(t->in[0])) {
        h->a = t->in[0];
        return 1;
    }
    return 0;
}

/* [N, T, ...] as [N*T, ...]. */
static ir_node *flatten_steps(ir_graph *g, ir_node *x) {
    ir_shape s = {.rank = x->shape.rank - 1};
    s.d[0] = ir_dim_mul(x->shape.d[0], x->shape.d[1]);
    for (int i = 2; i < x->shape.rank; i++) s.d[i - 1] = x->shape.d[i];
    return ir_reshape(g, x, &s);
}

/* Instead of recomputing a step's values in the backward body, the forward
 * loop can stack them as extra results: every value of the forward body the
 * backward part reads (an activation's output, a product's operands) that
 * changes from step to step. Those clones in bb become sequence inputs (in
 * place, so bb's order stays valid; its recomputation of them dies in DCE),
 * the forward body yields the originals, and the forward scan's result count
 * grows. Skipped (0) when the inputs would not fit a node. Returns how many
 * values are saved. */
static int save_forward_values(ir_node *scan, ir_graph *fb, ir_graph *bb, ir_node **map, int first_clone,
                               int first_bwd, int nin_before) {
    ir_node *orig_of_clone[IR_MAX_LOOP_IN];
    ir_node *clone[IR_MAX_LOOP_IN];
    int ns = 0;
    unsigned char *varies = calloc((size_t)(bb->next_id > 0 ? bb->next_id : 1), 1);
    unsigned char *chosen = calloc((size_t)(bb->next_id > 0 ? bb->next_id : 1), 1);
    if (!varies || !chosen) abort();
    /* a clone varies when it reads a carry, a slice or another varying clone */
    scan_info si = scan_info_of(scan);
    for (int k = 0; k < si.nc + si.ns; k++) varies[map[fb->inputs[k].node->id]->id] = 1;
    for (int i = first_clone; i < first_bwd; i++) {
        ir_node *x = bb->nodes[i];
        for (int k = 0; k < x->nin; k++) varies[x->id] |= varies[x->in[k]->id];
    }
    int too_many = 0;
    for (int i = first_bwd; i < bb->n_nodes && !too_many; i++) {
        ir_node *b = bb->nodes[i];
        for (int k = 0; k < b->nin; k++) {
            ir_node *x = b->in[k];
            int pos = -1;
            for (int q = first_clone; q < first_bwd && pos < 0; q++)
                if (bb->nodes[q] == x) pos = q;
            if (pos < 0 || !varies[x->id] || chosen[x->id] || x->dtype != IR_F32) continue;
            if (ns >= IR_MAX_LOOP_IN || nin_before + ns + 1 > IR_MAX_LOOP_IN) { too_many = 1; break; }
            chosen[x->id] = 1;
            clone[ns++] = x;
        }
    }
    free(varies);
    free(chosen);
    if (too_many || ns == 0) return 0;
    /* the originals: clone ids back to forward nodes */
    for (int j = 0; j < ns; j++) {
        orig_of_clone[j] = NULL;
        for (int i = 0; i < fb->n_nodes && !orig_of_clone[j]; i++)
            if (fb->nodes[i]->op != OP_input && map[fb->nodes[i]->id] == clone[j]) orig_of_clone[j] = fb->nodes[i];
        if (!orig_of_clone[j]) abort();
    }
    /* the forward body yields them (after its own results; it has no sums) */
    for (int j = 0; j < ns; j++) ir_add_output(fb, IR_OUT_VALUE, 0, "saved", orig_of_clone[j]);
    scan->a.scan.results += ns;
    /* bb: each clone becomes an input among the sequences, before the captures */
    int first_cap = bb->n_inputs - si.ncap;
    ir_input *old = bb->inputs;
    int n_old = bb->n_inputs;
    bb->inputs = NULL, bb->n_inputs = bb->cap_inputs = 0;
    for (int k = 0; k < n_old + ns; k++) {
        ir_input rec;
        if (k < first_cap) rec = old[k];
        else if (k < first_cap + ns) {
            ir_node *x = clone[k - first_cap];
            x->op = OP_input, x->nin = 0, x->a = (ir_attrs){0}, x->a.ni = 1;
            x->name = "saved";
            rec = (ir_input){.name = x->name, .dtype = x->dtype, .shape = x->shape, .node = x};
        } else rec = old[k - ns];
        rec.node->a.input.index = k;
        ARENA_PUSH(bb->ar, bb->inputs, bb->n_inputs, bb->cap_inputs, rec);
    }
    return ns;
}

void op_vjp_scan(ad_ctx *c, ir_node *n, ir_node *gy) {
    (void)gy;
    ir_graph *g = c->g;
    ir_module *m = g->mod;
    scan_info si = scan_info_of(n);
    ir_graph *fb = m->bodies[si.body];
    ir_node *gfin[IR_MAX_LOOP_IN] = {0}, *gys[IR_MAX_LOOP_IN] = {0};
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *q = g->nodes[i];
        if (q->op != OP_scan_part || q->in[0] != n || q->id >= c->n_grad) continue;
        int p = (int)q->a.scan_part.part;
        if (p < si.nc) gfin[p] = c->grad[q->id];
        else if (p < si.nc + si.ny) gys[p - si.nc] = c->grad[q->id];
        /* the saved carries and the accumulations are not differentiated (no second order) */
    }

    /* The backward body: inputs [gradient of the carry after the step (nc)]
     * [the carry before it (nc), the step's slices (ns), the gradients of its
     * results (ny)][captures]; outputs [gradient of the carry before the step]
     * [gradient of each f32 slice wanted][gradient of each capture wanted]. */
    ir_graph *bb = ir_graph_new(m, arena_printf(m->ar, "%s.grad", fb->name), fb->mode);
    int nbody = ir_module_add_body(m, bb);
    ir_node **map = calloc((size_t)(fb->next_id > 0 ? fb->next_id : 1), sizeof *map);
    if (!map) abort();
    ir_node *gc_in[IR_MAX_LOOP_IN], *fwd_in[IR_MAX_LOOP_IN], *gy_in[IR_MAX_LOOP_IN];
    for (int k = 0; k < si.nc; k++) {
        const ir_input *fi = &fb->inputs[k];
        gc_in[k] = ir_input_node(bb, arena_printf(m->ar, "d_%s", fi->name), IR_F32, &fi->shape, n->loc);
    }
    for (int k = 0; k < si.nc + si.ns; k++) {
        const ir_input *fi = &fb->inputs[k];
        map[fi->node->id] = fwd_in[k] = ir_input_node(bb, fi->name, fi->dtype, &fi->shape, n->loc);
    }
    for (int j = 0; j < si.ny; j++) {
        const ir_node *yo = fb->outputs[si.nc + j].node;
        gy_in[j] = ir_input_node(bb, arena_printf(m->ar, "d_%s", fb->outputs[si.nc + j].name), IR_F32, &yo->shape,
                                 n->loc);
    }
    for (int k = si.nc + si.ns; k < fb->n_inputs; k++) {
        const ir_input *fi = &fb->inputs[k];
        map[fi->node->id] = fwd_in[k] = ir_input_node(bb, fi->name, fi->dtype, &fi->shape, n->loc);
    }
    int first_clone = bb->n_nodes;
    for (int i = 0; i < fb->n_nodes; i++)
        if (fb->nodes[i]->op != OP_input) map[fb->nodes[i]->id] = clone_node(bb, fb->nodes[i], map);
    int first_bwd = bb->n_nodes;

    /* seeds: the new carries and the per-step results (accumulations of a
     * forward body do not occur: only reverse bodies accumulate) */
    ir_node *ys[2 * IR_MAX_LOOP_IN], *seeds[2 * IR_MAX_LOOP_IN];
    int n_ys = 0;
    for (int k = 0; k < si.nc; k++) ys[n_ys] = map[fb->outputs[k].node->id], seeds[n_ys++] = gc_in[k];
    for (int j = 0; j < si.ny; j++) ys[n_ys] = map[fb->outputs[si.nc + j].node->id], seeds[n_ys++] = gy_in[j];
    /* what needs a gradient: every carry (it flows on to the previous step),
     * and the sequences and captures the outer graph wants */
    int wanted_in[IR_MAX_LOOP_IN], n_wrt = 0;
    ir_node *wrt[IR_MAX_LOOP_IN], *grads[IR_MAX_LOOP_IN];
    for (int k = 0; k < n->nin; k++)
        if (k < si.nc || (fwd_in[k]->dtype == IR_F32 && ad_wants(c, n->in[k]))) wanted_in[n_wrt] = k, wrt[n_wrt++] = fwd_in[k];
    if (ad_vjp(bb, ys, seeds, n_ys, wrt, n_wrt, grads, NULL) != 0) abort(); /* the forward body was differentiable */
    int nsaved = save_forward_values(n, fb, bb, map, first_clone, first_bwd, 2 * si.nc + si.ns + si.ny + si.ncap);
    free(map);
    si.ny = (int)n->a.scan.results - nsaved; /* the forward's own results (the scan now also yields the saved values) */

    /* A capture's gradient is a sum over the steps. Its terms of the form
     * a_t^T b_t (a weight reached by a matrix product) or a sum of a_t over
     * the batch (a bias) need not run per step: the body yields a_t (and
     * b_t), and after the loop ONE product of the stacked [N*T, ...] values
     * (or one sum) gives the whole term — a long GEMM instead of T thin ones. */
    ir_node *term[IR_MAX_LOOP_IN][8];
    int nterm[IR_MAX_LOOP_IN] = {0};
    hoisted hs[IR_MAX_LOOP_IN * 4];
    int nh = 0;
    for (int j = 0; j < n_wrt; j++) {
        if (wanted_in[j] < si.nc + si.ns || !grads[j]) continue;
        ir_node *all[8];
        int na = collect_terms(grads[j], all, 0);
        for (int t = 0; t < na; t++) {
            hoisted h;
            if (na <= 8 && nh < (int)(sizeof hs / sizeof *hs) && hoistable(all[t], &h)) h.j = j, hs[nh++] = h;
            else if (nterm[j] < 8) term[j][nterm[j]++] = all[t];
        }
        if (na > 8) nterm[j] = -1; /* too many terms: keep the gradient whole */
    }

    int nseq_g = 0, ncap_g = 0, ny_b = 0;
    for (int j = 0; j < n_wrt; j++) { /* the new carries, then the slices' gradients */
        int k = wanted_in[j];
        if (k >= si.nc + si.ns) continue;
        ir_node *gk = grads[j] ? grads[j] : ir_const(bb, 0.0, &wrt[j]->shape);
        ir_add_output(bb, IR_OUT_VALUE, 0, arena_printf(m->ar, "d_%s", fwd_in[k]->name), gk);
        nseq_g += k >= si.nc;
    }
    for (int h = 0; h < nh; h++) { /* the hoisted terms' factors, stacked */
        ir_node **v[2] = {&hs[h].a, &hs[h].b}, **sv[2] = {&hs[h].sa, &hs[h].sb};
        int *y[2] = {&hs[h].ya, &hs[h].yb};
        for (int f = 0; f < 2; f++) {
            *y[f] = -1;
            if (!*v[f]) continue;
            for (int k = 0; k < si.nc + si.ns && !*sv[f]; k++) /* the saved carries and the forward sequences */
                if (*v[f] == fwd_in[k]) *sv[f] = k < si.nc ? scan_part(g, n, si.nc + (int)n->a.scan.results + k) : n->in[k];
            for (int j = 0; j < si.ny && !*sv[f]; j++) /* the gradients of the forward results */
                if (*v[f] == gy_in[j]) *sv[f] = gys[j];
            if (*sv[f]) continue;
            for (int o = si.nc; o < bb->n_outputs && *y[f] < 0; o++) /* already a result (the gates' gradient) */
                if (bb->outputs[o].node == *v[f]) *y[f] = o;
            if (*y[f] >= 0) continue;
            *y[f] = si.nc + nseq_g + ny_b++;
            ir_add_output(bb, IR_OUT_VALUE, 0, "hoisted", *v[f]);
        }
    }
    int acc_of[IR_MAX_LOOP_IN];
    for (int j = 0; j < n_wrt; j++) { /* what stays a per-step sum */
        acc_of[j] = -1;
        int k = wanted_in[j];
        if (k < si.nc + si.ns || !grads[j] || nterm[j] == 0) continue;
        ir_node *gk = grads[j];
        if (nterm[j] > 0) {
            gk = term[j][0];
            for (int t = 1; t < nterm[j]; t++) gk = ir_bin(bb, OP_add, gk, term[j][t]);
        }
        acc_of[j] = ncap_g++;
        ir_add_output(bb, IR_OUT_VALUE, 0, arena_printf(m->ar, "d_%s", fwd_in[k]->name), gk);
    }

    /* The reverse loop in the outer graph. */
    ir_node *ins[IR_MAX_LOOP_IN];
    int nin = 0;
    for (int k = 0; k < si.nc; k++)
        ins[nin++] = gfin[k] ? gfin[k] : ir_const(g, 0.0, &n->in[k]->shape);
    for (int k = 0; k < si.nc; k++) ins[nin++] = scan_part(g, n, si.nc + (int)n->a.scan.results + k);
    for (int k = 0; k < si.ns; k++) ins[nin++] = n->in[si.nc + k];
    for (int j = 0; j < si.ny; j++) {
        ir_shape ys_shape;
        scan_part_shape(m, n, si.nc + j, &ys_shape);
        ins[nin++] = gys[j] ? gys[j] : ir_const(g, 0.0, &ys_shape);
    }
    for (int k = 0; k < nsaved; k++) ins[nin++] = scan_part(g, n, si.nc + si.ny + k);
    for (int k = si.nc + si.ns; k < n->nin; k++) ins[nin++] = n->in[k];
    if (nin > IR_MAX_LOOP_IN) abort(); /* elaboration keeps 2*nc + ns + ny + captures within IR_MAX_LOOP_IN */
    ir_node *r = scan_build(g, nbody, ins, nin, si.nc, si.nc + si.ns + si.ny + nsaved, nseq_g + ny_b, ncap_g, !si.reverse);
    for (int j = 0, ys_at = 0; j < n_wrt; j++) {
        int k = wanted_in[j];
        if (k < si.nc) ad_accum(c, n->in[k], scan_part(g, r, k));
        else if (k < si.nc + si.ns) ad_accum(c, n->in[k], scan_part(g, r, si.nc + ys_at++));
        else if (acc_of[j] >= 0) ad_accum(c, n->in[k], scan_part(g, r, 2 * si.nc + nseq_g + ny_b + acc_of[j]));
    }
    for (int h = 0; h < nh; h++) {
        ir_node *a = flatten_steps(g, hs[h].sa ? hs[h].sa : scan_part(g, r, hs[h].ya));
        ir_node *t = !hs[h].b ? ir_reduce_sum(g, a, 1u, 0)
                              : ir_matmul(g, a, flatten_steps(g, hs[h].sb ? hs[h].sb : scan_part(g, r, hs[h].yb)), 1, 0);
        ad_accum(c, n->in[wanted_in[hs[h].j]], t);
    }
}
