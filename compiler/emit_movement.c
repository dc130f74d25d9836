/* emit_movement.c — the C loop nests of the data-movement ops: concat,
 * slice, pad, upsample, and their adjoints (slice_grad, pad_grad,
 * upsample_grad), registered in emit_kernels.c's table.
 *
 * Each op is viewed as [outer, moved dims..., inner] with the moved dims
 * constant (the shape rules insist), so the loops have literal bounds except
 * for the batch, and contiguous runs become memcpy. The parallel loop is
 * always `outer` (samples x channels): an adjoint's scatter-adds then never
 * cross threads, because every plane of the output is owned by one
 * iteration. Upsampling computes its source indices and weights once per
 * kernel call into small tables, with the same float arithmetic as PyTorch
 * (see ops_movement.h) so results agree pixel for pixel. */
#include <string.h>

#include "emit_internal.h"
#include "ops_movement.h"

static int is_one(ir_dim d) { return d.k == 1 && d.syms == 0; }

/* The product of dims [from, to) of s. */
static ir_dim span(const ir_shape *s, int from, int to)
{
    ir_dim p = ir_dim_const(1);
    for (int k = from; k < to; k++) p = ir_dim_mul(p, s->d[k]);
    return p;
}

/* "p + a + b" without the zero terms ("0" or ""): a pointer or index expression. */
static const char *plus(emit_ctx *c, const char *p, const char *a, const char *b)
{
    const char *r = p;
    if (a && *a && strcmp(a, "0") != 0) r = *r ? arena_printf(c->ar, "%s + %s", r, a) : a;
    if (b && *b && strcmp(b, "0") != 0) r = *r ? arena_printf(c->ar, "%s + %s", r, b) : b;
    return *r ? r : "0";
}

/* "a * b" without multiplying by one. */
static const char *times(emit_ctx *c, const char *a, ir_dim b)
{
    return is_one(b) ? a : arena_printf(c->ar, "%s * %s", a, emit_dim(c, b));
}

/* The dims [from, to) of s as "28, 28". */
static const char *dims_text(emit_ctx *c, const ir_shape *s, int from, int to)
{
    const char *t = "";
    for (int k = from; k < to; k++) t = arena_printf(c->ar, "%s%s%s", t, k > from ? ", " : "", emit_dim(c, s->d[k]));
    return t;
}

/* Work per outer iteration, for emit_for's threshold (symbols count as 64). */
static int64_t work_of(ir_dim d) { return d.syms ? 64 * d.k : d.k; }

/* "o * row", or "" when outer is one: the outer part of an offset. */
static const char *outer_term(emit_ctx *c, ir_dim outer, ir_dim row)
{
    return is_one(outer) ? "" : times(c, "o", row);
}

/* Opens `for o` over outer (or nothing when outer is one); returns the indent. */
static const char *open_outer(emit_ctx *c, FILE *b, ir_dim outer, ir_dim row)
{
    if (is_one(outer)) return "    ";
    emit_for(c, b, "    ", "o", outer, work_of(row), "");
    fprintf(b, " {\n");
    return "        ";
}

static void close_outer(FILE *b, ir_dim outer)
{
    if (!is_one(outer)) fprintf(b, "    }\n");
}

/* ---- concat: each input is a slab [outer, len_k, inner] of y ---------------- */

static void emit_concat(emit_ctx *c, FILE *b, const ir_node *n)
{
    int axis = (int)n->a.concat.axis;
    ir_dim outer = span(&n->shape, 0, axis), inner = span(&n->shape, axis + 1, n->shape.rank);
    ir_dim row = ir_dim_mul(n->shape.d[axis], inner);
    fprintf(b, "    /* concat along axis %d: %d inputs, each a [%s, len, %s] slab of y */\n", axis, n->nin,
            emit_dim(c, outer), emit_dim(c, inner));
    const char *ind = open_outer(c, b, outer, row);
    int64_t at = 0;
    for (int k = 0; k < n->nin; k++) {
        ir_dim len = ir_dim_mul(n->in[k]->shape.d[axis], inner);
        const char *lens = emit_dim(c, len);
        char xk[16];
        snprintf(xk, sizeof xk, "x%d", k);
        fprintf(b, "%smemcpy(%s, %s, (size_t)%s * sizeof *y);\n", ind,
                plus(c, "y", outer_term(c, outer, row), emit_dim(c, ir_dim_mul(ir_dim_const(at), inner))),
                plus(c, xk, outer_term(c, outer, len), NULL), lens);
        at += n->in[k]->shape.d[axis].k;
    }
    close_outer(b, outer);
}

