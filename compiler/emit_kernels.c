/* emit_kernels.c — one C function per kernel: a fused elementwise group or a
 * non-elementwise op.
 *
 * Why a table of small emitters: each op's loop nest is written once, next to
 * nothing else, and the table ([OP_x] = emit_x, designated initializers) makes
 * a forgotten op visible — emit_check_table() lists every op of ops.def that
 * has neither a c_expr nor an emitter, and a test runs it.
 *
 * Every kernel has the same shape, so an emitter only writes the loop body:
 *
 *     static void mlp_train_k12_add_relu(int64_t n, float *restrict y,
 *                                        const float *restrict x0, ...)
 *
 * `y` is the output, `x0, x1, ...` the inputs (a group's leaves, or the op's
 * inputs in order), `n` the batch (passed only when a dimension mentions it),
 * `seed` the step's random seed (random sources only). The body is written to
 * a memory stream first so the signature can include exactly the parameters
 * the body uses (-Wall -Wextra -Werror must hold for the output).
 *
 * Elementwise groups and reductions loop over their iteration space
 * collapsed per operand (view_dims): broadcast operands are read once per
 * row, inner loops are contiguous, nothing divides the loop index.
 *
 * Parallelism: `#pragma omp parallel for` on the outermost loop (nest) only,
 * with an if() clause (or no pragma) below a size threshold so small tensors
 * stay serial: ~32K element-operations for compute-heavy loops, ~1M
 * element-streams for the memory-bound groups and reductions (EMIT_PAR_STREAM);
 * dl_sgemm parallelizes itself and is never called from inside a parallel
 * region. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "emit_internal.h"

#define EMIT_PAR_WORK 32768 /* element-operations below which a loop stays serial */
/* The same for the memory-bound loops of elementwise groups and reductions,
 * counting per element its loads, stores and operations: a 3-stream loop
 * (y = x0 * s + x1) goes parallel from ~200K elements. Waking the second
 * thread (OMP_WAIT_POLICY=passive) costs 6-10 us, as long as streaming
 * ~100K such elements on one core, so below that two threads only lose
 * (measured: 131K elements 9 us serial, 15 us on 2 threads; 262K: 21 vs 27
 * on a busy machine; break-even ~150-250K on an idle one). */
#define EMIT_PAR_STREAM (1 << 20)


/* ---- small formatting helpers ------------------------------------------- */

static int dim_is_one(ir_dim d) { return d.k == 1 && d.syms == 0; }

const char *emit_dim(emit_ctx *c, ir_dim d)
{
    if (d.syms == 0) return arena_printf(c->ar, "%lld", (long long)d.k);
    /* the batch is `n`, further symbols (T, ...) `sym1`, `sym2`, ... in kernels and step functions */
    const char *t = d.k == 1 ? NULL : arena_printf(c->ar, "%lld", (long long)d.k);
    for (int k = 0; k < IR_MAX_SYMS; k++) {
        if (!(d.syms & (1u << k))) continue;
        const char *v = k == IR_SYM_N ? "n" : arena_printf(c->ar, "sym%d", k);
        if (k == IR_SYM_N) c->uses_n = 1;
        else c->uses_sym |= 1u << k;
        t = t ? arena_printf(c->ar, "%s * %s", t, v) : v;
    }
    return strchr(t, ' ') ? arena_printf(c->ar, "(%s)", t) : t;
}

/* The symbol arguments of a kernel that uses_n / uses_sym: "int64_t n, int64_t sym1, " (decl) or "n, sym1, ". */
void emit_sym_args(emit_ctx *c, FILE *f, int decl)
{
    if (c->uses_n) fprintf(f, "%sn, ", decl ? "int64_t " : "");
    for (int k = 1; k < IR_MAX_SYMS; k++)
        if (c->uses_sym & (1u << k)) fprintf(f, "%ssym%d, ", decl ? "int64_t " : "", k);
}

const char *emit_numel(emit_ctx *c, const ir_shape *s) { return emit_dim(c, ir_shape_numel(s)); }

const char *emit_float(emit_ctx *c, double v)
{
    /* A constant beyond f32's range (1e308) is infinite as an f32, and one too
     * small for it (1e-50) zero: written as themselves with an `f`, -Werror
     * refused them ("floating constant exceeds range of 'float'", "truncated to
     * zero"). Found by tests/fuzz/mutate_dln.py. */
    const float f = (float)v;
    if (isnan(f)) return "NAN";
    if (isinf(f)) return f > 0 ? "INFINITY" : "(-INFINITY)";
    if (f == 0) v = f;   /* keeps the sign: -1e-50 is -0.0f */
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", v);
    if (!strpbrk(buf, ".e")) strcat(buf, ".0");
    return arena_printf(c->ar, v < 0 ? "(%sf)" : "%sf", buf);
}

static ir_dim dims_product(const ir_shape *s, int from, int to)
{
    ir_dim p = ir_dim_const(1);
    for (int k = from; k < to; k++) p = ir_dim_mul(p, s->d[k]);
    return p;
}

/* `for` header with an OpenMP pragma when the trip count times the work per
 * iteration can be large. */
void emit_for(emit_ctx *c, FILE *b, const char *indent, const char *var, ir_dim count, int64_t work,
              const char *extra_clause)
{
    const char *cnt = emit_dim(c, count);
    if (c->serial) {
        /* no directive (see emit_ctx.serial) */
    } else if (count.syms == 0) {
        if (count.k * work >= EMIT_PAR_WORK && count.k > 1)
            fprintf(b, "%s#pragma omp parallel for schedule(static)%s\n", indent, extra_clause);
    } else {
        int64_t min_trips = (EMIT_PAR_WORK + work - 1) / work;
        fprintf(b, "%s#pragma omp parallel for schedule(static)%s if(%s >= %lld)\n", indent, extra_clause, cnt,
                (long long)min_trips);
    }
    fprintf(b, "%sfor (int64_t %s = 0; %s < %s; %s++)", indent, var, var, cnt, var);
}

/* The value of one element of a constant node: its value everywhere (the shape
 * is packed in i[]; a mean over N is built from ordinary ops, not here). */
static const char *constant_expr(emit_ctx *c, const ir_node *n)
{
    return emit_float(c, n->a.nf > 0 ? n->a.constant.value : 0.0);
}

/* Flat index into an input of shape L broadcast (NumPy, right-aligned) to
 * shape S, as a C expression over the flat output index `var`. */
static const char *bcast_index(emit_ctx *c, const ir_shape *S, const ir_shape *L, const char *var)
{
    ir_dim ln = ir_shape_numel(L);
    if (dim_is_one(ln)) return "0";
    int r = S->rank, shift = r - L->rank;
    ir_dim ld[IR_MAX_RANK];
    int kept[IR_MAX_RANK];
    int all_kept = 1;
    for (int k = 0; k < r; k++) {
        ld[k] = k - shift >= 0 ? L->d[k - shift] : ir_dim_const(1);
        kept[k] = !dim_is_one(ld[k]);
        if (!kept[k] && !dim_is_one(S->d[k])) all_kept = 0;
    }
    if (all_kept) return var;
    char *expr = "";
    for (int p = 0; p < r;) {
        if (!kept[p]) {
            p++;
            continue;
        }
        int q = p;
        while (q < r && kept[q]) q++;
        ir_dim div = dims_product(S, q, r), mod = dims_product(S, p, q), mul = ir_dim_const(1);
        for (int k = q; k < r; k++) mul = ir_dim_mul(mul, ld[k]);
        int outer = 0; /* is any S dim before p larger than one? then we need the modulo */
        for (int k = 0; k < p; k++) outer |= !dim_is_one(S->d[k]);
        const char *t = var;
        if (!dim_is_one(div)) t = arena_printf(c->ar, "%s / %s", t, emit_dim(c, div));
        if (outer) t = arena_printf(c->ar, dim_is_one(div) ? "%s %% %s" : "(%s) %% %s", t, emit_dim(c, mod));
        if (!dim_is_one(mul)) t = arena_printf(c->ar, t == var ? "%s * %s" : "(%s) * %s", t, emit_dim(c, mul));
        expr = *expr ? arena_printf(c->ar, "%s + %s", expr, t) : (char *)t;
        p = q;
    }
    return expr;
}

/* ---- elementwise groups ------------------------------------------------- */

int lower_fusable(const ir_node *n)
{
    return (ir_ops[n->op].kind == IR_ELEMWISE && ir_ops[n->op].c_expr) || n->op == OP_broadcast_to;
}

/* A fusable node outside any group (group -1: pass_fuse did not run, as in
 * a --check-numerics build) is a group of one, its own root. */
static int is_member(const ir_node *root, const ir_node *v)
{
    return lower_fusable(v) && (v == root || (v->group >= 0 && v->group == root->group));
}

/* Kernels ask for their group's members and their sibling reductions; a scan
 * of the graph per kernel made emitting L layers cost L^2, so both are
 * listed once per graph (counting sort by key, graph order kept). */
static int group_key(const ir_node *v) { return v->group >= 0 && lower_fusable(v) ? v->group : -1; }
static int sibling_key(const ir_node *v) { return v->sibling ? v->sibling->id : -1; }

static emit_lists list_by(emit_ctx *c, int (*key)(const ir_node *))
{
    const ir_graph *g = c->g;
    emit_lists l = {.n_keys = g->next_id};
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->id >= l.n_keys) l.n_keys = g->nodes[i]->id + 1;
    l.at = ARENA_NEW_ARRAY(c->ar, int, l.n_keys + 1);
    l.items = ARENA_NEW_ARRAY(c->ar, const ir_node *, g->n_nodes + 1);
    for (int i = 0; i < g->n_nodes; i++) {
        int k = key(g->nodes[i]);
        if (k >= 0 && k < l.n_keys) l.at[k + 1]++;
    }
    for (int k = 0; k < l.n_keys; k++) l.at[k + 1] += l.at[k];
    int *fill = ARENA_NEW_ARRAY(c->ar, int, l.n_keys + 1);
    memcpy(fill, l.at, sizeof *fill * (size_t)(l.n_keys + 1));
    for (int i = 0; i < g->n_nodes; i++) {
        int k = key(g->nodes[i]);
        if (k >= 0 && k < l.n_keys) l.items[fill[k]++] = g->nodes[i];
    }
    return l;
}

