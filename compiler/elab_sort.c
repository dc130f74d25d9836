/* elab_sort.c — sort, argsort, topk, cumsum, cumprod and flip (rows in
 * elab_builtins.c).
 *
 * One op, argsort, gives the positions; sort and topk take the values with
 * gather(x, positions, axis), so their values' gradient is gather's (added
 * back at the picked positions) and no op needs two outputs. */
#include <string.h>

#include "elab_internal.h"

/* [values, positions] of argsort [axis, descending, k] over x, or the
 * positions alone. */
static value sorted(elab *e, src_loc loc, ir_node *x, int axis, int desc, int64_t k, int both) {
    ir_attrs a = {.argsort = {.axis = axis, .descending = desc, .k = k}, .ni = 3};
    ir_node *idx = ir_add(e->g, e->d, loc, OP_argsort, &x, 1, &a);
    if (!idx) return v_error();
    if (!both) return v_tensor(idx, loc);
    ir_node *in[2] = {x, idx};
    ir_attrs ga = {.gather = {.axis = axis}, .ni = 1};
    value r = v_list(e, 2, loc);
    r.items[0] = v_tensor(ir_add(e->g, e->d, loc, OP_gather, in, 2, &ga), loc);
    r.items[1] = v_tensor(idx, loc);
    return r.items[0].t ? r : v_error();
}

static int axis_of(elab *e, value *v, ir_node *x, const char *name, int *axis) {
    value av = v->kind == V_NONE ? v_int(-1, v->loc) : *v;
    return axis_norm(e, &av, x->shape.rank, name, axis);
}

/* sort(x, axis = -1, descending = false) -> values, positions (torch.sort
 * with stable = True); argsort(...) -> the positions. */
value b_sort(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x;
    if (strcmp(name, "argsort") == 0 && args[0].kind == V_TENSOR && args[0].t->dtype == IR_I32)
        x = op_unary(e, OP_cast_f32, args[0].t, loc); /* MAE's ids_restore = argsort(ids_shuffle): exact below 2^24 */
    else
        x = float_tensor_arg(e, &args[0], name, "x", loc);
    int axis, desc;
    if (!x || !axis_of(e, &args[1], x, name, &axis) || !bool_arg(e, &args[2], 0, name, "descending", &desc))
        return v_error();
    return sorted(e, loc, x, axis, desc, 0, strcmp(name, "sort") == 0);
}

/* topk(x, k, axis = -1, largest = true) -> values, positions (torch.topk,
 * sorted; equal values in order of position). */
value b_topk(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = float_tensor_arg(e, &args[0], name, "x", loc);
    value kv = int_like(&args[1]);
    if (kv.kind != V_ERROR && (kv.kind != V_INT || kv.i < 1)) {
        diag_error(e->d, kv.loc, "argument 'k' of '%s' must be a positive int, got %s", name, v_describe(e, &kv));
        return v_error();
    }
    int axis, largest;
    if (!x || kv.kind == V_ERROR || !axis_of(e, &args[2], x, name, &axis) ||
        !bool_arg(e, &args[3], 1, name, "largest", &largest))
        return v_error();
    return sorted(e, loc, x, axis, largest, kv.i, 1);
}

/* cumsum(x, axis), cumprod(x, axis): torch.cumsum, torch.cumprod. */
value b_cumsum(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = float_tensor_arg(e, &args[0], name, "x", loc);
    int axis;
    if (!x || !axis_norm(e, &args[1], x->shape.rank, name, &axis)) return v_error();
    ir_attrs a = {.cumsum = {.axis = axis}, .ni = 2};
    return v_tensor(ir_add(e->g, e->d, loc, strcmp(name, "cumprod") == 0 ? OP_cumprod : OP_cumsum, &x, 1, &a), loc);
}

/* flip(x, axis): torch.flip(x, dims), axis an int or a list of ints; f32 or
 * i32. */
value b_flip(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    uint32_t mask;
    if (!x || !axes_mask(e, &args[1], x->shape.rank, name, &mask)) return v_error();
    if (mask == 0) return v_tensor(x, loc); /* flip(x, []) */
    ir_attrs a = {.flip = {.axes = mask}, .ni = 1};
    return v_tensor(ir_add(e->g, e->d, loc, OP_flip, &x, 1, &a), loc);
}

/* cast_i32(x): toward zero, as torch's x.int(); an i32 tensor is kept as it is. */
value b_cast_i32(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    return v_tensor(x->dtype == IR_I32 ? x : ir_add(e->g, e->d, loc, OP_cast_i32, &x, 1, NULL), loc);
}