/* ---- slice: y[o, j, :] = x[o, start + j*step, :]; slice_grad scatters into zeros ---- */

static void emit_slice(emit_ctx *c, FILE *b, const ir_node *n)
{
    int grad = n->op == OP_slice_grad, axis = (int)n->a.slice.axis;
    const ir_shape *big = grad ? &n->shape : &n->in[0]->shape, *small = grad ? &n->in[0]->shape : &n->shape;
    int64_t start = n->a.slice.start, step = n->a.slice.step, len = big->d[axis].k, count = small->d[axis].k;
    ir_dim outer = span(big, 0, axis), inner = span(big, axis + 1, big->rank);
    const char *in = emit_dim(c, inner);
    const char *bigp = grad ? "y" : "x0", *smallp = grad ? "x0" : "y";
    fprintf(b, "    /* %s axis %d: positions %lld, %lld, ... (%lld of %lld), rows of %s */\n",
            grad ? "gradient of a slice: scatter into zeros along" : "slice", axis, (long long)start,
            (long long)(start + step), (long long)count, (long long)len, in);
    if (grad) fprintf(b, "    memset(y, 0, (size_t)%s * sizeof(float));\n", emit_numel(c, &n->shape));
    ir_dim brow = ir_dim_mul(ir_dim_const(len), inner), srow = ir_dim_mul(ir_dim_const(count), inner);
    const char *ind = open_outer(c, b, outer, srow);
    const char *bo = outer_term(c, outer, brow), *so = outer_term(c, outer, srow);
    if (step == 1) { /* one contiguous run per outer index */
        const char *src = plus(c, bigp, bo, emit_dim(c, ir_dim_mul(ir_dim_const(start), inner)));
        const char *dst = plus(c, smallp, so, NULL);
        fprintf(b, "%smemcpy(%s, %s, (size_t)%s * sizeof *y);\n", ind, grad ? src : dst, grad ? dst : src,
                emit_dim(c, srow));
    } else {
        fprintf(b, "%sfor (int64_t j = 0; j < %lld; j++) {\n", ind, (long long)count);
        const char *pos = start ? arena_printf(c->ar, "%lld + j * %lld", (long long)start, (long long)step)
                                : arena_printf(c->ar, "j * %lld", (long long)step);
        if (!is_one(inner)) pos = arena_printf(c->ar, "(%s) * %s", pos, in);
        fprintf(b, "%s    const int64_t bj = %s, sj = %s;\n", ind, plus(c, "", bo, pos), plus(c, "", so, times(c, "j", inner)));
        const char *dst = grad ? "bj" : "sj", *src = grad ? "sj" : "bj";
        if (is_one(inner)) fprintf(b, "%s    y[%s] = x0[%s];\n", ind, dst, src);
        else fprintf(b, "%s    for (int64_t i = 0; i < %s; i++) y[%s + i] = x0[%s + i];\n", ind, in, dst, src);
        fprintf(b, "%s}\n", ind);
    }
    close_outer(b, outer);
}

/* ---- pad: each padded coordinate maps to a source coordinate ----------------- */