/* The nodes listed under key k (*out: the first of them); returns how many. */
static int list_get(const emit_lists *l, int k, const ir_node *const **out)
{
    if (k < 0 || k >= l->n_keys) return 0;
    *out = l->items + l->at[k];
    return l->at[k + 1] - l->at[k];
}

/* The members of root's fusion group (is_member), in graph order. */
static int group_members(emit_ctx *c, const ir_node *root, const ir_node *const **out)
{
    if (root->group < 0) { /* outside any group (no pass_fuse: --check-numerics): a group of one */
        if (!lower_fusable(root)) return 0;
        const ir_node **one = ARENA_NEW_ARRAY(c->ar, const ir_node *, 1);
        one[0] = root;
        *out = one;
        return 1;
    }
    if (!c->groups.at) c->groups = list_by(c, group_key);
    return list_get(&c->groups, root->group, out);
}

/* The kernel arguments: for a group, its leaves (inlined constants excluded),
 * each once; otherwise the node's inputs in order. */
static int kernel_args(const ir_node *n, const ir_node **args, int is_group)
{
    if (!is_group) {
        for (int k = 0; k < n->nin; k++) args[k] = n->in[k];
        return n->nin;
    }
    /* Walk the group's tree from the root, depth-first, inputs in order. */
    const ir_node *stack[EMIT_MAX_ARGS * 2];
    int sp = 0, na = 0;
    stack[sp++] = n;
    while (sp > 0) {
        const ir_node *v = stack[--sp];
        /* with_grad's surrogate matters to the gradient only: nothing of it is computed here */
        for (int k = (v->op == OP_with_grad ? 1 : v->nin) - 1; k >= 0; k--) {
            const ir_node *u = v->in[k];
            if (is_member(n, u)) {
                if (sp < EMIT_MAX_ARGS * 2) stack[sp++] = u;
                continue;
            }
            if (u->op == OP_constant && u->storage == IR_STORE_INLINE) continue;
            int seen = 0;
            for (int j = 0; j < na; j++) seen |= args[j] == u;
            if (!seen && na < EMIT_MAX_ARGS) args[na++] = u;
        }
    }
    /* The walk above visits inputs right to left; present them left to right. */
    for (int i = 0, j = na - 1; i < j; i++, j--) {
        const ir_node *t = args[i];
        args[i] = args[j];
        args[j] = t;
    }
    return na;
}

static int arg_index(const ir_node *const *args, int nargs, const ir_node *v)
{
    for (int k = 0; k < nargs; k++)
        if (args[k] == v) return k;
    return -1;
}

static int count_refs(const char *tmpl, int k)
{
    int cnt = 0;
    for (const char *p = tmpl; (p = strchr(p, '$')); p++)
        if (p[1] == '0' + k) cnt++;
    return cnt;
}

/* The C expression of v's element inside root's kernel, where refs[k] reads
 * argument k's element (e.g. "x0[o0 + i]", or "s1" for a hoisted broadcast
 * operand); members used more than once by their consumer's template are
 * bound to locals first (written to b, indented by ind). */
static const char *ew_expr(emit_ctx *c, FILE *b, const char *ind, const ir_node *root, const ir_node *v,
                           const ir_node *const *args, int nargs, const char *const *refs)
{
    if (!is_member(root, v)) {
        if (v->op == OP_constant && v->storage == IR_STORE_INLINE) return constant_expr(c, v);
        int k = arg_index(args, nargs, v);
        return k >= 0 ? refs[k] : "0.0f";
    }
    const char *tmpl = v->op == OP_broadcast_to ? "$0" : ir_ops[v->op].c_expr;
    const char *sub[IR_MAX_IN];
    for (int k = 0; k < v->nin && k < IR_MAX_IN; k++) {
        sub[k] = ew_expr(c, b, ind, root, v->in[k], args, nargs, refs);
        if (is_member(root, v->in[k]) && count_refs(tmpl, k) > 1) {
            fprintf(b, "%sconst float v%d = %s;\n", ind, v->in[k]->id, sub[k]);
            sub[k] = arena_printf(c->ar, "v%d", v->in[k]->id);
        }
    }
    size_t cap = strlen(tmpl) + 1;
    for (int k = 0; k < v->nin; k++) cap += (size_t)count_refs(tmpl, k) * strlen(sub[k]);
    cap += 64 * 4;
    char *out = arena_alloc(c->ar, cap);
    size_t len = 0;
    for (const char *p = tmpl; *p; p++) {
        const char *piece = NULL;
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9' && p[1] - '0' < v->nin) {
            piece = sub[p[1] - '0'];
            p++;
        } else if (p[0] == '$' && p[1] == 'f' && p[2] >= '0' && p[2] <= '3') {
            int k = p[2] - '0'; /* the op's k-th double, whatever its group calls it (ir_attrs.def) */
            piece = emit_float(c, k < v->a.nf ? v->a.f[k] : 0.0);
            p += 2;
        }
        if (piece) {
            memcpy(out + len, piece, strlen(piece));
            len += strlen(piece);
        } else {
            out[len++] = *p;
        }
    }
    out[len] = 0;
    return out;
}

/* An expression with the statements it needs first (locals for members
 * used twice), so it can be written in more than one loop. */
typedef struct ew_code {
    const char *stmts; /* "" or lines at the indentation asked for */
    const char *expr;
} ew_code;

static ew_code ew_code_of(emit_ctx *c, const char *ind, const ir_node *root, const ir_node *v,
                          const ir_node *const *args, int nargs, const char *const *refs)
{
    char *text = NULL;
    size_t len = 0;
    FILE *s = open_memstream(&text, &len);
    ew_code r = {"", "0.0f"};
    if (!s) return r;
    r.expr = ew_expr(c, s, ind, root, v, args, nargs, refs);
    fclose(s);
    r.stmts = arena_printf(c->ar, "%s", text ? text : "");
    free(text);
    return r;
}

/* ---- loop nests over broadcast operands ----------------------------------- */

/* A kernel's iteration space (a group's output shape, a reduction's input
 * shape) with adjacent dims merged whenever every operand varies along both
 * or along neither (and, for a reduction, both are reduced or both kept);
 * size-1 dims are dropped. Along each collapsed dim an operand then has one
 * stride — the product of its own later dims — or none: a per-channel
 * operand of [N, C, H, W] makes [N, C, H*W] where it varies along C only, so
 * loops over these dims index every operand without a division per element,
 * and the innermost loop is contiguous (or constant) for every operand. */
typedef struct vdim {
    ir_dim size;
    int red;                               /* a reduced dim (reductions only) */
    unsigned char full[EMIT_MAX_ARGS + 1]; /* operand k varies along this dim */
    ir_dim stride[EMIT_MAX_ARGS + 1];      /* its stride, where it varies */
} vdim;

/* Does L, broadcast (right-aligned) to S, vary along S's dim d? */
static int varies_along(const ir_shape *S, const ir_shape *L, int d)
{
    int k = d - (S->rank - L->rank);
    return k >= 0 && !dim_is_one(L->d[k]);
}

/* The collapsed dims of S for operands args[0..nargs) and, when with_out, the
 * kernel's output as operand nargs (varying along every dim). Returns their
 * number (0: S has one element). */
static int view_dims(const ir_shape *S, uint32_t red_axes, const ir_node *const *args, int nargs, int with_out,
                     vdim *vd)
{
    int nops = nargs + (with_out ? 1 : 0), m = 0;
    for (int d = 0; d < S->rank; d++) {
        if (dim_is_one(S->d[d])) continue;
        vdim v;
        memset(&v, 0, sizeof v);
        v.size = S->d[d];
        v.red = (red_axes >> d) & 1;
        for (int k = 0; k < nargs; k++) v.full[k] = (unsigned char)varies_along(S, &args[k]->shape, d);
        if (with_out) v.full[nargs] = 1;
        if (m > 0 && vd[m - 1].red == v.red && !memcmp(vd[m - 1].full, v.full, (size_t)nops))
            vd[m - 1].size = ir_dim_mul(vd[m - 1].size, v.size);
        else vd[m++] = v;
    }
    for (int k = 0; k < nops; k++) {
        ir_dim st = ir_dim_const(1);
        for (int j = m - 1; j >= 0; j--) {
            if (!vd[j].full[k]) continue;
            vd[j].stride[k] = st;
            st = ir_dim_mul(st, vd[j].size);
        }
    }
    return m;
}

/* Operand k's offset: the sum of coord[j] * its stride over the dims j that
 * have a coordinate (coord[j] NULL: not counted) and along which it varies. */
static const char *view_offset(emit_ctx *c, const vdim *vd, int m, int k, const char *const *coord)
{
    char *e = "";
    for (int j = 0; j < m; j++) {
        if (!coord[j] || !vd[j].full[k]) continue;
        const char *t = dim_is_one(vd[j].stride[k])
                            ? coord[j]
                            : arena_printf(c->ar, "%s * %s", coord[j], emit_dim(c, vd[j].stride[k]));
        e = *e ? arena_printf(c->ar, "%s + %s", e, t) : (char *)t;
    }
    return *e ? e : "0";
}

static int varies_anywhere(const vdim *vd, int m, int k)
{
    for (int j = 0; j < m; j++)
        if (vd[j].full[k]) return 1;
    return 0;
}

static const char *arg_ctype(const ir_node *v) { return v->dtype == IR_I32 ? "int32_t" : "float"; }

/* Before an innermost loop over dim `inner` with index `i`: binds each
 * operand's base offset (or, if it is constant along that dim, its value) and
 * sets refs[k] to how the loop body reads it. `base` names y's own base
 * offset if it was bound (operands with the same offset reuse it). Operands
 * constant everywhere were hoisted to the function's top (refs set already). */
