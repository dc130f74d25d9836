/* emit_conv.c — kernel bodies of the convolution and pooling ops.
 *
 * Why every body is one runtime call: the loops (im2col + dl_sgemm, the
 * 1x1 fast path, batch-parallel small convolutions, pooling windows) live
 * once in runtime/conv.c as ordinary C, where they can be tested, profiled
 * and optimized without touching the compiler. The generated kernel only
 * spells out the geometry with designated initializers, so it still reads
 * as what it computes:
 *
 *     const dl_conv2d_geom g = {.n = n, .c = 1, .h = 28, .w = 28, .oc = 6, .oh = 28, .ow = 28,
 *                               .kh = 5, .kw = 5, .sh = 1, .sw = 1, .pt = 2, ...};
 *     return dl_conv2d(&g, x0, x1, y);
 *
 * The geometry is always the FORWARD op's (dlnrt.h): conv_transpose2d is
 * the data gradient of the convolution that maps its output back to its
 * input, the pools' backward ops and unpooling use the pool's geometry. */
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"
#include "ops_conv.h"

/* The dl_conv2d_geom literal: input x[n, c, h, w], output [n, oc, oh, ow]. */
void emit_conv_geom(emit_ctx *c, FILE *b, ir_dim n, const ir_shape *in, const ir_shape *out, int64_t kh, int64_t kw,
                      const conv_geom *g)
{
    fprintf(b, "    const dl_conv2d_geom g = {.n = %s, .c = %lld, .h = %lld, .w = %lld, .oc = %lld, .oh = %lld, .ow = %lld,\n",
            emit_dim(c, n), (long long)in->d[1].k, (long long)in->d[2].k, (long long)in->d[3].k, (long long)out->d[1].k,
            (long long)out->d[2].k, (long long)out->d[3].k);
    fprintf(b, "                              .kh = %lld, .kw = %lld, .sh = %lld, .sw = %lld, "
               ".pt = %lld, .pb = %lld, .pl = %lld, .pr = %lld,\n",
            (long long)kh, (long long)kw, (long long)g->sh, (long long)g->sw, (long long)g->pt, (long long)g->pb,
            (long long)g->pl, (long long)g->pr);
    fprintf(b, "                              .dh = %lld, .dw = %lld, .groups = %lld, .count_include_pad = %d};\n",
            (long long)g->dh, (long long)g->dw, (long long)g->groups, g->flag != 0);
}

/* The body of n's kernel; for a conv2d with ep_fn non-NULL, the call passes
 * the epilogue ep_fn and the kernel's `ep` argument (emit_conv_epilogue),
 * and ep->wver as the weights' version when `kept`. */
