/* emit_scan.c — a scan (ops_scan.h) as C: one function for its body, one
 * for its loop, each written once however long the sequence is.
 *
 *   <prefix>_scan<b>_body(n, mb, wn, wc, seed, in, out)   one step: the body
 *       graph's kernels, in the same style as a step function's;
 *   <prefix>_scan<b>(n, T, mb, wn, wc, seed, in, part)    the loop: copies the
 *       carries in, and per step gathers x[:, t] of each sequence, saves the
 *       carry when asked, runs the body, takes the new carries, scatters the
 *       per-step results into [N, T, ...] and adds the accumulated ones.
 *
 * Memory: each body owns a region at the end of the activation arena (its
 * own plan, then its loop's buffers: the carries, the step's slices and the
 * body's results), reserved by emit_scan_layout for every body of the
 * module, so loops nested in loops never share a byte. A part the graph
 * does not use is passed as NULL and not written. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"
#include "ops_scan.h"
#include "passes.h"

static int64_t units_of(const ir_shape *s, int *is_n) {
    ir_dim d = ir_shape_numel(s);
    *is_n = d.syms != 0;
    return d.syms ? d.k : (d.k + 15) / 16 * 16;
}

/* The scan node running body b, in any graph of m (NULL if passes dropped it). */
static const ir_node *scan_of_body(const ir_module *m, int b) {
    const ir_graph *gs[3] = {m->forward, m->eval_step, m->train_step};
    for (int k = 0; k < 3 + m->n_bodies; k++) {
        const ir_graph *g = k < 3 ? gs[k] : m->bodies[k - 3];
        for (int i = 0; g && i < g->n_nodes; i++)
            if (g->nodes[i]->op == OP_scan && g->nodes[i]->a.i[0] == b) return g->nodes[i];
    }
    return NULL;
}

/* Where buffer k of body b's loop lives: the carries and the sequence slices
 * (k < nc + ns) then the body's outputs; offsets within the body's region,
 * after its planned arena. Returns the region's size per class. */
static void loop_buffers(const ir_graph *body, const scan_info *si, int64_t *off, int *is_n, int64_t *size_n,
                         int64_t *size_c) {
    int64_t an = plan_class_size(body, 1u << IR_SYM_N), ac = plan_class_size(body, 0);
    int nbuf = si->nc + si->ns + body->n_outputs;
    for (int k = 0; k < nbuf; k++) {
        const ir_shape *s = k < si->nc + si->ns ? &body->inputs[k].shape : &body->outputs[k - si->nc - si->ns].node->shape;
        int64_t u = units_of(s, &is_n[k]);
        if (is_n[k]) off[k] = an, an += u;
        else off[k] = ac, ac += u;
    }
    *size_n = an, *size_c = ac;
}

void emit_scan_layout(const ir_module *m, int64_t *act_n, int64_t *act_c, emit_scan_regions *r) {
    r->base_n = arena_alloc(m->ar, sizeof(int64_t) * (size_t)(m->n_bodies + 1));
    r->base_c = arena_alloc(m->ar, sizeof(int64_t) * (size_t)(m->n_bodies + 1));
    for (int b = 0; b < m->n_bodies; b++) {
        const ir_node *s = scan_of_body(m, b);
        r->base_n[b] = *act_n, r->base_c[b] = *act_c;
        if (!s) continue;
        scan_info si = scan_info_of(s);
        int64_t off[4 * IR_MAX_LOOP_IN], sn, sc;
        int is_n[4 * IR_MAX_LOOP_IN];
        loop_buffers(m->bodies[b], &si, off, is_n, &sn, &sc);
        *act_n += sn, *act_c += sc;
    }
    r->wn = r->wc = NULL; /* the caller knows how its model addresses the two classes */
}

/* Where a body's value lives: wn (the batch-sized class, in units of mb =
 * max_batch) or wc (the constant-size class), both passed down from the
 * step function, which knows the model's arena layout. */
static const char *region_ptr(emit_ctx *c, int b, int is_n, int64_t off) {
    const emit_scan_regions *r = c->scan_regions;
    if (is_n) return arena_printf(c->ar, "wn + %" PRId64 " * mb", r->base_n[b] + off);
    return arena_printf(c->ar, "wc + %" PRId64, r->base_c[b] + off);
}