static void bind_operands(emit_ctx *c, FILE *b, const char *ind, const vdim *vd, int m, int inner,
                          const char *const *coord, const ir_node *const *args, int nargs, const char *base_expr,
                          const char *base_name, const char **refs)
{
    const char *offs[EMIT_MAX_ARGS]; /* the offsets bound so far, by operand (NULL: none) */
    for (int k = 0; k < nargs; k++) {
        offs[k] = NULL;
        if (!varies_anywhere(vd, m, k)) continue;
        const char *off = view_offset(c, vd, m, k, coord);
        if (inner >= 0 && vd[inner].full[k]) {
            const char *at = dim_is_one(vd[inner].stride[k])
                                 ? "i"
                                 : arena_printf(c->ar, "i * %s", emit_dim(c, vd[inner].stride[k]));
            const char *name = NULL;
            if (base_name && !strcmp(off, base_expr)) name = base_name;
            for (int j = 0; j < k && !name; j++)
                if (offs[j] && !strcmp(offs[j], off)) name = arena_printf(c->ar, "o%d", j);
            if (!strcmp(off, "0")) {
                refs[k] = arena_printf(c->ar, "x%d[%s]", k, at);
            } else if (name) {
                refs[k] = arena_printf(c->ar, "x%d[%s + %s]", k, name, at);
            } else {
                fprintf(b, "%sconst int64_t o%d = %s;\n", ind, k, off);
                offs[k] = off;
                refs[k] = arena_printf(c->ar, "x%d[o%d + %s]", k, k, at);
            }
        } else {
            fprintf(b, "%sconst %s s%d = x%d[%s];\n", ind, arg_ctype(args[k]), k, k, off);
            refs[k] = arena_printf(c->ar, "s%d", k);
        }
    }
}

/* Operands with a single element: read once at the kernel's top. */
static void hoist_scalars(emit_ctx *c, FILE *b, const vdim *vd, int m, const ir_node *const *args, int nargs,
                          const char **refs)
{
    for (int k = 0; k < nargs; k++) {
        if (varies_anywhere(vd, m, k)) continue;
        fprintf(b, "    const %s s%d = x%d[0];\n", arg_ctype(args[k]), k, k);
        refs[k] = arena_printf(c->ar, "s%d", k);
    }
}

static const char *indent(emit_ctx *c, int depth) { return arena_printf(c->ar, "%*s", 4 + 4 * depth, ""); }

/* `#pragma omp parallel for` above a loop nest of `trips` iterations that
 * touches `elems` elements with about `work` operations (loads, stores,
 * arithmetic) each, when elems * work can reach `threshold`; with a run-time
 * if() when elems depends on the batch. */
static void emit_pragma(emit_ctx *c, FILE *b, const char *ind, ir_dim trips, ir_dim elems, int64_t work,
                        int64_t threshold, const char *clauses)
{
    if (work < 1) work = 1;
    if (c->serial || (trips.syms == 0 && trips.k <= 1)) return;
    if (elems.syms == 0) {
        if (elems.k * work >= threshold) fprintf(b, "%s#pragma omp parallel for schedule(static)%s\n", ind, clauses);
    } else {
        fprintf(b, "%s#pragma omp parallel for schedule(static)%s if(%s >= %lld)\n", ind, clauses,
                emit_dim(c, elems), (long long)((threshold + work - 1) / work));
    }
}

/* An elementwise group: loops over the collapsed dims of its output, the
 * outer ones as one parallel nest (collapse), the innermost contiguous. */
static void emit_group(emit_ctx *c, FILE *b, const ir_node *n, const ir_node *const *args, int nargs)
{
    const ir_node *const *mem;
    int ops = group_members(c, n, &mem);
    vdim vd[IR_MAX_RANK];
    int m = view_dims(&n->shape, 0, args, nargs, 1, vd);
    const char *refs[EMIT_MAX_ARGS];
    hoist_scalars(c, b, vd, m, args, nargs, refs);
    if (m == 0) { /* a scalar: no loop */
        ew_code e = ew_code_of(c, "    ", n, n, args, nargs, refs);
        fprintf(b, "%s    y[0] = %s;\n", e.stmts, e.expr);
        return;
    }
    int inner = m - 1;
    const char *coord[IR_MAX_RANK] = {0};
    char clause[32] = "";
    if (inner >= 2) snprintf(clause, sizeof clause, " collapse(%d)", inner);
    ir_dim trips = ir_dim_const(1);
    for (int j = 0; j < (inner > 0 ? inner : 1); j++) trips = ir_dim_mul(trips, vd[j].size);
    emit_pragma(c, b, "    ", trips, ir_shape_numel(&n->shape), ops + nargs + 1, EMIT_PAR_STREAM, clause);
    for (int j = 0; j < inner; j++) {
        coord[j] = arena_printf(c->ar, "j%d", j);
        fprintf(b, "%sfor (int64_t %s = 0; %s < %s; %s++)%s\n", indent(c, j), coord[j], coord[j],
                emit_dim(c, vd[j].size), coord[j], j == inner - 1 ? " {" : "");
    }
    const char *ind = indent(c, inner > 0 ? inner : 0);
    const char *yoff = view_offset(c, vd, m, nargs, coord), *ybase = NULL;
    if (strcmp(yoff, "0")) {
        fprintf(b, "%sconst int64_t oy = %s;\n", ind, yoff);
        ybase = "oy";
    }
    bind_operands(c, b, ind, vd, m, inner, coord, args, nargs, yoff, ybase, refs);
    ew_code e = ew_code_of(c, arena_printf(c->ar, "%s    ", ind), n, n, args, nargs, refs);
    fprintf(b, "%sfor (int64_t i = 0; i < %s; i++)", ind, emit_dim(c, vd[inner].size));
    const char *yat = ybase ? "y[oy + i]" : "y[i]";
    if (*e.stmts) fprintf(b, " {\n%s%s    %s = %s;\n%s}\n", e.stmts, ind, yat, e.expr, ind);
    else fprintf(b, "\n%s    %s = %s;\n", ind, yat, e.expr);
    if (inner > 0) fprintf(b, "%s}\n", indent(c, inner - 1));
}

/* ---- sources ------------------------------------------------------------ */

static void emit_constant(emit_ctx *c, FILE *b, const ir_node *n)
{
    emit_for(c, b, "    ", "i", ir_shape_numel(&n->shape), 1, "");
    fprintf(b, " y[i] = %s;\n", constant_expr(c, n));
}

static void emit_rand(emit_ctx *c, FILE *b, const ir_node *n)
{
    c->uses_seed = 1;
    fprintf(b, "    /* counter-based: the same (seed, stream) gives the same numbers at any thread count */\n");
    long long stream = n->a.ni > 0 ? n->a.rand.stream : n->id;
    if (n->op == OP_rand_int)
        fprintf(b, "    dl_fill_randint(y, %s, seed, %lldu, %.0f, %.0f);\n", emit_numel(c, &n->shape), stream, n->a.rand.low,
                n->a.rand.high);
    else
        fprintf(b, "    dl_fill_%s(y, %s, seed, %lldu);\n", n->op == OP_rand_uniform ? "uniform" : "normal",
                emit_numel(c, &n->shape), stream);
}

/* iota: the index along the axis from the flat index (divide by the dims
 * after it, wrap at its length unless it is the first dim that is not 1),
 * then start + step * index — in double for f32, as torch.arange computes
 * before rounding, and in integers for i32. */
static void emit_iota(emit_ctx *c, FILE *b, const ir_node *n)
{
    int axis = (int)n->a.iota.axis, outer = 0;
    ir_dim inner = ir_dim_const(1);
    for (int d = axis + 1; d < n->shape.rank; d++) inner = ir_dim_mul(inner, n->shape.d[d]);
    for (int d = 0; d < axis; d++) outer |= !dim_is_one(n->shape.d[d]);
    const char *idx = "i";
    if (!dim_is_one(inner)) idx = arena_printf(c->ar, "i / %s", emit_dim(c, inner));
    if (outer) idx = arena_printf(c->ar, "(%s) %% %s", idx, emit_dim(c, n->shape.d[axis]));
    if (c->decode && c->decode->role[n->id] == DECODE_OFFSET) { /* positions pos, pos + 1, ... */
        idx = arena_printf(c->ar, "pos + (%s)", idx);
        c->uses_pos = 1;
    }
    double start = n->a.iota.start, step = n->a.iota.step;
    const char *v;
    if (n->dtype == IR_I32)
        v = arena_printf(c->ar, "(int32_t)(%lld + %lld * (%s))", (long long)start, (long long)step, idx);
    else if (start == 0 && step == 1)
        v = arena_printf(c->ar, "(float)(%s)", idx);
    else
        v = arena_printf(c->ar, "(float)(%.17g + %.17g * (double)(%s))", start, step, idx);
    emit_for(c, b, "    ", "i", ir_shape_numel(&n->shape), 2, "");
    fprintf(b, " y[i] = %s;\n", v);
}

/* ---- reductions ----------------------------------------------------------- */

/* A reduction whose input is an elementwise group computed inline
 * (pass_fuse: the group's only use is this reduction). */
static int is_fused_reduce(const ir_node *n)
{
    return (n->op == OP_reduce_sum || n->op == OP_reduce_max) && n->group == n->id && is_member(n, n->in[0]);
}

/* The coordinate along kept dim j of output element `o` (kept dims are y's
 * dims, in order): "(o / 1024 % 16)". */
static const char *kept_coord(emit_ctx *c, const vdim *vd, int m, int j)
{
    ir_dim div = ir_dim_const(1);
    int first = 1;
    for (int k = 0; k < m; k++) {
        if (vd[k].red) continue;
        if (k < j) first = 0;
        if (k > j) div = ir_dim_mul(div, vd[k].size);
    }
    const char *t = "o";
    if (!dim_is_one(div)) t = arena_printf(c->ar, "o / %s", emit_dim(c, div));
    if (!first) t = arena_printf(c->ar, "%s %% %s", t, emit_dim(c, vd[j].size));
    return t[1] ? arena_printf(c->ar, "(%s)", t) : t;
}

/* The reductions one kernel computes: n alone, or n and the siblings it
 * leads (pass_fuse rule 7), in graph order. */
static int reduce_members(emit_ctx *c, const ir_node *n, const ir_node **rs)
{
    int nr = 0;
    rs[nr++] = n;
    if (n->sibling != n) return nr;
    if (!c->siblings.at) c->siblings = list_by(c, sibling_key);
    const ir_node *const *sib;
    int ns = list_get(&c->siblings, n->id, &sib);
    for (int i = 0; i < ns; i++)
        if (sib[i] != n && nr < LOWER_MAX_SIBLINGS) rs[nr++] = sib[i];
    return nr;
}

