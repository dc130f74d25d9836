/* elab_init_data.c — initializers that are the values themselves:
 *
 *     param k: f32[3] = values([0.25, 0.5, 0.25])
 *     param b: f32[4 * H] = chunks([0, 1, 0, 0])             # an LSTM's forget-gate bias 1
 *     param w: f32[21, 21, 4, 4] = bilinear_upsample()       # FCN's upsampling kernel
 *     param e: f32[1000, 64] = from_file("emb.safetensors", "weight")
 *
 * Unlike the random initializers, whose formulas the runtime draws from, these
 * depend on the parameter's shape, so make_initializer (elab_init.c) only
 * records the recipe (its name in value.s, its arguments in value.items) and
 * init_data_resolve computes the numbers once the declaration's shape is
 * known. The compiled model carries them as a constant array that its init
 * copies (emit_c.c); a file is read at compile time, not when the model
 * runs, so the compiled model does not depend on it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "elab_internal.h"

/* Flattens a (nested) list of numbers into out[*at..]; checks each level's
 * length against the shape when `nested`. */
static int flatten(elab *e, const value *v, const ir_shape *s, int depth, int nested, float *out, int64_t *at,
                   int64_t cap) {
    if (v->kind == V_LIST) {
        if (nested ? depth >= s->rank || v->n != s->d[depth].k : depth > 0) return -1;
        for (int i = 0; i < v->n; i++) {
            int r = flatten(e, &v->items[i], s, depth + 1, nested, out, at, cap);
            if (r != 0) return r;
        }
        return 0;
    }
    double x;
    if (nested && depth != s->rank) return -1;
    if (v->kind == V_BOOL || !as_number(v, &x)) {
        diag_error(e->d, v->loc, "values: expected a number, got %s", v_describe(e, v));
        return -2;
    }
    if (!isfinite(x) || fabs(x) > 3.4028234663852886e38) {
        diag_error(e->d, v->loc, "values: %g is not a finite float", x);
        return -2;
    }
    if (*at >= cap) return -1;
    out[(*at)++] = (float)x;
    return 0;
}

/* values([...]): nested like the shape, or flat with numel numbers (row-major). */
static int from_list(elab *e, const value *list, const ir_shape *s, int64_t numel, float *out, src_loc decl) {
    if (list->kind != V_LIST) {
        diag_error(e->d, list->loc, "values: expected a list of numbers, got %s", v_describe(e, list));
        return 0;
    }
    for (int nested = 1; nested >= 0; nested--) {
        int64_t at = 0;
        int r = flatten(e, list, s, 0, nested, out, &at, numel);
        if (r == -2) return 0;
        if (r == 0 && at == numel) return 1;
    }
    char b[160];
    ir_shape_str(b, sizeof b, IR_F32, s, e->mod);
    diag_error(e->d, list->loc, "values: the list does not fit the parameter %s\nhint: nest it like the shape, or give "
               "%lld numbers in one flat list (row-major)", b, (long long)numel);
    diag_note(e->d, decl, "the parameter is declared here");
    return 0;
}

/* chunks([v0, v1, ...]): dimension 0 cut into len(list) equal chunks
 * (torch.chunk), chunk k filled with v_k — per-gate constants of a
 * recurrent weight or bias, e.g. an LSTM's forget gate (i, f, g, o). */
static int from_chunks(elab *e, const value *list, const ir_shape *s, int64_t numel, float *out, src_loc decl) {
    char b[160];
    ir_shape_str(b, sizeof b, IR_F32, s, e->mod);
    if (list->kind != V_LIST || list->n == 0) {
        diag_error(e->d, list->loc, "chunks: expected a non-empty list of numbers, one per chunk, got %s",
                   v_describe(e, list));
        return 0;
    }
    if (s->rank < 1 || s->d[0].k % list->n != 0) {
        diag_error(e->d, list->loc, "chunks: %d chunks do not divide dimension 0 of the parameter %s\nhint: one number "
                   "per equal chunk of dimension 0, e.g. chunks([0, 1, 0, 0]) for an LSTM bias f32[4 * hidden]",
                   list->n, b);
        diag_note(e->d, decl, "the parameter is declared here");
        return 0;
    }
    int64_t per = numel / list->n;
    for (int k = 0; k < list->n; k++) {
        float v;
        int64_t one = 0;
        ir_shape scalar = {.rank = 0};
        if (flatten(e, &list->items[k], &scalar, 0, 1, &v, &one, 1) != 0 || one != 1) {
            if (list->items[k].kind == V_LIST)
                diag_error(e->d, list->items[k].loc, "chunks: expected a number, got %s", v_describe(e, &list->items[k]));
            return 0;
        }
        for (int64_t i = 0; i < per; i++) out[k * per + i] = v;
    }
    return 1;
}

