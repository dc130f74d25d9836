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
 * Parallelism: `#pragma omp parallel for` on the outermost loop only, with an
 * if() clause (or no pragma) below ~32K element-operations so small tensors
 * stay serial; dl_sgemm parallelizes itself and is never called from inside a
 * parallel region. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"

#define EMIT_PAR_WORK 32768 /* element-operations below which a loop stays serial */
#define EMIT_MAX_ARGS 64

typedef void (*emit_fn)(emit_ctx *c, FILE *b, const ir_node *n);

/* ---- small formatting helpers ------------------------------------------- */

static int dim_is_one(ir_dim d) { return d.k == 1 && d.syms == 0; }

const char *emit_dim(emit_ctx *c, ir_dim d)
{
    if (d.syms == 0) return arena_printf(c->ar, "%lld", (long long)d.k);
    if (d.syms & ~1u) {
        if (!c->bad_symbol_reported)
            diag_error(c->d, (src_loc){0},
                       "the C emitter supports only the batch symbol N as a run-time dimension (model '%s')",
                       c->prefix);
        c->bad_symbol_reported = 1;
        return "0";
    }
    c->uses_n = 1;
    if (d.k == 1) return "n";
    return arena_printf(c->ar, "(%lld * n)", (long long)d.k);
}

const char *emit_numel(emit_ctx *c, const ir_shape *s) { return emit_dim(c, ir_shape_numel(s)); }

const char *emit_float(emit_ctx *c, double v)
{
    if (isnan(v)) return "NAN";
    if (isinf(v)) return v > 0 ? "INFINITY" : "(-INFINITY)";
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
    if (count.syms == 0) {
        if (count.k * work >= EMIT_PAR_WORK && count.k > 1)
            fprintf(b, "%s#pragma omp parallel for schedule(static)%s\n", indent, extra_clause);
    } else {
        int64_t min_trips = (EMIT_PAR_WORK + work - 1) / work;
        fprintf(b, "%s#pragma omp parallel for schedule(static)%s if(%s >= %lld)\n", indent, extra_clause, cnt,
                (long long)min_trips);
    }
    fprintf(b, "%sfor (int64_t %s = 0; %s < %s; %s++)", indent, var, var, cnt, var);
}

/* The value of one element of a constant node: f[0] everywhere (the shape
 * is packed in i[]; a mean over N is built from ordinary ops, not here). */