/* The kernel arguments of reductions rs: each one's, once, in order. */
static int reduce_args(const ir_node *const *rs, int nr, const ir_node **args)
{
    int na = 0;
    for (int j = 0; j < nr; j++) {
        const ir_node *a[EMIT_MAX_ARGS];
        int k = kernel_args(rs[j], a, is_fused_reduce(rs[j]));
        for (int i = 0; i < k; i++)
            if (arg_index(args, na, a[i]) < 0 && na < EMIT_MAX_ARGS) args[na++] = a[i];
    }
    return na;
}

/* Names in a kernel computing nr reductions: "acc" for one, "acc0", "acc1", ...
 * for siblings; outputs are y, y1, y2, ... either way. */
static const char *red_name(emit_ctx *c, const char *base, int j, int nr)
{
    return nr == 1 ? base : arena_printf(c->ar, "%s%d", base, j);
}

static const char *red_out(emit_ctx *c, int j) { return j ? arena_printf(c->ar, "y%d", j) : "y"; }

/* Column sums ([R, K] reduced over R, e.g. bias gradients): rows outer and
 * contiguous columns inner, so the loads vectorize, in blocks of columns
 * whose accumulators stay in L1; per column the same order and precision as
 * the general loop. */
static void reduce_columns(emit_ctx *c, FILE *b, const ir_node *const *rs, int nr, const vdim *vd,
                           const ir_node *const *args, int nargs, const char **refs, int64_t work)
{
    int is_max = rs[0]->op == OP_reduce_max;
    const char *acc_t = is_max ? "float" : "double", *init = is_max ? "-INFINITY" : "0.0";
    const int64_t K = vd[1].size.k, blk = 128, nblk = (K + blk - 1) / blk;
    emit_pragma(c, b, "    ", ir_dim_const(nblk), ir_dim_mul(vd[0].size, vd[1].size), work, EMIT_PAR_STREAM, "");
    fprintf(b, "    for (int64_t ob = 0; ob < %lld; ob++) {\n", (long long)nblk);
    fprintf(b, "        const int64_t c0 = ob * %lld, nc = %lld - c0 < %lld ? %lld - c0 : %lld;\n", (long long)blk,
            (long long)K, (long long)blk, (long long)K, (long long)blk);
    for (int j = 0; j < nr; j++) fprintf(b, "        %s %s[%lld];\n", acc_t, red_name(c, "acc", j, nr), (long long)blk);
    for (int j = 0; j < nr; j++)
        fprintf(b, "        for (int64_t i = 0; i < nc; i++) %s[i] = %s;\n", red_name(c, "acc", j, nr), init);
    fprintf(b, "        for (int64_t r = 0; r < %s; r++) {\n", emit_dim(c, vd[0].size));
    const char *coord[2] = {"r", "c0"};
    bind_operands(c, b, "            ", vd, 2, 1, coord, args, nargs, "", NULL, refs);
    fprintf(b, "            for (int64_t i = 0; i < nc; i++) {\n");
    for (int j = 0; j < nr; j++) {
        const char *acc = red_name(c, "acc", j, nr);
        ew_code e = ew_code_of(c, "                ", rs[j], rs[j]->in[0], args, nargs, refs);
        fprintf(b, "%s", e.stmts);
        if (is_max) fprintf(b, "                %s[i] = dl_fmaxf(%s[i], %s);\n", acc, acc, e.expr);
        else fprintf(b, "                %s[i] += %s;\n", acc, e.expr);
    }
    fprintf(b, "            }\n        }\n");
    for (int j = 0; j < nr; j++)
        fprintf(b, "        for (int64_t i = 0; i < nc; i++) %s[c0 + i] = (float)%s[i];\n", red_out(c, j),
                red_name(c, "acc", j, nr));
    fprintf(b, "    }\n");
}

/* `acc = dl_fmaxf(acc, e)` / `acc += e` for member j, with its statements. */
int emit_mentions_ident(const char *text, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = strstr(text, id); p; p = strstr(p + 1, id)) {
        int before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = isalnum((unsigned char)p[n]) || p[n] == '_';
        if (!before && !after) return 1;
    }
    return 0;
}

static void reduce_step(emit_ctx *c, FILE *b, const char *ind, const ir_node *r, const char *acc,
                        const ir_node *const *args, int nargs, const char *const *refs)
{
    ew_code e = ew_code_of(c, ind, r, r->in[0], args, nargs, refs);
    fprintf(b, "%s", e.stmts);
    if (r->op == OP_reduce_max) fprintf(b, "%s%s = dl_fmaxf(%s, %s);\n", ind, acc, acc, e.expr);
    else fprintf(b, "%s%s += %s;\n", ind, acc, e.expr);
}

/* reduce_sum / reduce_max over the input's collapsed dims: one (parallel)
 * loop over the output elements, inside it one loop per reduced dim,
 * outermost first (the order of the flat index), so no division per input
 * element. When the innermost reduced dim is the last dim (contiguous for
 * every operand), a sum runs in EMIT_SUM_LANES double lanes, then 8, then one
 * (vectorizes; double keeps the different order harmless), e.g. batch-norm
 * statistics over N, H, W: with 8 lanes these loops waited on the add
 * latency, and 32 made ResNet-20's train step 5-6% faster (1 thread,
 * 156-158 -> 148-150 ms, alternating). The
 * input is x0, or the elementwise group fused into the reduction, evaluated
 * element by element and never stored. Sibling reductions (pass_fuse rule 7)
 * share the loops, each with its own accumulators in the same order as alone. */
enum { EMIT_SUM_LANES = 32 };
/* A reduction of everything to one value is summed in this many contiguous
 * chunks, each its own accumulator, which are then added in chunk order: the
 * chunks depend on the size alone, so the sum is the same bits whether one
 * thread runs them or several (OpenMP's reduction clause combines per-thread
 * sums, and so changed with the thread count). */
enum { EMIT_SUM_CHUNKS = 16 };