static void emit_pad(emit_ctx *c, FILE *b, const ir_node *n)
{
    static const char *mode_names[] = {"constant", "reflect", "replicate"};
    int grad = n->op == OP_pad_grad, mode = (int)n->a.pad.mode, k = (int)n->a.pad.dims;
    const ir_shape *big = grad ? &n->in[0]->shape : &n->shape, *small = grad ? &n->shape : &n->in[0]->shape;
    int r = big->rank, first = r - k;
    ir_dim outer = span(big, 0, first), pn = span(big, first, r), sn = span(small, first, r);
    fprintf(b, "    /* %s%s padding of the last %d dims: [%s, %s] %s [%s, %s] */\n", grad ? "gradient of " : "",
            mode_names[mode], k, emit_dim(c, outer), dims_text(c, small, first, r), grad ? "<-" : "->",
            emit_dim(c, outer), dims_text(c, big, first, r));
    if (grad) fprintf(b, "    memset(y, 0, (size_t)%s * sizeof(float));\n", emit_numel(c, &n->shape));
    const char *ind = open_outer(c, b, outer, pn);
    const char *type = n->dtype == IR_I32 ? "int32_t" : "float"; /* token ids padded with PAD */
    fprintf(b, "%sconst %s *restrict xo = x0%s;\n", ind, type,
            is_one(outer) ? "" : arena_printf(c->ar, " + o * %s", emit_dim(c, grad ? pn : sn)));
    fprintf(b, "%s%s *restrict yo = y%s;\n", ind, type,
            is_one(outer) ? "" : arena_printf(c->ar, " + o * %s", emit_dim(c, grad ? sn : pn)));
    const char *pidx = "", *sidx = "", *inside = "";
    char indent[64];
    snprintf(indent, sizeof indent, "%s", ind);
    for (int d = first; d < r; d++) {
        int j = r - 1 - d, v = d - first;
        int64_t l = n->a.pad.pads[2 * j], rr = n->a.pad.pads[2 * j + 1];
        const char *P = emit_dim(c, big->d[d]), *D = emit_dim(c, small->d[d]);
        fprintf(b, "%sfor (int64_t c%d = 0; c%d < %s; c%d++) {\n", indent, v, v, P, v);
        strcat(indent, "    ");
        if (l == 0 && rr == 0) {
            fprintf(b, "%sconst int64_t s%d = c%d;\n", indent, v, v);
        } else if (mode == MV_PAD_REFLECT) {
            fprintf(b, "%sint64_t s%d = c%d - %lld;\n", indent, v, v, (long long)l);
            fprintf(b, "%sif (s%d < 0) s%d = -s%d;\n", indent, v, v, v);
            fprintf(b, "%sif (s%d >= %s) s%d = %lld - s%d;\n", indent, v, D, v, (long long)(2 * (small->d[d].k - 1)), v);
        } else if (mode == MV_PAD_REPLICATE) {
            fprintf(b, "%sconst int64_t t%d = c%d - %lld, s%d = t%d < 0 ? 0 : t%d >= %s ? %lld : t%d;\n", indent, v, v,
                    (long long)l, v, v, v, D, (long long)(small->d[d].k - 1), v);
        } else {
            fprintf(b, "%sconst int64_t s%d = c%d - %lld;\n", indent, v, v, (long long)l);
            const char *cond = arena_printf(c->ar, "s%d >= 0 && s%d < %s", v, v, D);
            inside = *inside ? arena_printf(c->ar, "%s && %s", inside, cond) : cond;
        }
        const char *pfmt = strchr(pidx, '+') ? "(%s) * %s + c%d" : "%s * %s + c%d";
        const char *sfmt = strchr(sidx, '+') ? "(%s) * %s + s%d" : "%s * %s + s%d";
        pidx = *pidx ? arena_printf(c->ar, pfmt, pidx, P, v) : arena_printf(c->ar, "c%d", v);
        sidx = *sidx ? arena_printf(c->ar, sfmt, sidx, D, v) : arena_printf(c->ar, "s%d", v);
    }
    if (grad) {
        if (*inside) fprintf(b, "%sif (%s) yo[%s] += xo[%s];\n", indent, inside, sidx, pidx);
        else fprintf(b, "%syo[%s] += xo[%s];\n", indent, sidx, pidx);
    } else {
        if (*inside)
            fprintf(b, "%syo[%s] = (%s) ? xo[%s] : %s;\n", indent, pidx, inside, sidx,
                    n->dtype == IR_I32 ? arena_printf(c->ar, "%lld", (long long)n->a.pad.value)
                                       : emit_float(c, n->a.nf > 0 ? n->a.pad.value : 0.0));
        else fprintf(b, "%syo[%s] = xo[%s];\n", indent, pidx, sidx);
    }
    for (int d = r - 1; d >= first; d--) {
        indent[strlen(indent) - 4] = 0;
        fprintf(b, "%s}\n", indent);
    }
    close_outer(b, outer);
}