static const char *ctype(const ir_node *n) { return n->dtype == IR_I32 ? "int32_t" : "float"; }

/* The body function of scan n (body b). */
static int emit_body(emit_ctx *c, const ir_node *scan, int b, const char *fname) {
    const ir_graph *body = c->mod->bodies[scan->a.i[0]];
    emit_ctx bc = *c;
    bc.g = body;
    bc.kernel_prefix = fname;
    bc.check_during = NULL;
    bc.fail_return = "return -1;"; /* a kernel's run-time check failed (an index out of range): the loop stops */
    bc.in_body = 1;
    bc.profile = 0; /* the scan's call is timed whole (emit_profile.c) */
    bc.graph_uses_seed = 0;
    bc.groups = (emit_lists){0};
    bc.siblings = (emit_lists){0};
    char *calls = NULL;
    size_t lcalls = 0;
    bc.calls = open_memstream(&calls, &lcalls);
    int errors = c->d->n_errors;
    for (int i = 0; i < body->n_nodes; i++) {
        const ir_node *n = body->nodes[i];
        if (n->op == OP_scan) {
            emit_scan_loop(&bc, n);
            continue;
        }
        if (n->storage != IR_STORE_ARENA && n->storage != IR_STORE_OUTPUT) continue;
        if (n->op == OP_scan_part) continue;
        emit_kernel(&bc, n);
    }
    for (int k = 0; k < body->n_outputs; k++) {
        const ir_node *n = body->outputs[k].node;
        if (n->storage == IR_STORE_OUTPUT && n->offset == k) continue;
        fprintf(bc.calls, "    memcpy(out[%d], %s, (size_t)%s * sizeof(float));\n", k, emit_value_name(&bc, n),
                emit_numel(&bc, &n->shape));
    }
    fclose(bc.calls);
    c->graph_uses_seed |= bc.graph_uses_seed;

    fprintf(c->defs, "/* %s:%d:%d one step of the scan: graph %s */\n", scan->loc.file ? scan->loc.file : "?",
            scan->loc.line, scan->loc.col, body->name);
    fprintf(c->defs, "static int %s_body(int64_t n, int64_t mb, float *wn, float *wc, uint64_t seed, "
                     "const void *const *in, void *const *out)\n{\n", fname);
    fprintf(c->defs, "    (void)n, (void)mb, (void)wn, (void)wc, (void)seed, (void)in, (void)out;\n");
    for (int k = 0; k < body->n_inputs; k++) {
        const ir_node *n = body->inputs[k].node;
        fprintf(c->defs, "    const %s *const in%d = in[%d]; /* %s */\n", ctype(n), k, k, body->inputs[k].name);
        fprintf(c->defs, "    (void)in%d;\n", k);
    }
    for (int i = 0; i < body->n_nodes; i++) {
        const ir_node *n = body->nodes[i];
        char shape[160];
        ir_shape_str(shape, sizeof shape, n->dtype, &n->shape, c->mod);
        if (n->storage == IR_STORE_ARENA && n->op != OP_scan) {
            ir_dim sz = ir_shape_numel(&n->shape);
            if (sz.syms & ~(1u << IR_SYM_N))
                diag_error(c->d, n->loc, "a scan body may use only the batch symbol N in its shapes, got %s", shape);
            const char *at = region_ptr(c, b, sz.syms != 0, n->offset);
            if (n->dtype == IR_I32) fprintf(c->defs, "    int32_t *const t%d = (int32_t *)(%s);", n->id, at);
            else fprintf(c->defs, "    float *const t%d = %s;", n->id, at);
            fprintf(c->defs, " /* %s %s */\n", shape, ir_ops[n->op].name);
        } else if (n->storage == IR_STORE_OUTPUT) {
            fprintf(c->defs, "    float *const t%d = out[%lld]; /* %s %s, written in place */\n", n->id,
                    (long long)n->offset, shape, ir_ops[n->op].name);
        }
    }
    fputs(calls, c->defs);
    free(calls);
    fprintf(c->defs, "    return 0;\n}\n\n");
    return c->d->n_errors > errors ? -1 : 0;
}

