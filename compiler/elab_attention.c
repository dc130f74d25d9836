/* elab_attention.c — the attention builtin:
 *
 *     attention(q, k, v, heads = 1, causal = false, mask = None, scale = None)
 *
 * one fused op (ops_attention.c). Here: the arguments' own errors, each at
 * its argument (an integer tensor, heads that do not divide the features),
 * and the default scale 1/sqrt(E/heads); the shape rule checks the rest and
 * reports at the call. */
#include <math.h>

#include "elab_internal.h"

/* A float tensor argument, or NULL after an error at the argument. */
static ir_node *float_operand(elab *e, value *v, const char *fname, const char *arg) {
    ir_node *x = tensor_arg(e, v, fname, arg);
    if (!x || x->dtype == IR_F32) return x;
    diag_error(e->d, v->loc, "argument '%s' of '%s' must be a float tensor, got %s\nhint: integer tensors (labels) must "
               "be converted with cast_f32 first", arg, fname, t_describe(e, x));
    return NULL;
}

value b_attention(elab *e, src_loc loc, const char *name, value *args) {
    static const char *names[] = {"q", "k", "v"};
    ir_node *in[4];
    int ok = 1, nin = 3;
    for (int k = 0; k < 3; k++) ok &= (in[k] = float_operand(e, &args[k], name, names[k])) != NULL;
    if (args[5].kind != V_NONE) ok &= (in[nin++] = float_operand(e, &args[5], name, "mask")) != NULL;
    value hv = int_like(&args[3]);
    int64_t heads = hv.kind == V_NONE ? 1 : hv.i;
    if (hv.kind != V_NONE && (hv.kind != V_INT || hv.i < 1)) {
        if (hv.kind != V_ERROR)
            diag_error(e->d, hv.loc, "argument 'heads' of '%s' must be a positive int, got %s", name, v_describe(e, &hv));
        ok = 0;
    }
    int causal;
    ok &= bool_arg(e, &args[4], 0, name, "causal", &causal);
    if (!ok) return v_error();
    ir_dim width = in[0]->shape.rank ? in[0]->shape.d[in[0]->shape.rank - 1] : ir_dim_const(1);
    ir_dim vwidth = in[2]->shape.rank ? in[2]->shape.d[in[2]->shape.rank - 1] : ir_dim_const(1);
    if (hv.kind != V_NONE && (!ir_dim_is_const(width) || width.k % heads || !ir_dim_is_const(vwidth) || vwidth.k % heads)) {
        diag_error(e->d, hv.loc, "%s: heads = %lld must divide the last dimensions of q %s and v %s\nhint: head h uses "
                   "columns h*E/heads .. (h+1)*E/heads of q and k, and the same share of v's", name, (long long)heads,
                   t_describe(e, in[0]), t_describe(e, in[2]));
        return v_error();
    }
    double scale;
    double dflt = ir_dim_is_const(width) ? 1 / sqrt((double)width.k / (double)heads) : 1;
    if (!float_arg(e, &args[6], dflt, name, "scale", &scale)) return v_error();
    ir_attrs a = {.attention = {.heads = heads, .causal = causal, .scale = scale}, .ni = 4, .nf = 1};
    return v_tensor(ir_add(e->g, e->d, loc, OP_attention, in, nin, &a), loc);
}