/* ---- upsample: source index tables, then one loop per plane ---------------------- */

/* Tables for one axis of `out` positions over `in` sources with scale s / den:
 * nearest: <a>s[out]; bilinear: <a>0[out], <a>1[out], l<a>[out]. */
static void index_table(emit_ctx *c, FILE *b, char a, int mode, int64_t in, int64_t out, int64_t s, int64_t den,
                        int align)
{
    const char *ratio = emit_float(c, mv_up_ratio(s, den));
    if (mode == MV_UP_NEAREST) {
        fprintf(b, "    int64_t %cs[%lld];\n", a, (long long)out);
        if (den == 1 && (s == 1 || s == 2)) {
            fprintf(b, "    for (int64_t i = 0; i < %lld; i++) %cs[i] = %s;\n", (long long)out, a, s == 1 ? "i" : "i >> 1");
            return;
        }
        fprintf(b, "    for (int64_t i = 0; i < %lld; i++) {\n", (long long)out);
        fprintf(b, "        const int64_t k = (int64_t)floorf((float)i * %s);\n", ratio);
        fprintf(b, "        %cs[i] = k < %lld ? k : %lld;\n    }\n", a, (long long)(in - 1), (long long)(in - 1));
        return;
    }
    fprintf(b, "    int64_t %c0[%lld], %c1[%lld];\n    float l%c[%lld];\n", a, (long long)out, a, (long long)out, a,
            (long long)out);
    fprintf(b, "    for (int64_t i = 0; i < %lld; i++) {\n", (long long)out);
    if (align) {
        float scale = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
        fprintf(b, "        const float src = %s * (float)i;\n", emit_float(c, scale));
    } else {
        fprintf(b, "        float src = %s * ((float)i + 0.5f) - 0.5f;\n", ratio);
        fprintf(b, "        if (src < 0.0f) src = 0.0f;\n");
    }
    fprintf(b, "        int64_t k = (int64_t)floorf(src);\n");
    fprintf(b, "        if (k > %lld) k = %lld;\n", (long long)(in - 1), (long long)(in - 1));
    fprintf(b, "        const float l = src - (float)k;\n");
    fprintf(b, "        %c0[i] = k;\n        %c1[i] = k + (k < %lld ? 1 : 0);\n", a, a, (long long)(in - 1));
    fprintf(b, "        l%c[i] = l < 0.0f ? 0.0f : l > 1.0f ? 1.0f : l;\n    }\n", a);
}