int emit_scan_loop(emit_ctx *c, const ir_node *n) {
    const ir_module *m = c->mod;
    scan_info si = scan_info_of(n);
    const ir_graph *body = m->bodies[si.body];
    const char *fname = arena_printf(c->ar, "%s_scan%d", c->prefix, si.body);
    if (emit_body(c, n, si.body, fname) != 0) return -1;
    int64_t off[4 * IR_MAX_LOOP_IN], sn, sc;
    int is_n[4 * IR_MAX_LOOP_IN];
    loop_buffers(body, &si, off, is_n, &sn, &sc);
    const ir_node *s0 = n->in[si.nc];
    const int nparts = 2 * si.nc + si.ny + si.na, nout = body->n_outputs;
    FILE *d = c->defs;

    /* per-sample sizes (elements) of every buffer the loop moves */
    int64_t in_r[IR_MAX_LOOP_IN], out_r[2 * IR_MAX_LOOP_IN];
    for (int k = 0; k < si.nc + si.ns; k++) in_r[k] = ir_shape_numel(&body->inputs[k].shape).k;
    for (int k = 0; k < nout; k++) out_r[k] = ir_shape_numel(&body->outputs[k].node->shape).k;

    emit_origin(d, n);
    fprintf(d, "scan over axis 1 of %d sequence%s carrying %d state%s%s */\n", si.ns, si.ns == 1 ? "" : "s", si.nc,
            si.nc == 1 ? "" : "s", si.reverse ? ", last step first" : "");
    fprintf(d, "static int %s(int64_t n, int64_t T, int64_t mb, float *wn, float *wc, uint64_t seed, "
               "const void *const *in, float *const *part)\n{\n", fname);
    for (int k = 0; k < si.nc + si.ns; k++)
        fprintf(d, "    float *const s%d = %s; /* %s */\n", k, region_ptr(c, si.body, is_n[k], off[k]),
                body->inputs[k].name);
    for (int k = 0; k < nout; k++)
        fprintf(d, "    float *const o%d = %s; /* %s */\n", k, region_ptr(c, si.body, is_n[si.nc + si.ns + k],
                                                                      off[si.nc + si.ns + k]), body->outputs[k].name);
    fprintf(d, "    const void *const bin[] = {");
    for (int k = 0; k < n->nin; k++) {
        if (k < si.nc + si.ns) fprintf(d, "%ss%d", k ? ", " : "", k);
        else fprintf(d, "%sin[%d]", k ? ", " : "", k);
    }
    fprintf(d, "};\n    void *const bout[] = {");
    for (int k = 0; k < nout; k++) fprintf(d, "%so%d", k ? ", " : "", k);
    fprintf(d, "};\n");
    for (int k = 0; k < si.nc; k++)
        fprintf(d, "    memcpy(s%d, in[%d], sizeof(float) * (size_t)(n * %" PRId64 "));\n", k, k, in_r[k]);
    for (int a = 0; a < si.na; a++) {
        int p = 2 * si.nc + si.ny + a;
        fprintf(d, "    if (part[%d]) memset(part[%d], 0, sizeof(float) * (size_t)%s);\n", p, p,
                emit_numel(c, &body->outputs[si.nc + si.ny + a].node->shape));
    }
    fprintf(d, "    for (int64_t step = 0; step < T; step++) {\n");
    fprintf(d, "        const int64_t t = %s;\n", si.reverse ? "T - 1 - step" : "step");
    fprintf(d, "        for (int64_t i = 0; i < n; i++) {\n");
    for (int k = si.nc; k < si.nc + si.ns; k++) /* x[:, t] (4-byte elements, f32 or i32 alike) */
        fprintf(d, "            memcpy(s%d + i * %" PRId64 ", (const float *)in[%d] + (i * T + t) * %" PRId64
                   ", sizeof(float) * %" PRId64 ");\n", k, in_r[k], k, in_r[k], in_r[k]);
    for (int k = 0; k < si.nc; k++) {
        int p = si.nc + si.ny + k;
        fprintf(d, "            if (part[%d]) memcpy(part[%d] + (i * T + t) * %" PRId64 ", s%d + i * %" PRId64
                   ", sizeof(float) * %" PRId64 ");\n", p, p, in_r[k], k, in_r[k], in_r[k]);
    }
    fprintf(d, "        }\n");
    fprintf(d, "        if (%s_body(n, mb, wn, wc, seed, bin, bout) != 0) return -1;\n", fname);
    for (int k = 0; k < si.nc; k++)
        fprintf(d, "        memcpy(s%d, o%d, sizeof(float) * (size_t)(n * %" PRId64 "));\n", k, k, in_r[k]);
    for (int j = 0; j < si.ny; j++) {
        int p = si.nc + j;
        fprintf(d, "        if (part[%d])\n            for (int64_t i = 0; i < n; i++)\n", p);
        fprintf(d, "                memcpy(part[%d] + (i * T + t) * %" PRId64 ", o%d + i * %" PRId64
                   ", sizeof(float) * %" PRId64 ");\n", p, out_r[si.nc + j], si.nc + j, out_r[si.nc + j],
                out_r[si.nc + j]);
    }
    for (int a = 0; a < si.na; a++) {
        int p = 2 * si.nc + si.ny + a, o = si.nc + si.ny + a;
        fprintf(d, "        if (part[%d])\n            for (int64_t i = 0; i < %s; i++) part[%d][i] += o%d[i];\n", p,
                emit_numel(c, &body->outputs[o].node->shape), p, o);
    }
    fprintf(d, "    }\n");
    for (int k = 0; k < si.nc; k++)
        fprintf(d, "    if (part[%d]) memcpy(part[%d], s%d, sizeof(float) * (size_t)(n * %" PRId64 "));\n", k, k, k,
                in_r[k]);
    fprintf(d, "    return 0;\n}\n\n");

    /* the call */
    const char *parts[4 * IR_MAX_LOOP_IN];
    for (int p = 0; p < nparts; p++) parts[p] = "NULL";
    for (int i = 0; i < c->g->n_nodes; i++) {
        const ir_node *q = c->g->nodes[i];
        if (q->op == OP_scan_part && q->in[0] == n && q->a.i[0] < nparts) parts[q->a.i[0]] = emit_value_name(c, q);
    }
    fprintf(c->calls, "    {\n        const void *const in[] = {");
    for (int k = 0; k < n->nin; k++) fprintf(c->calls, "%s%s", k ? ", " : "", emit_value_name(c, n->in[k]));
    fprintf(c->calls, "};\n        float *const part[] = {");
    for (int p = 0; p < nparts; p++) fprintf(c->calls, "%s%s", p ? ", " : "", parts[p]);
    fprintf(c->calls, "};\n");
    if (c->in_body)
        fprintf(c->calls, "        if (%s(n, %s, mb, wn, wc, %s, in, part) != 0) %s\n    }\n", fname,
                emit_dim(c, s0->shape.d[1]), c->graph_uses_seed ? "seed" : "0", c->fail_return);
    else if (!c->profile)
        fprintf(c->calls, "        if (%s(n, %s, m->max_batch, %s, %s, %s, in, part) != 0) %s\n    }\n", fname,
                emit_dim(c, s0->shape.d[1]), c->scan_regions->wn, c->scan_regions->wc,
                c->graph_uses_seed ? "seed" : "0", c->fail_return);
    else { /* the whole loop timed as one call (its FLOPs are not counted) */
        fprintf(c->calls, "    ");
        emit_prof_call(c, n, fname, "-1.0",
                       arena_printf(c->ar, "if (%s(n, %s, m->max_batch, %s, %s, %s, in, part) != 0) %s", fname,
                                    emit_dim(c, s0->shape.d[1]), c->scan_regions->wn, c->scan_regions->wc,
                                    c->graph_uses_seed ? "seed" : "0", c->fail_return));
        fprintf(c->calls, "    }\n");
    }
    c->uses_n = 1;
    (void)sn, (void)sc;
    return 0;
}

void emit_scan(emit_ctx *c, FILE *b, const ir_node *n) {
    (void)b;
    diag_error(c->d, n->loc, "internal error: a scan is emitted as a loop (emit_scan_loop), not as a kernel");
}