static void emit_conv_body(emit_ctx *c, FILE *b, const ir_node *n, const char *ep_fn, int kept)
{
    conv_geom g;
    if (!conv_geom_get(&n->a, &g)) {
        diag_error(c->d, n->loc, "internal error: %s has malformed geometry", ir_ops[n->op].name);
        return;
    }
    const ir_node *x = n->in[0], *w = n->nin > 1 ? n->in[1] : NULL;
    const ir_shape *xs = &x->shape, *ys = &n->shape;
    ir_dim N = ys->d[0];
    switch (n->op) {
    case OP_conv2d:
        if (w->shape.d[2].k == 1 && w->shape.d[3].k == 1 && g.sh == 1 && g.sw == 1 && !g.pt && !g.pb && !g.pl && !g.pr)
            fprintf(b, "    /* 1x1, stride 1, no padding: one GEMM per image and group, no im2col */\n");
        else if (g.groups > 1 && g.groups == xs->d[1].k)
            fprintf(b, "    /* depthwise: direct per-plane kernel, no im2col (runtime/conv_depthwise.c) */\n");
        else fprintf(b, "    /* im2col + GEMM per image and group */\n");
        emit_conv_geom(c, b, N, xs, ys, w->shape.d[2].k, w->shape.d[3].k, &g);
        if (ep_fn && kept) fprintf(b, "    return dl_conv2d_ep_w(ep->wver, &g, x0, x1, y, %s, ep);\n", ep_fn);
        else if (ep_fn) fprintf(b, "    return dl_conv2d_ep(&g, x0, x1, y, %s, ep);\n", ep_fn);
        else if (emit_weights_cached_b(c, w)) /* kernel gets wver: Winograd's filters kept per version */
            fprintf(b, "    return dl_conv2d_ep_w(wver, &g, x0, x1, y, NULL, NULL);\n");
        else fprintf(b, "    return dl_conv2d(&g, x0, x1, y);\n");
        break;
    case OP_conv_transpose2d: /* the data gradient of the conv from y's shape to x's */
        fprintf(b, "    /* the data gradient of the convolution y -> x: GEMM + col2im */\n");
        emit_conv_geom(c, b, N, ys, xs, w->shape.d[2].k, w->shape.d[3].k, &g);
        fprintf(b, "    return dl_conv2d_bwd_data(&g, x0, x1, y);\n");
        break;
    case OP_conv2d_bwd_weight:
        N = xs->d[0];
        emit_conv_geom(c, b, N, xs, &w->shape, g.kh, g.kw, &g);
        fprintf(b, "    return dl_conv2d_bwd_weight(&g, x0, x1, y);\n");
        break;
    case OP_max_pool2d: case OP_max_pool2d_indices:
        emit_conv_geom(c, b, N, xs, ys, g.kh, g.kw, &g);
        fprintf(b, n->op == OP_max_pool2d ? "    dl_max_pool2d(&g, x0, y, NULL);\n" : "    dl_max_pool2d(&g, x0, NULL, y);\n");
        fprintf(b, "    return 0;\n");
        break;
    case OP_max_pool2d_bwd: case OP_max_unpool2d: /* values and indices at the pooled size -> y */
        emit_conv_geom(c, b, N, ys, xs, g.kh, g.kw, &g);
        fprintf(b, "    return %s(&g, x0, x1, y);\n", n->op == OP_max_pool2d_bwd ? "dl_max_pool2d_bwd" : "dl_max_unpool2d");
        break;
    case OP_max_unpool2d_bwd: /* gather from x0's planes at the indices' (= y's) size */
        emit_conv_geom(c, b, N, xs, ys, g.kh, g.kw, &g);
        fprintf(b, "    return dl_max_unpool2d_bwd(&g, x0, x1, y);\n");
        break;
    case OP_avg_pool2d: case OP_adaptive_avg_pool2d:
        emit_conv_geom(c, b, N, xs, ys, g.kh, g.kw, &g);
        fprintf(b, "    %s(&g, x0, y);\n    return 0;\n", n->op == OP_avg_pool2d ? "dl_avg_pool2d" : "dl_adaptive_avg_pool2d");
        break;
    case OP_avg_pool2d_bwd: case OP_adaptive_avg_pool2d_bwd:
        emit_conv_geom(c, b, N, ys, xs, g.kh, g.kw, &g);
        fprintf(b, "    %s(&g, x0, y);\n    return 0;\n",
                n->op == OP_avg_pool2d_bwd ? "dl_avg_pool2d_bwd" : "dl_adaptive_avg_pool2d_bwd");
        break;
    default:
        diag_error(c->d, n->loc, "internal error: emit_conv called for %s", ir_ops[n->op].name);
        return;
    }
    c->returns_status = 1;
}

void emit_conv(emit_ctx *c, FILE *b, const ir_node *n) { emit_conv_body(c, b, n, NULL, 0); }

/* ---- a conv2d with its consuming group in the epilogue (pass_epilogue) ---- */

/* One argument of the group kernel's call, as the epilogue passes it. */
typedef struct ep_arg {
    const char *name;   /* the step function's pointer: "t18", "p3_bn_running_mean", "out" */
    int64_t per_image;  /* N-first values: floats per image (offset image * per_image); 0 = broadcast */
    int is_conv;        /* the conv's own output: the epilogue's y_image */
} ep_arg;