static void emit_upsample(emit_ctx *c, FILE *b, const ir_node *n)
{
    int grad = n->op == OP_upsample_grad, mode = (int)n->a.upsample.mode, align = (int)n->a.upsample.align_corners;
    const ir_shape *big = grad ? &n->in[0]->shape : &n->shape, *small = grad ? &n->shape : &n->in[0]->shape;
    int64_t H = small->d[2].k, W = small->d[3].k, OH = big->d[2].k, OW = big->d[3].k;
    ir_dim planes = span(&n->shape, 0, 2);
    fprintf(b, "    /* %s%s%s: [%s, %lld, %lld] %s [%s, %lld, %lld], source indices as PyTorch's */\n",
            grad ? "gradient of " : "", mode == MV_UP_NEAREST ? "nearest" : "bilinear",
            mode == MV_UP_BILINEAR && align ? " align_corners" : "", emit_dim(c, planes),
            (long long)H, (long long)W, grad ? "<-" : "->", emit_dim(c, planes), (long long)OH, (long long)OW);
    index_table(c, b, 'h', mode, H, OH, n->a.upsample.num_h, MV_UP_DEN_H(&n->a), align);
    index_table(c, b, 'w', mode, W, OW, n->a.upsample.num_w, MV_UP_DEN_W(&n->a), align);
    if (grad) fprintf(b, "    memset(y, 0, (size_t)%s * sizeof(float));\n", emit_numel(c, &n->shape));
    emit_for(c, b, "    ", "p", planes, OH * OW * (mode == MV_UP_NEAREST ? 1 : 8), "");
    fprintf(b, " {\n");
    fprintf(b, "        const float *restrict xp = x0 + p * %lld;\n", (long long)(grad ? OH * OW : H * W));
    fprintf(b, "        float *restrict yp = y + p * %lld;\n", (long long)(grad ? H * W : OH * OW));
    fprintf(b, "        for (int64_t oh = 0; oh < %lld; oh++)\n", (long long)OH);
    fprintf(b, "            for (int64_t ow = 0; ow < %lld; ow++) {\n", (long long)OW);
    const char *out = arena_printf(c->ar, "oh * %lld + ow", (long long)OW);
    if (mode == MV_UP_NEAREST) {
        const char *src = arena_printf(c->ar, "hs[oh] * %lld + ws[ow]", (long long)W);
        if (grad) fprintf(b, "                yp[%s] += xp[%s];\n", src, out);
        else fprintf(b, "                yp[%s] = xp[%s];\n", out, src);
    } else {
        fprintf(b, "                const float a1 = lh[oh], a0 = 1.0f - a1, b1 = lw[ow], b0 = 1.0f - b1;\n");
        fprintf(b, "                const int64_t r0 = h0[oh] * %lld, r1 = h1[oh] * %lld;\n", (long long)W, (long long)W);
        if (grad) {
            fprintf(b, "                const float g = xp[%s];\n", out);
            fprintf(b, "                yp[r0 + w0[ow]] += a0 * b0 * g;\n");
            fprintf(b, "                yp[r0 + w1[ow]] += a0 * b1 * g;\n");
            fprintf(b, "                yp[r1 + w0[ow]] += a1 * b0 * g;\n");
            fprintf(b, "                yp[r1 + w1[ow]] += a1 * b1 * g;\n");
        } else {
            fprintf(b, "                yp[%s] = a0 * (b0 * xp[r0 + w0[ow]] + b1 * xp[r0 + w1[ow]]) +\n", out);
            fprintf(b, "                    a1 * (b0 * xp[r1 + w0[ow]] + b1 * xp[r1 + w1[ow]]);\n");
        }
    }
    fprintf(b, "            }\n    }\n");
}

/* ---- roi_align: one runtime call each way (runtime/roi_align.c) ------------------ */
static void emit_roi_align(emit_ctx *c, FILE *b, const ir_node *n)
{
    const int grad = n->op == OP_roi_align_grad;
    const ir_shape *xs = grad ? &n->shape : &n->in[0]->shape, *gs = grad ? &n->in[0]->shape : &n->shape;
    fprintf(b, "    const dl_roi_geom g = {.C = %lld, .H = %lld, .W = %lld, .R = %lld, .PH = %lld, .PW = %lld, .scale = %s, "
               ".sampling = %d, .aligned = %d};\n", (long long)xs->d[1].k, (long long)xs->d[2].k, (long long)xs->d[3].k,
            (long long)gs->d[1].k, (long long)n->a.roi_align.out_h, (long long)n->a.roi_align.out_w,
            emit_float(c, n->a.roi_align.spatial_scale), (int)n->a.roi_align.sampling_ratio, (int)n->a.roi_align.aligned);
    fprintf(b, "    dl_roi_align%s(x0, x1, y, %s, &g); /* %s, boxes */\n", grad ? "_grad" : "", emit_dim(c, xs->d[0]),
            grad ? "gradient of the output" : "x");
}