void emit_reduce(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_node *rs[LOWER_MAX_SIBLINGS];
    int nr = reduce_members(c, n, rs);
    const ir_node *args[EMIT_MAX_ARGS];
    int nargs = reduce_args(rs, nr, args);
    int is_max = n->op == OP_reduce_max;
    int ops = nr;
    for (int j = 0; j < nr; j++) {
        const ir_node *const *mem;
        ops += group_members(c, rs[j], &mem);
    }
    const int64_t work = ops + nargs;
    vdim vd[IR_MAX_RANK];
    int m = view_dims(&n->in[0]->shape, (uint32_t)n->a.reduce.axes, args, nargs, 0, vd);
    const char *refs[EMIT_MAX_ARGS];
    hoist_scalars(c, b, vd, m, args, nargs, refs);
    const char *acc_t = is_max ? "float" : "double", *init = is_max ? "-INFINITY" : "0.0";
    const char *acc[LOWER_MAX_SIBLINGS], *lane[LOWER_MAX_SIBLINGS];
    for (int j = 0; j < nr; j++) acc[j] = red_name(c, "acc", j, nr), lane[j] = red_name(c, "lane", j, nr);
    ir_dim outn = ir_dim_const(1), redn = ir_dim_const(1);
    int last_red = -1;
    for (int j = 0; j < m; j++) {
        if (vd[j].red) redn = ir_dim_mul(redn, vd[j].size), last_red = j;
        else outn = ir_dim_mul(outn, vd[j].size);
    }
    ir_dim elems = ir_dim_mul(outn, redn);
    const char *coord[IR_MAX_RANK] = {0};
    if (m == 1 && last_red == 0) { /* everything, one dim: fixed chunks, then their partials in order */
        const char *len = emit_dim(c, redn), *part[LOWER_MAX_SIBLINGS];
        fprintf(b, "    /* %d fixed chunks, combined in order: the same result at any thread count */\n",
                EMIT_SUM_CHUNKS);
        for (int j = 0; j < nr; j++) {
            part[j] = red_name(c, "part", j, nr);
            fprintf(b, "    %s %s[%d];\n", acc_t, part[j], EMIT_SUM_CHUNKS);
        }
        emit_pragma(c, b, "    ", ir_dim_const(EMIT_SUM_CHUNKS), redn, work, EMIT_PAR_STREAM, "");
        fprintf(b, "    for (int64_t ch = 0; ch < %d; ch++) {\n", EMIT_SUM_CHUNKS);
        for (int j = 0; j < nr; j++) fprintf(b, "        %s %s = %s;\n", acc_t, acc[j], init);
        bind_operands(c, b, "        ", vd, m, 0, coord, args, nargs, "", NULL, refs);
        fprintf(b, "        for (int64_t i = %s * ch / %d; i < %s * (ch + 1) / %d; i++) {\n", len, EMIT_SUM_CHUNKS, len,
                EMIT_SUM_CHUNKS);
        for (int j = 0; j < nr; j++) reduce_step(c, b, "            ", rs[j], acc[j], args, nargs, refs);
        fprintf(b, "        }\n");
        for (int j = 0; j < nr; j++) fprintf(b, "        %s[ch] = %s;\n", part[j], acc[j]);
        fprintf(b, "    }\n");
        for (int j = 0; j < nr; j++) {
            fprintf(b, "    %s %s = %s;\n", acc_t, acc[j], init);
            fprintf(b, "    for (int64_t ch = 0; ch < %d; ch++) %s;\n", EMIT_SUM_CHUNKS,
                    is_max ? arena_printf(c->ar, "%s = dl_fmaxf(%s, %s[ch])", acc[j], acc[j], part[j])
                           : arena_printf(c->ar, "%s += %s[ch]", acc[j], part[j]));
            fprintf(b, "    %s[0] = (float)%s;\n", red_out(c, j), acc[j]);
        }
        return;
    }
    if (m == 2 && vd[0].red && !vd[1].red && vd[1].size.syms == 0) {
        reduce_columns(c, b, rs, nr, vd, args, nargs, refs, work);
        return;
    }
    int has_o = !dim_is_one(outn);
    if (has_o) {
        emit_pragma(c, b, "    ", outn, elems, work, EMIT_PAR_STREAM, "");
        fprintf(b, "    for (int64_t o = 0; o < %s; o++) {\n", emit_dim(c, outn));
        for (int j = 0; j < m; j++)
            if (!vd[j].red) coord[j] = kept_coord(c, vd, m, j);
    } else {
        fprintf(b, "    {\n");
    }
    const char *at = has_o ? "o" : "0";
    if (last_red < 0) { /* nothing to reduce: the input itself */
        bind_operands(c, b, "        ", vd, m, -1, coord, args, nargs, "", NULL, refs);
        for (int j = 0; j < nr; j++) {
            ew_code e = ew_code_of(c, "        ", rs[j], rs[j]->in[0], args, nargs, refs);
            fprintf(b, "%s        %s[%s] = %s;\n", e.stmts, red_out(c, j), at, e.expr);
        }
        fprintf(b, "    }\n");
        return;
    }
    const int lanes = !is_max && last_red == m - 1;
    for (int j = 0; j < nr; j++) fprintf(b, "        %s %s = %s;\n", acc_t, acc[j], init);
    if (lanes)
        for (int j = 0; j < nr; j++) fprintf(b, "        double %s[%d] = {0};\n", lane[j], EMIT_SUM_LANES);
    int depth = 1;
    for (int j = 0; j < last_red; j++) {
        if (!vd[j].red) continue;
        coord[j] = arena_printf(c->ar, "r%d", j);
        fprintf(b, "%sfor (int64_t r%d = 0; r%d < %s; r%d++) {\n", indent(c, depth), j, j, emit_dim(c, vd[j].size), j);
        depth++;
    }
    const char *ind = indent(c, depth), *len = emit_dim(c, vd[last_red].size);
    const char *ind1 = arena_printf(c->ar, "%s    ", ind);
    bind_operands(c, b, ind, vd, m, last_red, coord, args, nargs, "", NULL, refs);
    if (lanes) {
        const char *ind2 = arena_printf(c->ar, "%s        ", ind);
        /* Siblings: the row loop once per sibling, each exactly as alone (GCC
         * vectorizes that, not one loop feeding several lane arrays); the row
         * is in L1 for the later ones, so memory is still streamed once. */
        for (int j = 0; j < nr; j++) {
            const char *q = nr > 1 ? arena_printf(c->ar, "q%d", j) : "q";
            fprintf(b, "%sint64_t %s = 0;\n", ind, q);
            for (int width = EMIT_SUM_LANES; width >= 8; width = width > 8 ? 8 : 0) {
                fprintf(b, "%sfor (; %s + %d <= %s; %s += %d)\n", ind, q, width, len, q, width);
                fprintf(b, "%s    for (int k = 0; k < %d; k++) {\n", ind, width);
                char *step = NULL;
                size_t step_len = 0;
                FILE *s = open_memstream(&step, &step_len);
                reduce_step(c, s, ind2, rs[j], arena_printf(c->ar, "%s[k]", lane[j]), args, nargs, refs);
                fclose(s);
                /* a broadcast scalar summed (the gradient of a sum) reads no element */
                if (emit_mentions_ident(step, "i")) fprintf(b, "%sconst int64_t i = %s + k;\n", ind2, q);
                fputs(step, b);
                free(step);
                fprintf(b, "%s    }\n", ind);
            }
            fprintf(b, "%sfor (int64_t i = %s; i < %s; i++) {\n", ind, q, len);
            reduce_step(c, b, ind1, rs[j], arena_printf(c->ar, "%s[0]", lane[j]), args, nargs, refs);
            fprintf(b, "%s}\n", ind);
        }
    } else {
        fprintf(b, "%sfor (int64_t i = 0; i < %s; i++) {\n", ind, len);
        for (int j = 0; j < nr; j++) reduce_step(c, b, ind1, rs[j], acc[j], args, nargs, refs);
        fprintf(b, "%s}\n", ind);
    }
    for (int k = depth - 1; k >= 1; k--) fprintf(b, "%s}\n", indent(c, k));
    if (lanes)
        for (int j = 0; j < nr; j++) fprintf(b, "        for (int k = 0; k < %d; k++) %s += %s[k];\n", EMIT_SUM_LANES, acc[j], lane[j]);
    for (int j = 0; j < nr; j++) fprintf(b, "        %s[%s] = (float)%s;\n", red_out(c, j), at, acc[j]);
    fprintf(b, "    }\n");
}

int lower_siblings_ok(const ir_node *a, const ir_node *b)
{
    if ((a->op != OP_reduce_sum && a->op != OP_reduce_max) || a->op != b->op || a->dtype != IR_F32 ||
        b->dtype != IR_F32 || a->a.reduce.axes != b->a.reduce.axes || !ir_shape_eq(&a->shape, &b->shape) ||
        !ir_shape_eq(&a->in[0]->shape, &b->in[0]->shape))
        return 0;
    const ir_node *aa[EMIT_MAX_ARGS], *ba[EMIT_MAX_ARGS];
    int na = kernel_args(a, aa, is_fused_reduce(a)), nb = kernel_args(b, ba, is_fused_reduce(b));
    if (na > EMIT_MAX_ARGS / LOWER_MAX_SIBLINGS || nb > EMIT_MAX_ARGS / LOWER_MAX_SIBLINGS) return 0;
    vdim va[IR_MAX_RANK], vb[IR_MAX_RANK];
    uint32_t axes = (uint32_t)a->a.reduce.axes;
    int ma = view_dims(&a->in[0]->shape, axes, aa, na, 0, va), mb = view_dims(&b->in[0]->shape, axes, ba, nb, 0, vb);
    if (ma != mb) return 0;
    int reduced = 0;
    for (int j = 0; j < ma; j++) {
        if (!ir_dim_eq(va[j].size, vb[j].size) || va[j].red != vb[j].red) return 0;
        reduced |= va[j].red;
    }
    return reduced; /* an identity "reduction" has nothing to share */
}

/* ---- data movement ------------------------------------------------------- */

static void emit_copy(emit_ctx *c, FILE *b, const ir_node *n)
{
    fprintf(b, "    memcpy(y, x0, (size_t)%s * sizeof(float));\n", emit_numel(c, &n->shape));
}

/* A transpose as rows of a contiguous output run: output dims of size one are
 * dropped and neighbours that are also neighbours, in order, in the input are
 * merged (out dim k reads input stride t_k; k and k+1 merge when t_k =
 * t_{k+1} * size_{k+1}), so [N, T, H, hd] -> [N, H, T, hd] is rows of hd
 * floats copied from stride-1 runs. Division and modulo run once per row,
 * never per element: per element they cost more than the copy. */
static void emit_transpose(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_shape *xs = &n->in[0]->shape, *ys = &n->shape;
    ir_dim size[IR_MAX_RANK], stride[IR_MAX_RANK];
    int m = 0;
    for (int k = 0; k < ys->rank; k++) {
        if (dim_is_one(ys->d[k])) continue;
        int pk = (int)n->a.transpose.perm[k];
        ir_dim t = dims_product(xs, pk + 1, xs->rank);
        if (m > 0 && ir_dim_eq(stride[m - 1], ir_dim_mul(t, ys->d[k]))) {
            size[m - 1] = ir_dim_mul(size[m - 1], ys->d[k]);
            stride[m - 1] = t;
        } else {
            size[m] = ys->d[k];
            stride[m++] = t;
        }
    }
    if (m == 0) {
        fprintf(b, "    y[0] = x0[0];\n");
        return;
    }
    ir_dim rows = ir_dim_const(1), len = size[m - 1];
    for (int k = 0; k < m - 1; k++) rows = ir_dim_mul(rows, size[k]);
    const char *base = "0";
    for (int k = 0; k < m - 1; k++) {
        ir_dim div = ir_dim_const(1);
        for (int j = k + 1; j < m - 1; j++) div = ir_dim_mul(div, size[j]);
        const char *t = dim_is_one(div) ? "r" : arena_printf(c->ar, "r / %s", emit_dim(c, div));
        if (k > 0) t = arena_printf(c->ar, dim_is_one(div) ? "%s %% %s" : "(%s) %% %s", t, emit_dim(c, size[k]));
        t = arena_printf(c->ar, strchr(t, ' ') ? "(%s) * %s" : "%s * %s", t, emit_dim(c, stride[k]));
        base = k == 0 ? t : arena_printf(c->ar, "%s + %s", base, t);
    }
    const char *L = emit_dim(c, len);
    const char *at = dim_is_one(stride[m - 1]) ? "j" : arena_printf(c->ar, "j * %s", emit_dim(c, stride[m - 1]));
    emit_for(c, b, "    ", "r", rows, 2 * (len.syms ? 64 * len.k : len.k), "");
    fprintf(b, " {\n");
    const char *ty = n->dtype == IR_I32 ? "int32_t" : "float"; /* ids are moved too */
    fprintf(b, "        const %s *restrict xr = x0 + %s;\n", ty, base);
    fprintf(b, "        %s *restrict yr = y + r * %s;\n", ty, L);
    fprintf(b, "        for (int64_t j = 0; j < %s; j++) yr[j] = xr[%s];\n", L, at);
    fprintf(b, "    }\n");
}


/* ---- contractions -------------------------------------------------------- */

