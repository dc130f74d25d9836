/* emit_conv_affine.c — a conv2d whose epilogue group is an inference batch
 * norm's affine, an optional residual add and an optional ReLU/ReLU6,
 * emitted as one dl_conv2d_affine call with the epilogue as data.
 *
 * Why: pass_epilogue links the conv to its group and emit_conv.c runs the
 * group's kernel per image from a callback, which reads the conv output back
 * and writes the group's. When the group is exactly (the form pass_epilogue's
 * batch-norm fold leaves)
 *     [relu | relu6]( [add]( add(mul(conv, A), B), R ) )
 * with A and B per output channel and R shaped like the conv, the runtime
 * can apply it to each output tile in registers (runtime/conv_affine.c), so
 * the step passes A, B, R and the clamp bounds instead of a callback.
 *
 * Only in inference steps linked against libdlnrt (forward and eval_step,
 * not exports, whose portable runtime has no dl_conv2d_affine, and not the
 * train step: its batch norm uses batch statistics, and it keeps its
 * callbacks unchanged). Anything else: 0, and emit_conv.c's callback. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"
#include "ops_conv.h"

typedef struct affine_form {
    const ir_node *scale, *shift, *residual; /* leaves of the group; residual may be NULL */
    int clamp;                               /* 0 none, else [lo, hi] */
    double lo, hi;
} affine_form;

/* u an interior member of root's group with op `op` and v's shape. */
static int member(const ir_node *u, const ir_node *root, ir_opcode op, const ir_node *v)
{
    return u->op == op && u->group == root->id && lower_fusable(u) && ir_shape_eq(&u->shape, &v->shape);
}

/* A leaf (outside the group) holding a buffer of f32 values. */
static int leaf(const ir_node *u, const ir_node *root)
{
    return !(u->group == root->id && lower_fusable(u)) && u->dtype == IR_F32 && u->op != OP_constant;
}

/* One value per output channel of v ([C], [C, 1, 1] or [1, C, 1, 1] against
 * [N, C, H, W], broadcast from the right), no run-time dimension. */
static int per_channel(const ir_node *u, const ir_node *root, const ir_node *v)
{
    const ir_shape *s = &u->shape;
    if (!leaf(u, root) || s->rank > 4) return 0;
    for (int j = 0; j < s->rank; j++) {
        if (s->d[j].syms) return 0;
        int64_t want = j + 4 - s->rank == 1 ? v->shape.d[1].k : 1;
        if (s->d[j].k != want) return 0;
    }
    return 1;
}

/* add(mul(v, A), B) in either operand order. */
static int match_affine(const ir_node *e, const ir_node *root, const ir_node *v, affine_form *f)
{
    if (!member(e, root, OP_add, v)) return 0;
    for (int ka = 0; ka < 2; ka++) {
        const ir_node *mu = e->in[ka], *b = e->in[1 - ka];
        if (!member(mu, root, OP_mul, v) || !per_channel(b, root, v)) continue;
        for (int km = 0; km < 2; km++)
            if (mu->in[km] == v && per_channel(mu->in[1 - km], root, v)) {
                f->scale = mu->in[1 - km], f->shift = b;
                return 1;
            }
    }
    return 0;
}

/* The group rooted at root as the form above, or 0. */
static int match_form(const ir_node *root, const ir_node *v, affine_form *f)
{
    *f = (affine_form){0};
    const ir_node *e = root;
    if (root->op == OP_relu || root->op == OP_relu6) {
        f->clamp = 1, f->lo = 0.0, f->hi = root->op == OP_relu6 ? 6.0 : INFINITY;
        e = root->in[0];
    }
    if (match_affine(e, root, v, f)) return 1;
    if (!member(e, root, OP_add, v)) return 0;
    for (int k = 0; k < 2; k++) {
        const ir_node *r = e->in[1 - k];
        if (r != v && leaf(r, root) && ir_shape_eq(&r->shape, &v->shape) && match_affine(e->in[k], root, v, f)) {
            f->residual = r;
            return 1;
        }
    }
    return 0;
}

int emit_conv_affine(emit_ctx *c, const ir_node *v)
{
    const ir_node *root = v->epilogue;
    affine_form f;
    if (!root || v->op != OP_conv2d || !c->weights_cached || c->g->mode != IR_MODE_EVAL || !match_form(root, v, &f))
        return 0;
    conv_geom g;
    if (!conv_geom_get(&v->a, &g)) return 0;

    const char *kname = arena_printf(c->ar, "%s_k%d_conv2d_affine", c->kernel_prefix, v->id);
    char *def = NULL;
    size_t dlen = 0;
    FILE *d = open_memstream(&def, &dlen);
    if (!d) {
        diag_fatal_noloc(c->d, "out of memory while emitting C");
        return -1;
    }
    char shape[160];
    ir_shape_str(shape, sizeof shape, v->dtype, &v->shape, c->mod);
    emit_origin(d, v);
    fprintf(d, "%s = %s(conv2d(%%%d, %%%d) * %%%d + %%%d%s) (group %%%d), the epilogue as data */\n", shape,
            !f.clamp ? "" : f.hi == 6.0 ? "relu6" : "relu", v->in[0]->id, v->in[1]->id, f.scale->id, f.shift->id,
            f.residual ? " + residual" : "", root->id);
    fprintf(d, "static int %s(int64_t n, float *yc, float *y, const float *restrict x0, "
               "const float *restrict x1, const float *scale, const float *shift, const float *residual, uint64_t wver)\n{\n",
            kname);
    const ir_shape *xs = &v->in[0]->shape, *ws = &v->in[1]->shape;
    emit_conv_geom(c, d, v->shape.d[0], xs, &v->shape, ws->d[2].k, ws->d[3].k, &g);
    fprintf(d, "    const dl_conv_affine a = {.scale = scale, .shift = shift, .residual = residual, .clamp = %d, "
               ".lo = %s, .hi = %s};\n", f.clamp, emit_float(c, f.lo), emit_float(c, f.clamp ? f.hi : 0.0));
    fprintf(d, "    return dl_conv2d_affine_w(wver, &g, x0, x1, yc, y, &a);\n}\n\n");
    fclose(d);
    const char *const own[] = {kname};
    const char *const *same = emit_share_find(c->share, def, own, 1);
    if (same) kname = same[0];
    else fputs(def, c->defs);
    free(def);

    const char *call = arena_printf(c->ar, "if (%s(n, %s, %s, %s, %s, %s, %s, %s, %s) != 0) %s", kname,
                                    emit_value_name(c, v), emit_value_name(c, root), emit_value_name(c, v->in[0]),
                                    emit_value_name(c, v->in[1]), emit_value_name(c, f.scale),
                                    emit_value_name(c, f.shift), f.residual ? emit_value_name(c, f.residual) : "NULL",
                                    emit_weights_conv_version(c, v->in[1]), c->fail_return);
    emit_conv_group_call(c, v, kname, call, "");
    return 1;
}