/* ---- grid_sample: one runtime call per direction (runtime/grid_sample.c) ---------------- */
static void emit_grid_sample(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_attrs_grid_sample *ga = &n->a.grid_sample;
    const ir_shape *gs = &n->in[n->nin - 1]->shape, *ys = n->op == OP_grid_sample ? &n->shape : &n->in[0]->shape;
    fprintf(b, "    const dl_grid_geom g = {.C = %lld, .H = %lld, .W = %lld, .Ho = %lld, .Wo = %lld, .mode = %d, .padding = %d, "
               ".align_corners = %d};\n", (long long)ys->d[1].k, (long long)ga->in_h, (long long)ga->in_w,
            (long long)gs->d[1].k, (long long)gs->d[2].k, (int)ga->mode, (int)ga->padding, (int)ga->align_corners);
    const char *N = emit_dim(c, gs->d[0]);
    if (n->op == OP_grid_sample) fprintf(b, "    dl_grid_sample(x0, x1, y, %s, &g); /* x, grid */\n", N);
    else if (n->op == OP_grid_sample_grad)
        fprintf(b, "    dl_grid_sample_grad(x0, x1, y, %s, &g); /* gradient of the output, grid */\n", N);
    else fprintf(b, "    dl_grid_sample_grad_grid(x0, x1, x2, y, %s, &g); /* gradient of the output, x, grid */\n", N);
}

/* ---- roi_pool: one runtime call each way (runtime/roi_pool.c), roi_align's geometry -------- */
static void emit_roi_pool(emit_ctx *c, FILE *b, const ir_node *n)
{
    const int grad = n->op == OP_roi_pool_grad;
    const ir_node *x = n->in[grad], *bx = n->in[grad + 1];
    fprintf(b, "    const dl_roi_geom g = {.C = %lld, .H = %lld, .W = %lld, .R = %lld, .PH = %lld, .PW = %lld, .scale = %s};\n",
            (long long)x->shape.d[1].k, (long long)n->a.roi_pool.in_h, (long long)n->a.roi_pool.in_w,
            (long long)bx->shape.d[1].k, (long long)n->a.roi_pool.out_h, (long long)n->a.roi_pool.out_w,
            emit_float(c, n->a.roi_pool.spatial_scale));
    if (grad) fprintf(b, "    dl_roi_pool_grad(x0, x1, x2, y, %s, &g); /* gradient of the output, x, boxes */\n",
                      emit_dim(c, x->shape.d[0]));
    else fprintf(b, "    dl_roi_pool(x0, x1, y, %s, &g); /* x, boxes */\n", emit_dim(c, x->shape.d[0]));
}

/* ---- nms: one runtime call (runtime/nms.c, shared with metrics = [map]) ---------------- */
static void emit_nms(emit_ctx *c, FILE *b, const ir_node *n)
{
    c->returns_status = 1;   /* the runtime's scratch for the sort may be out of memory */
    fprintf(b, "    /* boxes, scores%s -> 1 for each box kept */\n", n->nin > 2 ? ", class ids" : "");
    fprintf(b, "    return dl_nms_mask(x0, x1, %s, y, %s, %lld, %s, %s, %lld);\n", n->nin > 2 ? "x2" : "NULL",
            emit_dim(c, n->shape.d[0]), (long long)n->shape.d[1].k, emit_float(c, n->a.nms.iou),
            n->a.nms.has_threshold ? emit_float(c, n->a.nms.score_threshold) : "-INFINITY",
            (long long)(n->a.nms.max_out ? n->a.nms.max_out : n->shape.d[1].k));
}

void emit_movement(emit_ctx *c, FILE *b, const ir_node *n)
{
    switch (n->op) {
    case OP_concat: emit_concat(c, b, n); return;
    case OP_slice: case OP_slice_grad: emit_slice(c, b, n); return;
    case OP_pad: case OP_pad_grad: emit_pad(c, b, n); return;
    case OP_roi_align: case OP_roi_align_grad: emit_roi_align(c, b, n); return;
    case OP_roi_pool: case OP_roi_pool_grad: emit_roi_pool(c, b, n); return;
    case OP_grid_sample: case OP_grid_sample_grad: case OP_grid_sample_grad_grid: emit_grid_sample(c, b, n); return;
    case OP_nms: emit_nms(c, b, n); return;
    default: emit_upsample(c, b, n); return; /* upsample, upsample_grad */
    }
}