void emit_matmul(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_shape *as = &n->in[0]->shape, *bs = &n->in[1]->shape;
    int ta = n->a.ni > 0 && n->a.matmul.ta, tb = n->a.ni > 1 && n->a.matmul.tb;
    ir_dim M, K, N;
    ir_shape abatch = *as, bbatch = *bs;
    if (as->rank == 1) { /* a vector: one row */
        ta = 0;
        M = ir_dim_const(1);
        K = as->d[0];
        abatch.rank = 0;
    } else {
        M = as->d[as->rank - (ta ? 1 : 2)];
        K = as->d[as->rank - (ta ? 2 : 1)];
        abatch.rank = as->rank - 2;
    }
    if (bs->rank == 1) { /* b vector: one column */
        tb = 0;
        N = ir_dim_const(1);
        bbatch.rank = 0;
    } else {
        N = bs->d[bs->rank - (tb ? 2 : 1)];
        bbatch.rank = bs->rank - 2;
    }
    const char *Ms = emit_dim(c, M), *Ns = emit_dim(c, N), *Ks = emit_dim(c, K);
    const char *lda = ta ? Ms : Ks, *ldb = tb ? Ks : Ns;
    ir_dim an = ir_shape_numel(&abatch), bn = ir_shape_numel(&bbatch);
    fprintf(b, "    /* y[%s, %s] = a%s @ b%s */\n", Ms, Ns, ta ? "^T" : "", tb ? "^T" : "");
    if (dim_is_one(bn) && !ta) { /* a's batch dims fold into M: one GEMM */
        const char *MM = emit_dim(c, ir_dim_mul(M, an));
        const int w = emit_weights_cached_b(c, n->in[1]); /* b a weight: packed once per version */
        fprintf(b, "    dl_sgemm%s(%s0, %d, %s, %s, %s, 1.0f, x0, %s, x1, %s, 0.0f, y, %s);\n", w ? "_w" : "",
                w ? "wver, " : "", tb, MM, Ns, Ks, lda, ldb, Ns);
        return;
    }
    ir_shape obatch;
    if (!ir_broadcast_shapes(&abatch, &bbatch, &obatch)) obatch = abatch;
    ir_dim on = ir_shape_numel(&obatch);
    if (dim_is_one(on)) {
        fprintf(b, "    dl_sgemm(%d, %d, %s, %s, %s, 1.0f, x0, %s, x1, %s, 0.0f, y, %s);\n", ta, tb, Ms, Ns, Ks, lda, ldb,
                Ns);
        return;
    }
    const char *ai = bcast_index(c, &obatch, &abatch, "bi"), *bi = bcast_index(c, &obatch, &bbatch, "bi");
    /* Products too small for dl_sgemm to split (attention's heads: 64x64x32)
     * are shared out whole over the batch; each is one thread's, in the same
     * order at any thread count. Larger ones stay serial here and dl_sgemm
     * splits each. */
    ir_dim mnk = ir_dim_mul(ir_dim_mul(M, N), K);
    if (!c->serial && (mnk.syms || mnk.k < DL_GEMM_PARALLEL_FLOPS)) {
        const char *total = emit_dim(c, ir_dim_mul(on, mnk));
        if (mnk.syms)
            fprintf(b, "    #pragma omp parallel for schedule(static) if(%s >= DL_GEMM_PARALLEL_FLOPS && %s < "
                       "DL_GEMM_PARALLEL_FLOPS)\n", total, emit_dim(c, mnk));
        else
            fprintf(b, "    #pragma omp parallel for schedule(static) if(%s >= DL_GEMM_PARALLEL_FLOPS)\n", total);
        fprintf(b, "    for (int64_t bi = 0; bi < %s; bi++) /* dl_sgemm runs on this thread */\n", emit_dim(c, on));
    } else {
        fprintf(b, "    for (int64_t bi = 0; bi < %s; bi++) /* serial: dl_sgemm is parallel inside */\n",
                emit_dim(c, on));
    }
    fprintf(b, "        dl_sgemm(%d, %d, %s, %s, %s, 1.0f, x0 + (%s) * %s, %s, x1 + (%s) * %s, %s, 0.0f,\n", ta,
            tb, Ms, Ns, Ks, ai, emit_dim(c, ir_dim_mul(M, K)), lda, bi, emit_dim(c, ir_dim_mul(K, N)), ldb);
    fprintf(b, "                 y + bi * %s, %s);\n", emit_dim(c, ir_dim_mul(M, N)), Ns);
}

/* ---- softmax family ------------------------------------------------------ */

void emit_softmax(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_shape *s = &n->shape;
    int ax = (int)n->a.softmax.axis;
    ir_dim outer = dims_product(s, 0, ax), A = s->d[ax], inner = dims_product(s, ax + 1, s->rank);
    int contiguous = dim_is_one(inner);
    const char *As = emit_dim(c, A);
    const char *st = contiguous ? "" : arena_printf(c->ar, " * %s", emit_dim(c, inner));
    fprintf(b, "    /* stable: subtract the row max before exp */\n");
    emit_for(c, b, "    ", "r", ir_dim_mul(outer, inner), A.syms ? 64 : 8 * A.k, "");
    fprintf(b, " {\n");
    if (contiguous) {
        fprintf(b, "        const float *restrict xr = x0 + r * %s;\n", As);
        fprintf(b, "        float *restrict yr = y + r * %s;\n", As);
    } else {
        const char *in = emit_dim(c, inner);
        fprintf(b, "        const int64_t base = (r / %s) * %s * %s + r %% %s;\n", in, As, in, in);
        fprintf(b, "        const float *restrict xr = x0 + base;\n");
        fprintf(b, "        float *restrict yr = y + base;\n");
    }
    fprintf(b, "        float mx = -INFINITY;\n");
    /* a select, not fmaxf (a libm call without -ffinite-math-only); both skip a NaN element */
    fprintf(b, "        for (int64_t j = 0; j < %s; j++) mx = xr[j%s] > mx ? xr[j%s] : mx;\n", As, st, st);
    fprintf(b, "        float sum = 0.0f;\n");
    if (n->op == OP_softmax) {
        fprintf(b, "        for (int64_t j = 0; j < %s; j++) {\n", As);
        fprintf(b, "            const float e = dl_expf(xr[j%s] - mx);\n", st);
        fprintf(b, "            yr[j%s] = e;\n            sum += e;\n        }\n", st);
        fprintf(b, "        const float inv = 1.0f / sum;\n");
        fprintf(b, "        for (int64_t j = 0; j < %s; j++) yr[j%s] *= inv;\n", As, st);
    } else {
        fprintf(b, "        for (int64_t j = 0; j < %s; j++) sum += dl_expf(xr[j%s] - mx);\n", As, st);
        fprintf(b, "        const float lse = mx + logf(sum);\n");
        fprintf(b, "        for (int64_t j = 0; j < %s; j++) yr[j%s] = xr[j%s] - lse;\n", As, st, st);
    }
    fprintf(b, "    }\n");
}

/* ---- indexing by labels and indices ------------------------------------ */

/* The user's position of node n as emit_origin writes it ("m.dln:4:9", with
 * the stdlib block and "backward of" notes), as a C string literal. */
static const char *origin_literal(emit_ctx *c, const ir_node *n)
{
    char *text = NULL, *lit = NULL;
    size_t len = 0, llen = 0;
    FILE *t = open_memstream(&text, &len);
    emit_origin(t, n);
    fclose(t);
    size_t skip = strlen("/* "), end = strlen(text);
    while (end > skip && text[end - 1] == ' ') end--;
    text[end] = '\0';
    FILE *l = open_memstream(&lit, &llen);
    emit_cstr(l, end > skip ? text + skip : "an unknown line");
    fclose(l);
    const char *r = arena_printf(c->ar, "%s", lit);
    free(text);
    free(lit);
    return r;
}

/* take / scatter_add / gather index x1 (`rows` of them) against `bound`: checked
 * before anything is read or written, serially, so the first bad index is
 * reported and no out-of-range row is ever touched. */
static void emit_index_check(emit_ctx *c, FILE *b, const ir_node *n, const char *rows, const char *bound)
{
    c->returns_status = 1;
    fprintf(b, "    for (int64_t r = 0; r < %s; r++)\n", rows);
    fprintf(b, "        if (x1[r] < 0 || x1[r] >= %s) {\n", bound);
    fprintf(b, "            dl_set_error(\"index %%d out of range [0, %%lld) in %s at %%s (element %%lld of the index)\",\n",
            ir_ops[n->op].name);
    fprintf(b, "                         (int)x1[r], (long long)%s, %s, (long long)r);\n", bound, origin_literal(c, n));
    fprintf(b, "            return -1;\n        }\n");
}

/* pick (y[r] = x0[r, k]) and unpick (zeros, y[r, k] = x0[r]) with k = x1[r]:
 * serial, O(rows); the first label outside [0, C) stops the step, and an
 * ignored label (ignore_index) gives 0 / a zero row. */
static void emit_pick_unpick(emit_ctx *c, FILE *b, const ir_node *n)
{
    int pick = n->op == OP_pick;
    const ir_shape *wide = pick ? &n->in[0]->shape : &n->shape;
    const char *Cs = emit_dim(c, wide->d[wide->rank - 1]);
    c->returns_status = 1;
    if (!pick) fprintf(b, "    memset(y, 0, (size_t)%s * sizeof(float));\n", emit_numel(c, &n->shape));
    fprintf(b, "    for (int64_t r = 0; r < %s; r++) {\n", emit_numel(c, &n->in[1]->shape));
    fprintf(b, "        const int32_t k = x1[r];\n");
    if (n->a.ni >= 3 && n->a.pick.has_ignore) {
        fprintf(b, "        if (k == %lld) { /* ignore_index */\n", (long long)n->a.pick.ignore);
        fprintf(b, "%s            continue;\n        }\n", pick ? "            y[r] = 0.0f;\n" : "");
    }
    fprintf(b, "        if (k < 0 || k >= %s) {\n", Cs);
    /* no op name: unpick is also one_hot, which the position's line shows */
    fprintf(b, "            dl_set_error(\"%s: label %%d (element %%lld of the labels) is outside [0, %%d) at %%s\",\n",
            c->prefix);
    fprintf(b, "                         (int)k, (long long)r, (int)%s, %s);\n", Cs, origin_literal(c, n));
    fprintf(b, "            return -1;\n        }\n");
    if (pick) fprintf(b, "        y[r] = x0[r * %s + k];\n    }\n    return 0;\n", Cs);
    else fprintf(b, "        y[r * %s + k] = x0[r];\n    }\n    return 0;\n", Cs);
}

/* The row width W (elements per index) of take's output / scatter_add's
 * input: the product of the dims after the index's. */
static ir_dim row_width(const ir_shape *s, int from)
{
    ir_shape w = {.rank = s->rank - from};
    for (int k = from; k < s->rank; k++) w.d[k - from] = s->d[k];
    return ir_shape_numel(&w);
}