/* FCN's upsample_filt: a separable triangle of radius factor = ceil(k / 2)
 * around the kernel's centre, per axis. */
static double tent(int64_t i, int64_t k) {
    int64_t factor = (k + 1) / 2;
    double center = k % 2 == 1 ? (double)factor - 1 : (double)factor - 0.5;
    return 1 - fabs((double)i - center) / (double)factor;
}

/* bilinear_upsample(): weight [C, C, kh, kw] of a conv_transpose gets the
 * kernel on its diagonal (channel c to channel c), [C, 1, kh, kw] (groups =
 * C) on every channel: FCN's surgery.interp. */
static int bilinear(elab *e, const ir_shape *s, float *out, src_loc loc) {
    if (s->rank != 4 || (s->d[1].k != s->d[0].k && s->d[1].k != 1)) {
        char b[160];
        ir_shape_str(b, sizeof b, IR_F32, s, e->mod);
        diag_error(e->d, loc, "bilinear_upsample: needs a conv_transpose weight f32[C, C, kh, kw] or f32[C, 1, kh, kw], "
                   "got %s\nhint: each channel is upsampled on its own, as in FCN", b);
        return 0;
    }
    int64_t C = s->d[0].k, O = s->d[1].k, kh = s->d[2].k, kw = s->d[3].k;
    memset(out, 0, sizeof(float) * (size_t)(C * O * kh * kw));
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++)
                out[((c * O + (O == 1 ? 0 : c)) * kh + i) * kw + j] = (float)(tent(i, kh) * tent(j, kw));
    return 1;
}

/* A relative path names a file beside the .dln that declares the parameter. */
static const char *beside(elab *e, const char *path, src_loc loc) {
    const char *slash = loc.file ? strrchr(loc.file, '/') : NULL;
    if (path[0] == '/' || !slash) return path;
    return arena_printf(e->a, "%.*s/%s", (int)(slash - loc.file), loc.file, path);
}

/* from_file(path, name): the tensor `name` of a safetensors file (F32), read
 * by the runtime's checking reader: a damaged header, a missing name or a
 * different shape is an error naming the file. */
static int from_file(elab *e, const value *args, const ir_shape *s, float *out, src_loc loc) {
    for (int k = 0; k < 2; k++)
        if (args[k].kind != V_STR) {
            diag_error(e->d, args[k].loc, "from_file: the %s must be a string, got %s", k ? "tensor name" : "path",
                       v_describe(e, &args[k]));
            return 0;
        }
    const char *path = beside(e, args[0].s, args[0].loc);
    dl_named_tensor t = {.name = args[1].s, .rank = s->rank, .data = out};
    for (int k = 0; k < s->rank; k++) t.shape[k] = s->d[k].k;
    if (dl_load_safetensors(path, &t, 1, 1) != 0) {
        diag_error(e->d, loc, "from_file: %s", dl_last_error());
        return 0;
    }
    int64_t numel = ir_dim_eval(ir_shape_numel(s), NULL);
    for (int64_t i = 0; i < numel; i++)
        if (!isfinite(out[i])) {
            diag_error(e->d, loc, "from_file: tensor '%s' of %s holds a NaN or an infinity (element %lld)", args[1].s,
                       path, (long long)i);
            return 0;
        }
    return 1;
}

int init_data_resolve(elab *e, const value *recipe, const ir_shape *shape, ir_init *out, src_loc decl) {
    int64_t numel = 1;
    for (int k = 0; k < shape->rank; k++) numel *= shape->d[k].k;
    if (elab_charge(e, recipe->loc, numel)) return 0;
    float *data = ARENA_NEW_ARRAY(e->a, float, (size_t)(numel ? numel : 1));
    int ok;
    if (strcmp(recipe->s, "values") == 0) ok = from_list(e, &recipe->items[0], shape, numel, data, decl);
    else if (strcmp(recipe->s, "chunks") == 0) ok = from_chunks(e, &recipe->items[0], shape, numel, data, decl);
    else if (strcmp(recipe->s, "bilinear_upsample") == 0) ok = bilinear(e, shape, data, recipe->loc);
    else ok = from_file(e, recipe->items, shape, data, recipe->loc);
    if (!ok) return 0;
    *out = (ir_init){.kind = IR_INIT_DATA, .data = data, .fan_in = -1, .fan_out = -1, .gain = 1};
    return 1;
}