/* What the epilogue passes for operand u of the group kernel: the conv's own
 * output (the epilogue's y_image), a per-image value (offset by the image)
 * or a broadcast one (as is). */
static ep_arg classify(emit_ctx *c, const ir_node *v, const ir_node *u)
{
    ir_dim numel = ir_shape_numel(&u->shape);
    return (ep_arg){.name = emit_value_name(c, u), .per_image = numel.syms ? numel.k : 0, .is_conv = u == v};
}

void emit_conv_group_call(emit_ctx *c, const ir_node *v, const char *kname, const char *call, const char *indent)
{
    if (!c->profile) {
        fprintf(c->calls, "%s    %s\n", indent, call);
        return;
    }
    /* the conv and its epilogue group, timed as one */
    const ir_node *const *mem = NULL, *own[EMIT_MAX_ARGS + 1];
    int nm = emit_group_members(c, v->epilogue, &mem), k = 0;
    own[k++] = v;
    for (int i = 0; i < nm && k < EMIT_MAX_ARGS + 1; i++) own[k++] = mem[i];
    fputs(indent, c->calls);
    emit_prof_call(c, v, kname, emit_prof_flops(c, own, k), call);
}

int emit_conv_epilogue(emit_ctx *c, const ir_node *v)
{
    const ir_node *root = v->epilogue;
    if (!root || v->op != OP_conv2d) return 0;
    int affine = emit_conv_affine(c, v); /* the epilogue as data, where its form allows */
    if (affine) return affine;
    int errors_before = c->d->n_errors;
    /* The group's kernel, defined as usual but serial and captured: its call
     * in the step function is dropped (the epilogue calls it instead), and
     * its definition is kept only if the kernel has the plain form
     * name(n, y, x0, ...) that the epilogue calls. */
    FILE *defs = c->defs, *calls = c->calls;
    char *gdef = NULL, *gcall = NULL;
    size_t ldef = 0, lcall = 0;
    c->defs = open_memstream(&gdef, &ldef);
    c->calls = open_memstream(&gcall, &lcall);
    if (!c->defs || !c->calls) {
        diag_fatal_noloc(c->d, "out of memory while emitting C");
        return -1;
    }
    c->serial = 1;
    const int profile = c->profile; /* the group's own call is dropped: no site of its own */
    c->profile = 0;
    int rc = emit_kernel(c, root);
    c->profile = profile;
    c->serial = 0;
    int plain = c->uses_n && !c->uses_sym && !c->uses_seed && !c->returns_status;
    fclose(c->defs);
    fclose(c->calls);
    c->defs = defs;
    c->calls = calls;
    free(gcall);
    const char *gname = NULL, *gkernel = c->kernel; /* gkernel: an earlier identical kernel's name */
    const ir_node *operands[EMIT_MAX_ARGS];
    int nx = rc == 0 && plain ? emit_group_operands(c, root, &gname, operands) : -1;
    if (nx < 0) { /* not the expected form: the conv and the group stay two kernels */
        free(gdef);
        return rc == 0 ? 0 : -1;
    }
    /* ea[1] is the group's output y, ea[2 + k] its operand xk (ea[0], n, unused) */
    ep_arg ea[EMIT_MAX_ARGS + 2];
    int na = nx + 2;
    ea[1] = classify(c, v, root);
    for (int k = 0; k < nx; k++) ea[2 + k] = classify(c, v, operands[k]);
    fputs(gdef, c->defs);
    free(gdef);

    /* The context: the group's pointers, except the conv output the epilogue
     * is handed, named as in the step function. */
    const char *ctx = arena_printf(c->ar, "%s_ep%d", c->kernel_prefix, v->id);
    const char *kname = arena_printf(c->ar, "%s_k%d_conv2d_ep", c->kernel_prefix, v->id);
    const char *run = arena_printf(c->ar, "%s_run", ctx);
    char *def = NULL;
    size_t dlen = 0;
    FILE *d = open_memstream(&def, &dlen);
    if (!d) {
        diag_fatal_noloc(c->d, "out of memory while emitting C");
        return -1;
    }
    fprintf(d, "/* epilogue of conv %%%d: group %%%d (%s) on one image, while the conv output is in cache */\n",
            v->id, root->id, gkernel);
    fprintf(d, "typedef struct %s {\n", ctx);
    for (int k = 1; k < na; k++) {
        int dup = ea[k].is_conv;
        for (int j = 1; j < k; j++) dup |= strcmp(ea[j].name, ea[k].name) == 0;
        if (!dup) fprintf(d, "    %sfloat *%s;\n", k == 1 ? "" : "const ", ea[k].name);
    }
    const int kept = strcmp(emit_weights_conv_version(c, v->in[1]), "0") != 0; /* Winograd's filters kept */
    if (kept) fprintf(d, "    uint64_t wver;   /* the weights' version (dl_conv2d_ep_w) */\n");
    fprintf(d, "} %s;\n\n", ctx);
    fprintf(d, "static void %s(void *ctx, int64_t image, float *y_image)\n{\n", run);
    fprintf(d, "    const %s *e = ctx;\n", ctx);
    fprintf(d, "    %s(1", gkernel);
    for (int k = 1; k < na; k++) {
        if (ea[k].is_conv) fprintf(d, ", y_image");
        else if (ea[k].per_image) fprintf(d, ", e->%s + image * %lld", ea[k].name, (long long)ea[k].per_image);
        else fprintf(d, ", e->%s", ea[k].name);
    }
    fprintf(d, ");\n}\n\n");

    /* The conv kernel, with the context as one more argument. */
    c->uses_n = c->uses_seed = c->returns_status = 0;
    c->uses_sym = 0;
    char *body = NULL;
    size_t blen = 0;
    FILE *b = open_memstream(&body, &blen);
    if (!b) {
        diag_fatal_noloc(c->d, "out of memory while emitting C");
        return -1;
    }
    emit_conv_body(c, b, v, run, kept);
    fclose(b);
    char shape[160];
    ir_shape_str(shape, sizeof shape, v->dtype, &v->shape, c->mod);
    emit_origin(d, v);
    fprintf(d, "%s = conv2d(%%%d, %%%d), then group %%%d per image */\n", shape, v->in[0]->id, v->in[1]->id, root->id);
    fprintf(d, "static int %s(int64_t n, float *restrict y, const float *restrict x0, const float *restrict x1, "
               "%s *ep)\n{\n%s}\n\n", kname, ctx, body);
    free(body);
    fclose(d);
    /* context, epilogue and conv kernel are shared as one unit */
    const char *const own[] = {ctx, run, kname};
    const char *const *same = emit_share_find(c->share, def, own, 3);
    if (same) ctx = same[0], kname = same[2];
    else fputs(def, c->defs);
    free(def);

    /* The call: fill the context, run the conv (and with it the group). */
    fprintf(c->calls, "    {\n        %s e%d = {", ctx, v->id);
    int first = 1;
    for (int k = 1; k < na; k++) {
        int dup = ea[k].is_conv;
        for (int j = 1; j < k; j++) dup |= strcmp(ea[j].name, ea[k].name) == 0;
        if (dup) continue;
        fprintf(c->calls, "%s.%s = %s", first ? "" : ", ", ea[k].name, ea[k].name);
        first = 0;
    }
    fprintf(c->calls, "%s};\n", kept ? ", .wver = m->wver" : "");
    const char *call = arena_printf(c->ar, "if (%s(n, %s, %s, %s, &e%d) != 0) %s", kname, emit_value_name(c, v),
                                    emit_value_name(c, v->in[0]), emit_value_name(c, v->in[1]), v->id, c->fail_return);
    emit_conv_group_call(c, v, kname, call, "    ");
    fprintf(c->calls, "    }\n");
    return c->d->n_errors > errors_before ? -1 : 1;
}