/* take: each output row copied by one thread. */
static void emit_take(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_node *idx = n->in[1];
    ir_dim rows = ir_shape_numel(&idx->shape), w = row_width(&n->shape, idx->shape.rank);
    const char *W = emit_dim(c, w);
    emit_index_check(c, b, n, emit_dim(c, rows), emit_dim(c, n->in[0]->shape.d[0]));
    emit_for(c, b, "    ", "r", rows, w.k, "");
    fprintf(b, "\n        memcpy(y + r * %s, x0 + (int64_t)x1[r] * %s, (size_t)%s * sizeof(float));\n", W, W, W);
    fprintf(b, "    return 0;\n");
}

/* scatter_add: the output's columns in blocks of 64, each block summed by one
 * thread over the source rows in index order, so every element's sum has the
 * same order at any thread count (no atomics). */
static void emit_scatter_add(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_node *idx = n->in[1];
    ir_dim rows = ir_shape_numel(&idx->shape), w = row_width(&n->shape, 1);
    const char *W = emit_dim(c, w), *R = emit_dim(c, rows);
    int64_t blk = ir_dim_is_const(w) ? 64 : 0; /* 0: a symbolic row is one block */
    emit_index_check(c, b, n, R, emit_dim(c, n->shape.d[0]));
    fprintf(b, "    memset(y, 0, (size_t)%s * sizeof(float));\n", emit_numel(c, &n->shape));
    int64_t blocks = blk ? (w.k + blk - 1) / blk : 1;
    ir_dim total = ir_dim_mul(rows, w); /* the adds: threads pay from EMIT_PAR_WORK of them */
    if (c->serial || blocks < 2 || (ir_dim_is_const(total) && total.k < EMIT_PAR_WORK)) {
        /* serial */
    } else if (ir_dim_is_const(total)) fprintf(b, "    #pragma omp parallel for schedule(static)\n");
    else fprintf(b, "    #pragma omp parallel for schedule(static) if(%s >= %d)\n", emit_dim(c, total), EMIT_PAR_WORK);
    fprintf(b, "    for (int64_t jb = 0; jb < %lld; jb++) {\n", (long long)blocks);
    if (blk) fprintf(b, "        const int64_t j0 = jb * %lld, j1 = j0 + %lld < %s ? j0 + %lld : %s;\n", (long long)blk,
                     (long long)blk, W, (long long)blk, W);
    else fprintf(b, "        const int64_t j0 = 0, j1 = %s;\n        (void)jb;\n", W);
    fprintf(b, "        for (int64_t r = 0; r < %s; r++) {\n", R);
    fprintf(b, "            float *restrict yr = y + (int64_t)x1[r] * %s;\n", W);
    fprintf(b, "            const float *restrict xr = x0 + r * %s;\n", W);
    fprintf(b, "            for (int64_t j = j0; j < j1; j++) yr[j] += xr[j];\n        }\n    }\n    return 0;\n");
}

void emit_axis_view(const ir_shape *s, int axis, ir_dim *outer, ir_dim *inner)
{
    ir_shape before = {.rank = axis}, after = {.rank = s->rank - axis - 1};
    for (int k = 0; k < axis; k++) before.d[k] = s->d[k];
    for (int k = axis + 1; k < s->rank; k++) after.d[k - axis - 1] = s->d[k];
    *outer = ir_shape_numel(&before);
    *inner = ir_shape_numel(&after);
}

/* scatter_max: each outer slice one thread's, its segments started at -inf;
 * a NaN source sticks (neither comparison replaces it), and a segment still
 * at -inf is one no index named (or one of -inf only): 0, torch's fill. */
static void emit_scatter_max(emit_ctx *c, FILE *b, ir_dim outer, int64_t work, const char *K, const char *L,
                             const char *I)
{
    emit_for(c, b, "    ", "o", outer, work, "");
    fprintf(b, " {\n        float *restrict ys = y + o * %s * %s;\n", L, I);
    fprintf(b, "        for (int64_t q = 0; q < %s * %s; q++) ys[q] = -INFINITY;\n", L, I);
    fprintf(b, "        for (int64_t k = 0; k < %s; k++)\n", K);
    fprintf(b, "            for (int64_t i = 0; i < %s; i++) {\n", I);
    fprintf(b, "                const int64_t p = (o * %s + k) * %s + i, q = (int64_t)x1[p] * %s + i;\n", K, I, I);
    fprintf(b, "                if (x0[p] > ys[q] || x0[p] != x0[p]) ys[q] = x0[p];\n            }\n");
    fprintf(b, "        for (int64_t q = 0; q < %s * %s; q++)\n", L, I);
    fprintf(b, "            if (ys[q] == -INFINITY) ys[q] = 0.0f;\n    }\n    return 0;\n");
}

/* gather / gather_grad along an axis: idx (and gather's output, gather_grad's
 * input) as [outer, K, inner], x (gather_grad's output) as [outer, L, inner].
 * Each outer slice is one thread's: gather_grad's sums stay inside a slice,
 * in index order, so they are the same at any thread count. */
static void emit_gather(emit_ctx *c, FILE *b, const ir_node *n)
{
    int grad = n->op == OP_gather_grad || n->op == OP_scatter_max, axis = (int)n->a.gather.axis;
    const ir_shape *is = &n->in[1]->shape;
    ir_dim outer, inner;
    emit_axis_view(is, axis, &outer, &inner);
    const char *K = emit_dim(c, is->d[axis]), *I = emit_dim(c, inner);
    const char *L = emit_dim(c, (grad ? &n->shape : &n->in[0]->shape)->d[axis]);
    emit_index_check(c, b, n, emit_numel(c, is), L);
    if (n->op == OP_scatter_max) {
        emit_scatter_max(c, b, outer, ir_dim_mul(is->d[axis], inner).k, K, L, I);
        return;
    }
    if (grad) fprintf(b, "    memset(y, 0, (size_t)%s * sizeof(float));\n", emit_numel(c, &n->shape));
    emit_for(c, b, "    ", "o", outer, ir_dim_mul(is->d[axis], inner).k, "");
    fprintf(b, "\n        for (int64_t k = 0; k < %s; k++)\n", K);
    fprintf(b, "            for (int64_t i = 0; i < %s; i++) {\n", I);
    fprintf(b, "                const int64_t p = (o * %s + k) * %s + i, q = (o * %s + x1[p]) * %s + i;\n", K, I, L, I);
    fprintf(b, "                %s;\n            }\n    return 0;\n", grad ? "y[q] += x0[p]" : "y[p] = x0[q]");
}

/* argmax / argmin along its axis: x0 viewed as [outer, L, inner], one thread per
 * outer slice; the first extreme wins and a NaN beats every number (the
 * comparison `v != v` is true for a NaN only), as torch.argmax. */
static void emit_argmax(emit_ctx *c, FILE *b, const ir_node *n)
{
    int axis = (int)n->a.argmax.axis, lowest = n->a.ni > 1 && n->a.argmax.min;
    const ir_shape *xs = &n->in[0]->shape;
    ir_dim outer, inner;
    emit_axis_view(xs, axis, &outer, &inner);
    const char *L = emit_dim(c, xs->d[axis]), *I = emit_dim(c, inner);
    emit_for(c, b, "    ", "o", outer, ir_dim_mul(xs->d[axis], inner).k, "");
    fprintf(b, "\n        for (int64_t i = 0; i < %s; i++) {\n", I);
    fprintf(b, "            const float *xr = x0 + o * %s * %s + i;\n", L, I);
    fprintf(b, "            int64_t at = 0;\n");
    fprintf(b, "            for (int64_t k = 1; k < %s; k++) {\n", L);
    fprintf(b, "                const float v = xr[k * %s], best = xr[at * %s];\n", I, I);
    fprintf(b, "                if (best == best && (v != v || v %s best)) at = k;\n            }\n", lowest ? "<" : ">");
    fprintf(b, "            y[o * %s + i] = (int32_t)at;\n        }\n", I);
}

/* ---- the families (op_families.def), dispatched through ops.def --------- */

void emit_source(emit_ctx *c, FILE *b, const ir_node *n)
{
    if (n->op == OP_constant) emit_constant(c, b, n);
    else if (n->op == OP_rand_uniform || n->op == OP_rand_normal || n->op == OP_rand_int) emit_rand(c, b, n);
    else if (n->op == OP_iota) emit_iota(c, b, n);
    /* input, param: no kernel, the step function points at the data */
}

/* An elementwise group rooted at n (emit_kernel routes every fusable root here). */
void emit_elemwise(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_node *args[EMIT_MAX_ARGS];
    emit_group(c, b, n, args, kernel_args(n, args, 1));
}

void emit_layout(emit_ctx *c, FILE *b, const ir_node *n)
{
    if (n->op == OP_transpose) emit_transpose(c, b, n);
    else if (n->op != OP_broadcast_to) emit_copy(c, b, n); /* reshape, stop_grad; broadcast_to is fused */
}

void emit_label(emit_ctx *c, FILE *b, const ir_node *n)
{
    switch (n->op) {
    case OP_pick:
    case OP_unpick: emit_pick_unpick(c, b, n); break;
    case OP_take: emit_take(c, b, n); break;
    case OP_scatter_add: emit_scatter_add(c, b, n); break;
    case OP_argmax: emit_argmax(c, b, n); break;
    default: emit_gather(c, b, n); /* gather, gather_grad, scatter_max */
    }
}

typedef void (*emit_fn)(emit_ctx *c, FILE *b, const ir_node *n);
static const emit_fn emit_by_op[OP__COUNT] = {
#define OP(name, arity, kind, family, attrs, c_expr, ref) [OP_##name] = emit_##family,
#include "ops.def"
#undef OP
};

/* Elementwise ops must have their C expression (a group composes them). */
int emit_check_table(FILE *err)
{
    int missing = 0;
    for (int op = 0; op < OP__COUNT; op++) {
        if (ir_ops[op].kind != IR_ELEMWISE || ir_ops[op].c_expr) continue;
        if (err) fprintf(err, "emit: elementwise op '%s' has no c_expr\n", ir_ops[op].name);
        missing++;
    }
    return missing;
}

/* ---- one kernel: signature, comment, call ------------------------------ */

/* How a value reads in a kernel comment: its name, a literal, or %id. */
static const char *describe_leaf(emit_ctx *c, const ir_node *v)
{
    if ((v->op == OP_param || v->op == OP_input) && v->name) return v->name;
    if (v->op == OP_constant) return constant_expr(c, v);
    if (v->storage == IR_STORE_ALIAS) return describe_leaf(c, v->in[0]);
    return arena_printf(c->ar, "%%%d", v->id);
}