static const char *constant_expr(emit_ctx *c, const ir_node *n)
{
    return emit_float(c, n->a.nf > 0 ? n->a.f[0] : 0.0);
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

int emit_is_fusable(const ir_node *n)
{
    return (ir_ops[n->op].kind == IR_ELEMWISE && ir_ops[n->op].c_expr) || n->op == OP_broadcast_to;
}

static int is_member(const ir_node *root, const ir_node *v)
{
    return v->group >= 0 && v->group == root->group && emit_is_fusable(v);
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
        for (int k = v->nin - 1; k >= 0; k--) {
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

/* The C expression of v's element i inside root's group; members used more
 * than once by their consumer's template are bound to locals first. */
static const char *ew_expr(emit_ctx *c, FILE *b, const ir_node *root, const ir_node *v, const ir_node *const *args,
                           int nargs)
{
    if (!is_member(root, v)) {
        if (v->op == OP_constant && v->storage == IR_STORE_INLINE) return constant_expr(c, v);
        int k = arg_index(args, nargs, v);
        return arena_printf(c->ar, "x%d[%s]", k, bcast_index(c, &root->shape, &v->shape, "i"));
    }
    const char *tmpl = v->op == OP_broadcast_to ? "$0" : ir_ops[v->op].c_expr;
    const char *sub[IR_MAX_IN];
    for (int k = 0; k < v->nin && k < IR_MAX_IN; k++) {
        sub[k] = ew_expr(c, b, root, v->in[k], args, nargs);
        if (is_member(root, v->in[k]) && count_refs(tmpl, k) > 1) {
            fprintf(b, "        const float v%d = %s;\n", v->in[k]->id, sub[k]);
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
            int k = p[2] - '0';
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

static void emit_group(emit_ctx *c, FILE *b, const ir_node *n, const ir_node *const *args, int nargs)
{
    char *stmts = NULL;
    size_t slen = 0;
    FILE *s = open_memstream(&stmts, &slen);
    const char *e = ew_expr(c, s, n, n, args, nargs);
    fclose(s);
    int ops = 0;
    for (int i = 0; i < c->g->n_nodes; i++) ops += is_member(n, c->g->nodes[i]);
    if (dim_is_one(ir_shape_numel(&n->shape))) { /* a scalar: no loop */
        fprintf(b, "%s    y[0] = %s;\n", stmts ? stmts : "", e);
        free(stmts);
        return;
    }
    emit_for(c, b, "    ", "i", ir_shape_numel(&n->shape), ops < 1 ? 1 : ops, "");
    if (slen == 0) {
        fprintf(b, "\n        y[i] = %s;\n", e);
    } else {
        fprintf(b, " {\n%s        y[i] = %s;\n    }\n", stmts, e);
    }
    free(stmts);
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
    fprintf(b, "    dl_fill_%s(y, %s, seed, %lldu);\n", n->op == OP_rand_uniform ? "uniform" : "normal",
            emit_numel(c, &n->shape), (long long)(n->a.ni > 0 ? n->a.i[0] : n->id));
}

/* ---- reductions ----------------------------------------------------------- */

typedef struct rgroup {
    ir_dim size;
    ir_dim stride; /* in the input */
    int red;
} rgroup;

/* Collapse x's dims into maximal runs of reduced / kept dims (size-1 dims dropped). */
static int collapse(const ir_shape *s, uint32_t axes, rgroup *gr)
{
    int ng = 0;
    for (int k = 0; k < s->rank; k++) {
        if (dim_is_one(s->d[k])) continue;
        int red = (axes >> k) & 1;
        if (ng > 0 && gr[ng - 1].red == red) gr[ng - 1].size = ir_dim_mul(gr[ng - 1].size, s->d[k]);
        else gr[ng++] = (rgroup){s->d[k], ir_dim_const(1), red};
    }
    ir_dim st = ir_dim_const(1);
    for (int k = ng - 1; k >= 0; k--) {
        gr[k].stride = st;
        st = ir_dim_mul(st, gr[k].size);
    }
    return ng;
}

/* Offset in the input of the element whose index among the `red` groups is `var`. */
static const char *group_offset(emit_ctx *c, const rgroup *gr, int ng, int red, const char *var)
{
    char *expr = "";
    int first = 1;
    for (int k = 0; k < ng; k++) {
        if (gr[k].red != red) continue;
        ir_dim div = ir_dim_const(1);
        for (int j = k + 1; j < ng; j++)
            if (gr[j].red == red) div = ir_dim_mul(div, gr[j].size);
        const char *t = var;
        if (!dim_is_one(div)) t = arena_printf(c->ar, "%s / %s", t, emit_dim(c, div));
        if (!first) t = arena_printf(c->ar, dim_is_one(div) ? "%s %% %s" : "(%s) %% %s", t, emit_dim(c, gr[k].size));
        if (!dim_is_one(gr[k].stride))
            t = arena_printf(c->ar, t == var ? "%s * %s" : "(%s) * %s", t, emit_dim(c, gr[k].stride));
        expr = *expr ? arena_printf(c->ar, "%s + %s", expr, t) : (char *)t;
        first = 0;
    }
    return *expr ? expr : "0";
}

static void emit_reduce(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_node *x = n->in[0];
    int is_max = n->op == OP_reduce_max;
    rgroup gr[IR_MAX_RANK];
    int ng = collapse(&x->shape, (uint32_t)n->a.i[0], gr);
    ir_dim outn = ir_dim_const(1), redn = ir_dim_const(1);
    for (int k = 0; k < ng; k++) {
        if (gr[k].red) redn = ir_dim_mul(redn, gr[k].size);
        else outn = ir_dim_mul(outn, gr[k].size);
    }
    const char *acc_t = is_max ? "float" : "double", *init = is_max ? "-INFINITY" : "0.0";
    if (dim_is_one(redn)) { /* nothing to reduce: a copy */
        emit_for(c, b, "    ", "i", outn, 1, "");
        fprintf(b, " y[i] = x0[i];\n");
        return;
    }
    if (dim_is_one(outn)) { /* everything: one parallel reduction */
        fprintf(b, "    %s acc = %s;\n", acc_t, init);
        emit_for(c, b, "    ", "r", redn, 1, is_max ? " reduction(max:acc)" : " reduction(+:acc)");
        fprintf(b, is_max ? " acc = fmaxf(acc, x0[r]);\n" : " acc += x0[r];\n");
        fprintf(b, "    y[0] = (float)acc;\n");
        return;
    }
    if (ng == 2 && gr[0].red && !gr[1].red && outn.syms == 0) {
        /* Column sums (bias gradients): rows outer and contiguous columns
         * inner, so the loads vectorize, in blocks of columns whose
         * accumulators stay in L1; per column the same order and precision
         * as the generic loop below. */
        const int64_t blk = 128, nblk = (outn.k + blk - 1) / blk;
        emit_for(c, b, "    ", "ob", ir_dim_const(nblk), redn.syms ? 64 * blk : redn.k * blk, "");
        fprintf(b, " {\n");
        fprintf(b, "        const int64_t o0 = ob * %lld, no = %lld - o0 < %lld ? %lld - o0 : %lld;\n", (long long)blk,
                (long long)outn.k, (long long)blk, (long long)outn.k, (long long)blk);
        fprintf(b, "        %s acc[%lld];\n", acc_t, (long long)blk);
        fprintf(b, "        for (int64_t o = 0; o < no; o++) acc[o] = %s;\n", init);
        fprintf(b, "        for (int64_t r = 0; r < %s; r++) {\n", emit_dim(c, redn));
        fprintf(b, "            const float *restrict xr = x0 + r * %lld + o0;\n", (long long)outn.k);
        fprintf(b, is_max ? "            for (int64_t o = 0; o < no; o++) acc[o] = fmaxf(acc[o], xr[o]);\n"
                          : "            for (int64_t o = 0; o < no; o++) acc[o] += xr[o];\n");
        fprintf(b, "        }\n");
        fprintf(b, "        for (int64_t o = 0; o < no; o++) y[o0 + o] = (float)acc[o];\n    }\n");
        return;
    }
    int64_t work = redn.syms ? redn.k * 64 : redn.k; /* a batch-sized reduction: assume a batch of 64 */
    emit_for(c, b, "    ", "o", outn, work, "");
    fprintf(b, " {\n");
    fprintf(b, "        const float *restrict xo = x0 + %s;\n", group_offset(c, gr, ng, 0, "o"));
    /* One loop per reduced group, outermost first (the order of the flat
     * index), so no division per element. When the innermost group is
     * contiguous, a sum runs in 8 double lanes (vectorizes; double keeps the
     * different order harmless), e.g. batch-norm statistics over N, H, W. */
    int nred = 0, last = -1;
    for (int k = 0; k < ng; k++)
        if (gr[k].red) nred++, last = k;
    const int lanes = !is_max && dim_is_one(gr[last].stride);
    fprintf(b, "        %s acc = %s;\n", acc_t, init);
    if (lanes) fprintf(b, "        double lane[8] = {0};\n");
    char *off = "";
    int depth = 0;
    for (int k = 0; k < ng; k++) {
        if (!gr[k].red || k == last) continue;
        const char *ind = arena_printf(c->ar, "%*s", 8 + 4 * depth, "");
        fprintf(b, "%sfor (int64_t r%d = 0; r%d < %s; r%d++) {\n", ind, k, k, emit_dim(c, gr[k].size), k);
        off = arena_printf(c->ar, "%s + r%d * %s", off, k, emit_dim(c, gr[k].stride));
        depth++;
    }
    const char *ind = arena_printf(c->ar, "%*s", 8 + 4 * depth, "");
    const char *len = emit_dim(c, gr[last].size);
    fprintf(b, "%sconst float *restrict xr = xo%s;\n", ind, off);
    if (lanes) {
        fprintf(b, "%sint64_t q = 0;\n", ind);
        fprintf(b, "%sfor (; q + 8 <= %s; q += 8)\n", ind, len);
        fprintf(b, "%s    for (int k = 0; k < 8; k++) lane[k] += xr[q + k];\n", ind);
        fprintf(b, "%sfor (; q < %s; q++) lane[0] += xr[q];\n", ind, len);
    } else {
        fprintf(b, "%sfor (int64_t q = 0; q < %s; q++)", ind, len);
        const char *st = dim_is_one(gr[last].stride) ? "q" : arena_printf(c->ar, "q * %s", emit_dim(c, gr[last].stride));
        fprintf(b, is_max ? " acc = fmaxf(acc, xr[%s]);\n" : " acc += xr[%s];\n", st);
    }
    for (int k = depth - 1; k >= 0; k--) fprintf(b, "%*s}\n", 8 + 4 * k, "");
    if (lanes) fprintf(b, "        for (int k = 0; k < 8; k++) acc += lane[k];\n");
    fprintf(b, "        y[o] = (float)acc;\n    }\n");
}

/* ---- data movement ------------------------------------------------------- */

static void emit_copy(emit_ctx *c, FILE *b, const ir_node *n)
{
    fprintf(b, "    memcpy(y, x0, (size_t)%s * sizeof(float));\n", emit_numel(c, &n->shape));
}

static void emit_transpose(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_shape *xs = &n->in[0]->shape, *ys = &n->shape;
    int r = ys->rank;
    /* out dim k = in dim perm[k]: the input offset of output coordinate k is
     * its value times the input stride of dim perm[k]. */
    char *expr = "";
    for (int k = 0; k < r; k++) {
        if (dim_is_one(ys->d[k])) continue;
        int pk = (int)n->a.i[k];
        ir_dim div = dims_product(ys, k + 1, r), instride = dims_product(xs, pk + 1, xs->rank);
        const char *t = "i", *var = t;
        if (!dim_is_one(div)) t = arena_printf(c->ar, "i / %s", emit_dim(c, div));
        int outer = 0;
        for (int j = 0; j < k; j++) outer |= !dim_is_one(ys->d[j]);
        if (outer) t = arena_printf(c->ar, dim_is_one(div) ? "%s %% %s" : "(%s) %% %s", t, emit_dim(c, ys->d[k]));
        if (!dim_is_one(instride)) t = arena_printf(c->ar, t == var ? "%s * %s" : "(%s) * %s", t, emit_dim(c, instride));
        expr = *expr ? arena_printf(c->ar, "%s + %s", expr, t) : (char *)t;
    }
    emit_for(c, b, "    ", "i", ir_shape_numel(ys), 2, "");
    fprintf(b, " y[i] = x0[%s];\n", *expr ? expr : "0");
}

static void emit_nothing(emit_ctx *c, FILE *b, const ir_node *n) { (void)c, (void)b, (void)n; }

/* ---- contractions -------------------------------------------------------- */

static void emit_matmul(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_shape *as = &n->in[0]->shape, *bs = &n->in[1]->shape;
    int ta = n->a.ni > 0 && n->a.i[0], tb = n->a.ni > 1 && n->a.i[1];
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
        fprintf(b, "    dl_sgemm(0, %d, %s, %s, %s, 1.0f, x0, %s, x1, %s, 0.0f, y, %s);\n", tb, MM, Ns, Ks, lda, ldb,
                Ns);
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
    fprintf(b, "    for (int64_t bi = 0; bi < %s; bi++) /* serial: dl_sgemm is parallel inside */\n",
            emit_dim(c, on));
    fprintf(b, "        dl_sgemm(%d, %d, %s, %s, %s, 1.0f, x0 + (%s) * %s, %s, x1 + (%s) * %s, %s, 0.0f,\n", ta,
            tb, Ms, Ns, Ks, ai, emit_dim(c, ir_dim_mul(M, K)), lda, bi, emit_dim(c, ir_dim_mul(K, N)), ldb);
    fprintf(b, "                 y + bi * %s, %s);\n", emit_dim(c, ir_dim_mul(M, N)), Ns);
}

/* ---- softmax family ------------------------------------------------------ */

static void emit_softmax(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_shape *s = &n->shape;
    int ax = (int)n->a.i[0];
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
    fprintf(b, "        for (int64_t j = 0; j < %s; j++) mx = fmaxf(mx, xr[j%s]);\n", As, st);
    fprintf(b, "        float sum = 0.0f;\n");
    if (n->op == OP_softmax) {
        fprintf(b, "        for (int64_t j = 0; j < %s; j++) {\n", As);
        fprintf(b, "            const float e = expf(xr[j%s] - mx);\n", st);
        fprintf(b, "            yr[j%s] = e;\n            sum += e;\n        }\n", st);
        fprintf(b, "        const float inv = 1.0f / sum;\n");
        fprintf(b, "        for (int64_t j = 0; j < %s; j++) yr[j%s] *= inv;\n", As, st);
    } else {
        fprintf(b, "        for (int64_t j = 0; j < %s; j++) sum += expf(xr[j%s] - mx);\n", As, st);
        fprintf(b, "        const float lse = mx + logf(sum);\n");
        fprintf(b, "        for (int64_t j = 0; j < %s; j++) yr[j%s] = xr[j%s] - lse;\n", As, st, st);
    }
    fprintf(b, "    }\n");
}

/* ---- indexing by labels -------------------------------------------------- */

static void emit_pick(emit_ctx *c, FILE *b, const ir_node *n)
{
    const ir_shape *xs = &n->in[0]->shape;
    ir_dim C = xs->d[xs->rank - 1];
    const char *Cs = emit_dim(c, C);
    c->returns_status = 1;
    fprintf(b, "    /* serial: O(rows), and the first bad label is reported */\n");
    fprintf(b, "    for (int64_t r = 0; r < %s; r++) {\n", emit_numel(c, &n->shape));
    fprintf(b, "        const int32_t k = x1[r];\n");
    fprintf(b, "        if (k < 0 || k >= %s) {\n", Cs);
    fprintf(b, "            dl_set_error(\"%s: label %%d of sample %%lld is outside [0, %%d)\", (int)k, (long long)r, "
               "(int)%s);\n", c->prefix, Cs);
    fprintf(b, "            return -1;\n        }\n");
    fprintf(b, "        y[r] = x0[r * %s + k];\n    }\n    return 0;\n", Cs);
}

static void emit_unpick(emit_ctx *c, FILE *b, const ir_node *n)
{
    ir_dim C = n->shape.d[n->shape.rank - 1];
    const char *Cs = emit_dim(c, C);
    c->returns_status = 1;
    fprintf(b, "    memset(y, 0, (size_t)%s * sizeof(float));\n", emit_numel(c, &n->shape));
    fprintf(b, "    for (int64_t r = 0; r < %s; r++) {\n", emit_numel(c, &n->in[0]->shape));
    fprintf(b, "        const int32_t k = x1[r];\n");
    fprintf(b, "        if (k < 0 || k >= %s) {\n", Cs);
    fprintf(b, "            dl_set_error(\"%s: label %%d of sample %%lld is outside [0, %%d)\", (int)k, (long long)r, "
               "(int)%s);\n", c->prefix, Cs);
    fprintf(b, "            return -1;\n        }\n");
    fprintf(b, "        y[r * %s + k] = x0[r];\n    }\n    return 0;\n", Cs);
}

/* ---- the table ------------------------------------------------------------ */

/* Elementwise ops need no entry: their c_expr is composed by emit_group.
 * broadcast_to is fused like them; it has an entry only for completeness. */
static const emit_fn emit_table[OP__COUNT] = {
    [OP_input] = emit_nothing,       [OP_param] = emit_nothing,     [OP_constant] = emit_constant,
    [OP_rand_uniform] = emit_rand,   [OP_rand_normal] = emit_rand,  [OP_reduce_sum] = emit_reduce,
    [OP_reduce_max] = emit_reduce,   [OP_reshape] = emit_copy,      [OP_stop_grad] = emit_copy,
    [OP_broadcast_to] = emit_nothing, [OP_transpose] = emit_transpose, [OP_matmul] = emit_matmul,
    [OP_softmax] = emit_softmax,     [OP_log_softmax] = emit_softmax, [OP_pick] = emit_pick,
    [OP_unpick] = emit_unpick,
    /* data movement: emit_movement.c */
    [OP_concat] = emit_concat,       [OP_slice] = emit_slice,       [OP_slice_grad] = emit_slice,
    [OP_pad] = emit_pad,             [OP_pad_grad] = emit_pad,      [OP_upsample] = emit_upsample,
    [OP_upsample_grad] = emit_upsample,
    /* convolution and pooling: emit_conv.c */
    [OP_conv2d] = emit_conv,         [OP_conv_transpose2d] = emit_conv, [OP_conv2d_bwd_weight] = emit_conv,
    [OP_max_pool2d] = emit_conv,     [OP_max_pool2d_indices] = emit_conv, [OP_max_pool2d_bwd] = emit_conv,
    [OP_max_unpool2d] = emit_conv,   [OP_max_unpool2d_bwd] = emit_conv, [OP_avg_pool2d] = emit_conv,
    [OP_avg_pool2d_bwd] = emit_conv, [OP_adaptive_avg_pool2d] = emit_conv, [OP_adaptive_avg_pool2d_bwd] = emit_conv,
};

int emit_check_table(FILE *err)
{
    int missing = 0;
    for (int op = 0; op < OP__COUNT; op++) {
        int ok = ir_ops[op].kind == IR_ELEMWISE ? ir_ops[op].c_expr != NULL : emit_table[op] != NULL;
        if (!ok) {
            if (err) fprintf(err, "emit: op '%s' has no C emitter\n", ir_ops[op].name);
            missing++;
        }
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
        int t = v->op == OP_matmul && v->a.ni > k && v->a.i[k];
        s = arena_printf(c->ar, "%s%s%s%s", s, k ? ", " : "", arg, t ? "^T" : "");
    }
    if (v->op == OP_reduce_sum || v->op == OP_reduce_max)
        s = arena_printf(c->ar, "%s, axes=0x%llx", s, (unsigned long long)v->a.i[0]);
    if (v->op == OP_softmax || v->op == OP_log_softmax) s = arena_printf(c->ar, "%s, axis=%lld", s, (long long)v->a.i[0]);
    return arena_printf(c->ar, "%s)", s);
}

static const char *kernel_name(emit_ctx *c, const ir_node *n, int is_group)
{
    char *name = arena_printf(c->ar, "%s_k%d", c->kernel_prefix, n->id);
    if (!is_group) return arena_printf(c->ar, "%s_%s", name, ir_ops[n->op].name);
    int count = 0;
    for (int i = 0; i < c->g->n_nodes; i++) {
        const ir_node *v = c->g->nodes[i];
        if (!is_member(n, v)) continue;
        if (++count > 4) return arena_printf(c->ar, "%s_etc", name);
        name = arena_printf(c->ar, "%s_%s", name, ir_ops[v->op].name);
    }
    return name;
}

int emit_kernel(emit_ctx *c, const ir_node *n)
{
    int is_group = emit_is_fusable(n);
    if (!is_group && !emit_table[n->op]) {
        diag_error(c->d, n->loc, "the C emitter has no kernel for op '%s'", ir_ops[n->op].name);
        return -1;
    }
    if (n->dtype != IR_F32 && n->op != OP_max_pool2d_indices) { /* the one op with an i32 result */
        diag_error(c->d, n->loc, "the C emitter cannot compute integer values yet (op '%s')", ir_ops[n->op].name);
        return -1;
    }
    const ir_node *args[EMIT_MAX_ARGS];
    int nargs = kernel_args(n, args, is_group);
    int errors_before = c->d->n_errors;

    c->uses_n = c->uses_seed = c->returns_status = 0;
    char *body = NULL;
    size_t blen = 0;
    FILE *b = open_memstream(&body, &blen);
    if (!b) {
        diag_fatal_noloc(c->d, "out of memory while emitting C");
        return -1;
    }
    if (is_group) emit_group(c, b, n, args, nargs);
    else emit_table[n->op](c, b, n);
    fclose(b);

    const char *name = kernel_name(c, n, is_group);
    char shape[160];
    ir_shape_str(shape, sizeof shape, n->dtype, &n->shape, c->mod);
    FILE *d = c->defs;
    if (n->loc.file) fprintf(d, "/* %s:%d:%d  ", n->loc.file, n->loc.line, n->loc.col);
    else fprintf(d, "/* (generated)  ");
    fprintf(d, "%s = %s */\n", shape, describe(c, n, n, 0));
    fprintf(d, "static %s %s(", c->returns_status ? "int" : "void", name);
    fprintf(c->calls, "    ");
    if (c->returns_status) fprintf(c->calls, "if (");
    fprintf(c->calls, "%s(", name);
    int first = 1;
    if (c->uses_n) {
        fprintf(d, "int64_t n");
        fprintf(c->calls, "n");
        first = 0;
    }
    /* i32 values (indices) live in float-typed arena storage: cast at the call */
    int int_out = n->dtype == IR_I32;
    fprintf(d, "%s%s *restrict y", first ? "" : ", ", int_out ? "int32_t" : "float");
    fprintf(c->calls, "%s%s%s", first ? "" : ", ", int_out ? "(int32_t *)" : "", emit_value_name(c, n));
    for (int k = 0; k < nargs; k++) {
        fprintf(d, ", const %s *restrict x%d", args[k]->dtype == IR_I32 ? "int32_t" : "float", k);
        fprintf(c->calls, ", %s%s", args[k]->dtype == IR_I32 ? "(const int32_t *)" : "", emit_value_name(c, args[k]));
    }
    if (c->uses_seed) {
        fprintf(d, ", uint64_t seed");
        fprintf(c->calls, ", seed");
        c->graph_uses_seed = 1;
    }
    fprintf(d, ")\n{\n%s}\n\n", body);
    if (c->returns_status) fprintf(c->calls, ") != 0) %s\n", c->fail_return);
    else fprintf(c->calls, ");\n");
    free(body);
    return c->d->n_errors > errors_before ? -1 : 0;
}
