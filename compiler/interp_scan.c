/* interp_scan.c — the reference loop: runs the body graph with interp_run
 * once per step, slicing the sequences and stacking the results with plain
 * index arithmetic. A scan's parts are computed together and kept in
 * s->extra[scan id], one after another; each OP_scan_part copies its own. */
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "ops_scan.h"

static int64_t shape_numel(const ir_shape *sh, const int64_t *sv) { return ir_dim_eval(ir_shape_numel(sh), sv); }

static int run_loop(const interp_state *s, const ir_node *n, double *y) {
    const ir_module *m = s->g->mod;
    scan_info si = scan_info_of(n);
    const ir_graph *b = m->bodies[si.body];
    const int64_t *sv = s->sym_values;
    const int64_t nb = ir_dim_eval(n->in[si.nc]->shape.d[0], sv), T = ir_dim_eval(n->in[si.nc]->shape.d[1], sv);
    int nparts = 2 * si.nc + si.ny + si.na;
    int64_t part_at[4 * IR_MAX_LOOP_IN + 1], part_len[4 * IR_MAX_LOOP_IN];
    part_at[0] = 0;
    for (int p = 0; p < nparts; p++) {
        ir_shape ps;
        scan_part_shape(m, n, p, &ps);
        part_len[p] = shape_numel(&ps, sv);
        part_at[p + 1] = part_at[p] + part_len[p];
    }
    double *out = calloc((size_t)(part_at[nparts] + 1), sizeof *out);
    double *in[IR_MAX_LOOP_IN];
    int64_t in_len[IR_MAX_LOOP_IN];
    if (!out) return -1;
    for (int k = 0; k < n->nin; k++) {
        /* a sequence is seen one step at a time, everything else whole */
        in_len[k] = shape_numel(&b->inputs[k].shape, sv);
        in[k] = calloc((size_t)(in_len[k] + 1), sizeof(double));
        if (k < si.nc || k >= si.nc + si.ns) memcpy(in[k], s->value[n->in[k]->id], sizeof(double) * (size_t)in_len[k]);
    }
    y[0] = 0;
    int rc = 0;
    for (int64_t step = 0; step < T && rc == 0; step++) {
        const int64_t t = si.reverse ? T - 1 - step : step;
        for (int k = si.nc; k < si.nc + si.ns; k++) { /* x[:, t] */
            const int64_t r = in_len[k] / (nb ? nb : 1);
            for (int64_t i = 0; i < nb; i++)
                memcpy(in[k] + i * r, s->value[n->in[k]->id] + (i * T + t) * r, sizeof(double) * (size_t)r);
        }
        for (int k = 0; k < si.nc; k++) { /* the carry before the step, saved */
            const int64_t r = in_len[k] / (nb ? nb : 1);
            double *h = out + part_at[si.nc + si.ny + k];
            for (int64_t i = 0; i < nb; i++) memcpy(h + (i * T + t) * r, in[k] + i * r, sizeof(double) * (size_t)r);
        }
        interp_state bs;
        if (interp_run(&bs, b, sv, in, s->params, s->seed) != 0) {
            interp_free(&bs);
            rc = -1;
            break;
        }
        for (int k = 0; k < si.nc; k++) memcpy(in[k], interp_output(&bs, k), sizeof(double) * (size_t)in_len[k]);
        for (int j = 0; j < si.ny; j++) {
            const double *v = interp_output(&bs, si.nc + j);
            const int64_t r = nb > 0 && T > 0 ? part_len[si.nc + j] / (nb * T) : 0;
            double *ys = out + part_at[si.nc + j];
            for (int64_t i = 0; i < nb; i++) memcpy(ys + (i * T + t) * r, v + i * r, sizeof(double) * (size_t)r);
        }
        for (int a = 0; a < si.na; a++) {
            const double *v = interp_output(&bs, si.nc + si.ny + a);
            double *acc = out + part_at[2 * si.nc + si.ny + a];
            for (int64_t i = 0; i < part_len[2 * si.nc + si.ny + a]; i++) acc[i] += v[i];
        }
        interp_free(&bs);
    }
    for (int k = 0; k < si.nc; k++) memcpy(out + part_at[k], in[k], sizeof(double) * (size_t)in_len[k]);
    for (int k = 0; k < n->nin; k++) free(in[k]);
    s->extra[n->id] = out;
    return rc;
}

static int run_part(const interp_state *s, const ir_node *n, double *y) {
    const ir_node *scan = n->in[0];
    const double *all = s->extra[scan->id];
    if (!all) return -1;
    int64_t at = 0;
    for (int p = 0; p < n->a.scan_part.part; p++) {
        ir_shape ps;
        scan_part_shape(s->g->mod, scan, p, &ps);
        at += shape_numel(&ps, s->sym_values);
    }
    memcpy(y, all + at, sizeof(double) * (size_t)interp_numel(s, n));
    return 0;
}

int interp_scan(const interp_state *s, const ir_node *n, double *y) {
    return n->op == OP_scan ? run_loop(s, n, y) : run_part(s, n, y);
}