static const char *describe(emit_ctx *c, const ir_node *root, const ir_node *v, int depth)
{
    if (v != root && (!is_member(root, v) || depth > 6)) return describe_leaf(c, v);
    char *s = arena_printf(c->ar, "%s(", ir_ops[v->op].name);
    for (int k = 0; k < v->nin; k++) {
        const char *arg = describe(c, root, v->in[k], depth + 1);
        int t = v->op == OP_matmul && v->a.ni > k && (k ? v->a.matmul.tb : v->a.matmul.ta);
        s = arena_printf(c->ar, "%s%s%s%s", s, k ? ", " : "", arg, t ? "^T" : "");
    }
    if (v->op == OP_reduce_sum || v->op == OP_reduce_max)
        s = arena_printf(c->ar, "%s, axes=0x%llx", s, (unsigned long long)v->a.reduce.axes);
    if (v->op == OP_softmax || v->op == OP_log_softmax)
        s = arena_printf(c->ar, "%s, axis=%lld", s, (long long)v->a.softmax.axis);
    return arena_printf(c->ar, "%s)", s);
}

/* The .dln position of n, or of the nearest input that has one (a node a
 * pass made, such as a folded constant, may have none); NULL if none does. */
static const ir_node *located(const ir_node *n, int depth)
{
    if (n->loc.file || depth > 8) return n->loc.file ? n : NULL;
    for (int k = 0; k < n->nin; k++) {
        const ir_node *v = located(n->in[k], depth + 1);
        if (v) return v;
    }
    return NULL;
}

const ir_node *emit_located(const ir_node *n) { return located(n, 0); }

int emit_group_members(emit_ctx *c, const ir_node *root, const ir_node *const **out)
{
    return group_members(c, root, out);
}

void emit_origin(FILE *d, const ir_node *n)
{
    const ir_node *v = located(n, 0);
    fprintf(d, "/* ");
    if (!v) return;
    /* in a stdlib block: the user's call first, the block's own line after */
    if (v->site.file)
        fprintf(d, "%s:%d:%d %s(...) (inlined from %s:%d:%d)", v->site.file, v->site.line, v->site.col,
                v->site_block ? v->site_block : "?", v->loc.file, v->loc.line, v->loc.col);
    else fprintf(d, "%s:%d:%d", v->loc.file, v->loc.line, v->loc.col);
    if (v->grad_of > 0) fprintf(d, "%sbackward of %s", v->site.file ? ", " : " ", ir_ops[v->grad_of - 1].name);
    fprintf(d, "  ");
}

/* <prefix>_k<id>_<member ops>, and for a fused reduction the reduction's
 * op last: mlp_train_k12_add_relu, resnet20_train_k13_sub_mul_reduce_sum. */
static const char *kernel_name(emit_ctx *c, const ir_node *n, int is_group)
{
    char *name = arena_printf(c->ar, "%s_k%d", c->kernel_prefix, n->id);
    const char *tail = is_group ? "" : arena_printf(c->ar, "_%s", ir_ops[n->op].name);
    if (!is_group && !is_fused_reduce(n)) return arena_printf(c->ar, "%s%s", name, tail);
    const ir_node *const *mem;
    int nm = group_members(c, n, &mem);
    for (int i = 0; i < nm; i++) {
        if (i >= 4) return arena_printf(c->ar, "%s_etc%s", name, tail);
        name = arena_printf(c->ar, "%s_%s", name, ir_ops[mem[i]->op].name);
    }
    return arena_printf(c->ar, "%s%s", name, tail);
}

int emit_group_operands(emit_ctx *c, const ir_node *n, const char **name, const ir_node **args)
{
    if (!lower_fusable(n) || n->sibling) return -1;
    *name = kernel_name(c, n, 1);
    return kernel_args(n, args, 1);
}

/* The FLOPs of the kernel computing rs[0..nr) (n and its sibling
 * reductions), each with the members of its fusion group. */
static const char *kernel_flops(emit_ctx *c, const ir_node *n, int is_group, const ir_node *const *rs, int nr)
{
    const ir_node **all = NULL;
    int na = 0, cap = 0;
    for (int j = 0; j < nr; j++) {
        const ir_node *r = j ? rs[j] : n, *const *mem = NULL;
        int nm = is_group || is_fused_reduce(r) ? group_members(c, r, &mem) : 0, has_root = 0;
        const ir_node **grown = ARENA_NEW_ARRAY(c->ar, const ir_node *, cap + nm + 1);
        if (na) memcpy(grown, all, (size_t)na * sizeof *all);
        all = grown, cap += nm + 1;
        for (int i = 0; i < nm; i++) has_root |= mem[i] == r, all[na++] = mem[i];
        if (!has_root) all[na++] = r;
    }
    return emit_prof_flops(c, all, na);
}

int emit_kernel(emit_ctx *c, const ir_node *n)
{
    if (n->sibling && n->sibling != n) return 0; /* its leader's kernel computed it (pass_fuse rule 7) */
    int is_group = lower_fusable(n);
    /* the ops with i32 results (a slice, transpose, concat, pad or flip of i32 tensors copies them); an i32 broadcast_to heads a group of broadcast_tos only (fusion keeps dtypes apart) */
    if (n->dtype != IR_F32 && n->op != OP_max_pool2d_indices && n->op != OP_argmax && n->op != OP_argsort &&
        n->op != OP_cast_i32 && n->op != OP_iota && n->op != OP_rand_int && n->op != OP_broadcast_to &&
        n->op != OP_slice && n->op != OP_transpose && n->op != OP_concat && n->op != OP_pad && n->op != OP_flip) {
        diag_error(c->d, n->loc, "the C emitter cannot compute integer values yet (op '%s')", ir_ops[n->op].name);
        return -1;
    }
    const ir_node *args[EMIT_MAX_ARGS], *rs[LOWER_MAX_SIBLINGS];
    int nr = n->sibling ? reduce_members(c, n, rs) : 1;
    int nargs = nr > 1 ? reduce_args(rs, nr, args) : kernel_args(n, args, is_group || is_fused_reduce(n));
    int errors_before = c->d->n_errors;

    c->uses_n = c->uses_seed = c->returns_status = c->uses_pos = 0;
    c->extra_params = c->extra_args = NULL;
    c->uses_sym = 0;
    char *body = NULL;
    size_t blen = 0;
    FILE *b = open_memstream(&body, &blen);
    if (!b) {
        diag_fatal_noloc(c->d, "out of memory while emitting C");
        return -1;
    }
    if (is_group) emit_group(c, b, n, args, nargs);
    else emit_by_op[n->op](c, b, n);
    fclose(b);

    const char *name = kernel_name(c, n, is_group);
    if (nr > 1) name = arena_printf(c->ar, "%s_x%d", name, nr);
    char shape[160];
    ir_shape_str(shape, sizeof shape, n->dtype, &n->shape, c->mod);
    char *def = NULL;
    size_t dlen = 0;
    FILE *d = open_memstream(&def, &dlen);
    if (!d) {
        free(body);
        diag_fatal_noloc(c->d, "out of memory while emitting C");
        return -1;
    }
    emit_origin(d, n);
    fprintf(d, "%s = %s", shape, describe(c, n, n, 0));
    for (int j = 1; j < nr; j++) fprintf(d, ";\n * y%d = %s", j, describe(c, rs[j], rs[j], 0));
    fprintf(d, " */\n");
    fprintf(d, "static %s %s(", c->returns_status ? "int" : "void", name);
    emit_sym_args(c, d, 1);
    fprintf(d, "%s *restrict y", n->dtype == IR_I32 ? "int32_t" : "float");
    for (int j = 1; j < nr; j++) fprintf(d, ", float *restrict y%d", j);
    for (int k = 0; k < nargs; k++)
        fprintf(d, ", const %s *restrict x%d", args[k]->dtype == IR_I32 ? "int32_t" : "float", k);
    if (c->uses_seed) fprintf(d, ", uint64_t seed");
    if (c->uses_pos) fprintf(d, ", int64_t pos");
    if (c->extra_params) fprintf(d, ", %s", c->extra_params);
    fprintf(d, ")\n{\n%s}\n\n", emit_serial_twin(c, body));
    fclose(d);
    const char *const *same = emit_share_find(c->share, def, &name, 1);
    if (same) name = same[0];
    else fputs(def, c->defs);
    free(def);
    c->kernel = name;

    /* profiled: the call is written to `call`, then wrapped (emit_profile.c) */
    char *call = NULL;
    size_t lcall = 0;
    FILE *calls = c->calls;
    if (c->profile && !(c->calls = open_memstream(&call, &lcall))) {
        c->calls = calls;
        free(body);
        diag_fatal_noloc(c->d, "out of memory while emitting C");
        return -1;
    }
    fprintf(c->calls, "    %s%s(", c->returns_status ? "if (" : "", name);
    emit_sym_args(c, c->calls, 0);
    /* (an i32 value's pointer is declared int32_t *, the label y const int32_t *) */
    fprintf(c->calls, "%s", emit_value_name(c, n));
    for (int j = 1; j < nr; j++) fprintf(c->calls, ", %s", emit_value_name(c, rs[j]));
    for (int k = 0; k < nargs; k++) fprintf(c->calls, ", %s", emit_value_name(c, args[k]));
    if (c->uses_seed) {
        fprintf(c->calls, ", seed");
        c->graph_uses_seed = 1;
    }
    if (c->uses_pos) fprintf(c->calls, ", pos");
    if (c->extra_args) fprintf(c->calls, ", %s", c->extra_args);
    if (c->returns_status) fprintf(c->calls, ") != 0) %s\n", c->fail_return);
    else fprintf(c->calls, ");\n");
    if (c->profile) {
        fclose(c->calls);
        c->calls = calls;
        emit_prof_call(c, n, name, kernel_flops(c, n, is_group, rs, nr), call);
        free(call);
    }
    if (c->check_during) emit_check_output(c, n, name, rs, nr);
    free(body);
    return c->d->n_errors > errors_before ? -1 : 0;
}
