/* elab_einsum.c — einsum(spec, a, b = None, c = None), torch.einsum lowered
 * at elaboration to transpose, reshape, sum and matmul, so it has no op of
 * its own and its gradient is theirs.
 *
 * The spec is torch's: "bhqd,bhkd->bhqk" (explicit), or "ij,jk" (implicit:
 * the output is the letters appearing once, in alphabetical order), with
 * `...` standing for the same leading dimensions in each operand. Operands
 * are contracted left to right, two at a time:
 *
 *   a letter of one operand only, needed neither later nor in the output: summed out first
 *   batch (in both, needed later)       -> the matmul's leading dimension
 *   contracted (in both, not needed)    -> its inner dimension K
 *   a's own / b's own (needed later)    -> its rows M / columns P
 *
 * so  a: [batch, M, K] @ b: [batch, K, P]  is one batched GEMM and no
 * product is ever broadcast into an O(n^3) temporary. A letter repeated in
 * one operand ("ii->i", "ii" the trace) takes the diagonal first. */
#include <string.h>

#include "elab_internal.h"

enum { EIN_MAX_OPS = 3, EIN_LABELS = 128 };   /* labels: 0..5 the dims of `...`, else the letter's ASCII code */

typedef struct ein_term {
    int n;                      /* rank */
    int lab[IR_MAX_RANK];       /* a label per dimension */
} ein_term;

typedef struct ein_spec {
    int nops;
    ein_term in[EIN_MAX_OPS], out;
    int ell_pos[EIN_MAX_OPS];   /* index in the spec text of each operand's `...`, -1 none */
} ein_spec;

/* The location of spec[i] inside the string literal (one line, no escapes), else the whole string. */
static src_loc char_loc(src_loc s, int i) {
    if (s.line != s.end_line) return s;
    s.col += 1 + i;
    s.end_col = s.col;
    return s;
}

/* One operand's (or the output's) subscripts text[from, to): letters and at most one `...` of
 * `ell` dimensions (known for inputs from their rank). Returns 0 after an error. */
static int parse_term(elab *e, src_loc at, const char *text, int from, int to, int rank, int is_out, int ell_out,
                      int opnum, ein_term *t, int *ell_pos) {
    int letters = 0, ell = -1;
    for (int i = from; i < to; i++) {
        char c = text[i];
        if (c == ' ') continue;
        if (c == '.') {
            if (ell >= 0 || i + 3 > to || strncmp(text + i, "...", 3) != 0) {
                diag_error(e->d, char_loc(at, i), "einsum: '.' must come as one '...' per operand\nhint: "
                           "einsum(\"...ij,...jk->...ik\", a, b) batches over the leading dimensions");
                return 0;
            }
            ell = i;
            i += 2;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            const char *what = (unsigned char)c < 0x80 ? arena_printf(e->a, "'%c'", c) : "a non-ASCII character";
            diag_error(e->d, char_loc(at, i), "einsum: %s is not a subscript\nhint: subscripts are letters, operands "
                       "are separated by ',' and the output follows '->', as in \"bij,bjk->bik\"", what);
            return 0;
        }
        letters++;
    }
    *ell_pos = ell;
    int n_ell = is_out ? (ell >= 0 ? ell_out : 0) : rank - letters;
    if (!is_out && (n_ell < 0 || (ell < 0 && n_ell != 0))) {
        diag_error(e->d, at, "einsum: operand %d has rank %d but its subscripts \"%.*s\" name %d dimension%s", opnum,
                   rank, to - from, text + from, letters, letters == 1 ? "" : "s");
        return 0;
    }
    if (letters + n_ell > IR_MAX_RANK) {
        diag_error(e->d, at, "einsum: \"%.*s\" names %d dimensions, more than the %d a tensor can have", to - from,
                   text + from, letters + n_ell, IR_MAX_RANK);
        return 0;
    }
    t->n = 0;
    for (int i = from; i < to; i++) {
        if (text[i] == ' ') continue;
        if (text[i] == '.') {
            for (int k = 0; k < n_ell; k++) t->lab[t->n++] = ell_out - n_ell + k;  /* right-aligned, as torch */
            i += 2;
            continue;
        }
        for (int k = 0; k < t->n && is_out; k++)   /* in an operand it is a diagonal (take_diagonals) */
            if (t->lab[k] == text[i]) {
                diag_error(e->d, char_loc(at, i), "einsum: '%c' appears twice in the output \"%.*s\"\nhint: an output "
                           "letter names one dimension; a diagonal is taken by repeating a letter in an operand, "
                           "einsum(\"ii->i\", x)", text[i], to - from, text + from);
                return 0;
            }
        t->lab[t->n++] = (unsigned char)text[i];
    }
    return 1;
}

/* Splits and checks the spec against the operands' ranks; fills s. */
static int parse_spec(elab *e, const value *sv, ir_node **x, int nops, ein_spec *s) {
    const char *text = sv->s;
    int len = (int)strlen(text), arrow = -1, commas[EIN_MAX_OPS + 1], nc = 0;
    for (int i = 0; i < len; i++) {
        if (text[i] == '-' && text[i + 1] == '>' && arrow < 0) { arrow = i; i++; continue; }
        if ((text[i] == '-' || text[i] == '>')) {
            diag_error(e->d, char_loc(sv->loc, i), "einsum: a stray '%c' in the spec\nhint: one '->' separates the "
                       "operands' subscripts from the output's", text[i]);
            return 0;
        }
        if (text[i] == ',' && arrow >= 0) {
            diag_error(e->d, char_loc(sv->loc, i), "einsum: the output after '->' is a single term, with no ','");
            return 0;
        }
        if (text[i] == ',' && nc < EIN_MAX_OPS) commas[nc++] = i;
        else if (text[i] == ',') nc++;
    }
    if (nc + 1 != nops) {
        diag_error(e->d, sv->loc, "einsum: the spec \"%s\" has %d operand%s but %d tensor%s given", text, nc + 1,
                   nc ? "s" : "", nops, nops == 1 ? " is" : "s are");
        return 0;
    }
    int end_in = arrow >= 0 ? arrow : len, ell = 0;
    s->nops = nops;
    for (int k = 0; k < nops; k++) {
        int from = k ? commas[k - 1] + 1 : 0, to = k < nc ? commas[k] : end_in;
        if (!parse_term(e, sv->loc, text, from, to, x[k]->shape.rank, 0, 0, k + 1, &s->in[k], &s->ell_pos[k])) return 0;
    }
    /* `...` labels are right-aligned across operands: relabel now that the widest is known */
    for (int k = 0; k < nops; k++) {
        int n = 0;
        for (int d = 0; d < s->in[k].n; d++) n += s->in[k].lab[d] < IR_MAX_RANK;
        if (n > ell) ell = n;
    }
    for (int k = 0; k < nops; k++) {
        int n = 0, j = 0;
        for (int d = 0; d < s->in[k].n; d++) n += s->in[k].lab[d] < IR_MAX_RANK;
        for (int d = 0; d < s->in[k].n; d++)
            if (s->in[k].lab[d] < IR_MAX_RANK) s->in[k].lab[d] = ell - n + j++;
    }
    int count[EIN_LABELS] = {0};
    for (int k = 0; k < nops; k++)
        for (int d = 0; d < s->in[k].n; d++) count[s->in[k].lab[d]]++;
    if (arrow < 0) {   /* implicit: `...` first, then the letters used once, in ASCII order */
        s->out.n = 0;
        for (int l = 0; l < EIN_LABELS; l++)
            if ((l < ell && count[l]) || (l >= IR_MAX_RANK && count[l] == 1)) {
                if (s->out.n == IR_MAX_RANK) {
                    diag_error(e->d, sv->loc, "einsum: the implicit output of \"%s\" has more than %d dimensions\nhint: "
                               "name the output after '->'", text, IR_MAX_RANK);
                    return 0;
                }
                s->out.lab[s->out.n++] = l;
            }
        return 1;
    }
    int ell_out_pos;
    if (!parse_term(e, sv->loc, text, arrow + 2, len, 0, 1, ell, 0, &s->out, &ell_out_pos)) return 0;
    for (int d = 0; d < s->out.n; d++) {
        int l = s->out.lab[d];
        if (l >= IR_MAX_RANK && !count[l]) {
            const char *c = strchr(text + arrow, l);
            diag_error(e->d, char_loc(sv->loc, (int)(c - text)), "einsum: the output subscript '%c' names no input "
                       "dimension\nhint: every output letter must appear in an operand's subscripts", l);
            return 0;
        }
    }
    if (ell && ell_out_pos < 0) {
        diag_error(e->d, sv->loc, "einsum: the operands have '...' but the output after '->' has not\nhint: write "
                   "'...' in the output too (torch sums nothing over '...')");
        return 0;
    }
    return 1;
}

static int has(const ein_term *t, int l) {
    for (int d = 0; d < t->n; d++)
        if (t->lab[d] == l) return 1;
    return 0;
}

/* x's dimensions reordered to the labels `want` (a permutation of t's); t becomes want. */
static ir_node *permute(elab *e, ir_node *x, ein_term *t, const ein_term *want, src_loc loc) {
    ir_attrs a = {.ni = t->n};
    int ident = 1;
    for (int k = 0; k < want->n; k++)
        for (int d = 0; d < t->n; d++)
            if (t->lab[d] == want->lab[k]) { a.transpose.perm[k] = d; ident &= d == k; }
    *t = *want;
    return ident || t->n < 2 ? x : ir_add(e->g, e->d, loc, OP_transpose, &x, 1, &a);
}

/* x summed over its labels that `keep` rejects. */
static ir_node *sum_unneeded(elab *e, ir_node *x, ein_term *t, const int *needed, src_loc loc) {
    ir_attrs a = {.ni = 2};
    ein_term kept = {0};
    for (int d = 0; d < t->n; d++) {
        if (needed[t->lab[d]]) kept.lab[kept.n++] = t->lab[d];
        else a.reduce.axes |= 1u << d;
    }
    if (!a.reduce.axes) return x;
    *t = kept;
    return ir_add(e->g, e->d, loc, OP_reduce_sum, &x, 1, &a);
}

/* The product of x's dims [from, to) as one dimension. */
static ir_dim dims_prod(const ir_node *x, int from, int to) {
    ir_dim p = ir_dim_const(1);
    for (int d = from; d < to; d++) p = ir_dim_mul(p, x->shape.d[d]);
    return p;
}

/* The labels of groups g0, g1, g2 in a row. */
static ein_term joined(const ein_term *g0, const ein_term *g1, const ein_term *g2) {
    ein_term t = *g0;
    for (int k = 0; k < g1->n; k++) t.lab[t.n++] = g1->lab[k];
    for (int k = 0; k < g2->n; k++) t.lab[t.n++] = g2->lab[k];
    return t;
}

static int same_order(const ein_term *a, const ein_term *b) {
    return a->n == b->n && memcmp(a->lab, b->lab, sizeof(int) * (size_t)a->n) == 0;
}

/* x (labels t, in groups g0 g1 g2 once permuted) as [g0, g1, g2] with each group one dimension. */
static ir_node *as_3d(elab *e, ir_node *x, ein_term *t, const ein_term *g0, const ein_term *g1, const ein_term *g2,
                      src_loc loc) {
    ein_term want = joined(g0, g1, g2);
    if (!(x = permute(e, x, t, &want, loc))) return NULL;
    ir_shape s = {.rank = 3, .d = {dims_prod(x, 0, g0->n), dims_prod(x, g0->n, g0->n + g1->n),
                                   dims_prod(x, g0->n + g1->n, x->shape.rank)}};
    return reshape_to(e, x, &s, loc);
}

/* The last two dimensions of x swapped: op_matmul makes it the GEMM's transpose flag, no copy. */
static ir_node *swap_last(elab *e, ir_node *x, src_loc loc) {
    ir_attrs a = {.transpose.perm = {0, 2, 1}, .ni = 3};
    return x ? ir_add(e->g, e->d, loc, OP_transpose, &x, 1, &a) : NULL;
}

/* a (labels ta) and b (tb) as one tensor with labels batch, a's own, b's own; the letters in
 * both and not needed are contracted by one batched matmul, [B, M, K] @ [B, K, P]. An operand
 * already laid out as [B, K, M] (a) or [B, P, K] (b) is not copied: the GEMM reads it transposed. */
static ir_node *contract(elab *e, ir_node *a, ein_term *ta, ir_node *b, ein_term *tb, const int *needed, src_loc loc) {
    ein_term bat = {0}, am = {0}, con = {0}, bp = {0};
    ir_dim size[EIN_LABELS];
    for (int d = 0; d < ta->n; d++) {
        int l = ta->lab[d], both = has(tb, l);
        ein_term *g = both ? (needed[l] ? &bat : &con) : &am;
        g->lab[g->n++] = l;
        size[l] = a->shape.d[d];
    }
    for (int d = 0; d < tb->n; d++)
        if (!has(ta, tb->lab[d])) bp.lab[bp.n++] = tb->lab[d], size[tb->lab[d]] = b->shape.d[d];
    if (bat.n + am.n + bp.n > IR_MAX_RANK) {
        diag_error(e->d, loc, "einsum: an intermediate product would have %d dimensions, more than the %d a tensor can "
                   "have\nhint: contract in two einsum calls, the operands sharing the most letters first",
                   bat.n + am.n + bp.n, IR_MAX_RANK);
        return NULL;
    }
    ein_term a_km = joined(&bat, &con, &am), b_pk = joined(&bat, &bp, &con);
    int fa = same_order(ta, &a_km) && am.n && con.n, fb = same_order(tb, &b_pk) && bp.n && con.n;
    a = fa ? swap_last(e, as_3d(e, a, ta, &bat, &con, &am, loc), loc) : as_3d(e, a, ta, &bat, &am, &con, loc);
    b = fb ? swap_last(e, as_3d(e, b, tb, &bat, &bp, &con, loc), loc) : as_3d(e, b, tb, &bat, &con, &bp, loc);
    ir_node *y = a && b ? op_matmul(e, a, b, loc) : NULL;
    *ta = joined(&bat, &am, &bp);
    ir_shape so = {.rank = ta->n};
    for (int d = 0; d < ta->n; d++) so.d[d] = size[ta->lab[d]];
    return y ? reshape_to(e, y, &so, loc) : NULL;
}

/* A letter repeated in one operand ("ii->i", "bii->b") keeps its diagonal: x times an eye()
 * broadcast over the two dimensions, summed over the second (the size of x, no more). */
static ir_node *take_diagonals(elab *e, ir_node *x, ein_term *t, src_loc loc) {
    for (int d1 = 0; d1 < t->n && x; d1++)
        for (int d2 = d1 + 1; d2 < t->n && x; d2++) {
            if (t->lab[d1] != t->lab[d2]) continue;
            ir_dim n = x->shape.d[d1];
            if (!ir_dim_is_const(n)) {
                diag_error(e->d, loc, "einsum: the diagonal of '%c' needs a compile-time size, not the batch", t->lab[d1]);
                return NULL;
            }
            value args[2] = {v_int(n.k, loc), {.kind = V_NONE, .loc = loc}};
            value eye = b_eye(e, loc, "eye", args);
            if (eye.kind != V_TENSOR) return NULL;
            ir_shape ms = {.rank = t->n};
            for (int d = 0; d < t->n; d++) ms.d[d] = ir_dim_const(d == d1 || d == d2 ? n.k : 1);
            x = op_binary(e, OP_mul, x, reshape_to(e, eye.t, &ms, loc), loc);
            ir_attrs a = {.reduce = {.axes = 1u << d2}, .ni = 2};
            x = x ? ir_add(e->g, e->d, loc, OP_reduce_sum, &x, 1, &a) : NULL;
            for (int d = d2; d + 1 < t->n; d++) t->lab[d] = t->lab[d + 1];
            t->n--;
            d2--;
        }
    return x;
}

/* einsum(spec, a, b = None, c = None) */
value b_einsum(elab *e, src_loc loc, const char *name, value *args) {
    if (args[0].kind != V_STR) {
        if (args[0].kind != V_ERROR)
            diag_error(e->d, args[0].loc, "the first argument of 'einsum' must be the spec string, got %s\nhint: "
                       "einsum(\"bij,bjk->bik\", a, b), as torch.einsum", v_describe(e, &args[0]));
        return v_error();
    }
    ir_node *x[EIN_MAX_OPS];
    int nops = 0;
    static const char *const argname[EIN_MAX_OPS] = {"a", "b", "c"};
    for (int k = 0; k < EIN_MAX_OPS && args[1 + k].kind != V_NONE; k++)
        if (!(x[nops++] = float_tensor_arg(e, &args[1 + k], name, argname[k], loc))) return v_error();
    ein_spec s;
    if (!parse_spec(e, &args[0], x, nops, &s)) return v_error();
    /* one size per label; a size 1 broadcasts, as torch */
    ir_dim size[EIN_LABELS], one = ir_dim_const(1);
    int seen[EIN_LABELS] = {0}, op_of[EIN_LABELS];
    for (int k = 0; k < nops; k++)
        for (int d = 0; d < s.in[k].n; d++) {
            int l = s.in[k].lab[d];
            if (!seen[l] || ir_dim_eq(size[l], one)) { seen[l] = 1, size[l] = x[k]->shape.d[d], op_of[l] = k; continue; }
            if (ir_dim_eq(size[l], x[k]->shape.d[d]) || ir_dim_eq(x[k]->shape.d[d], one)) continue;
            char b1[32], b2[32];
            const char *what = l < IR_MAX_RANK ? "a dimension of '...'" : arena_printf(e->a, "'%c'", l);
            diag_error(e->d, args[0].loc, "einsum: %s is %s in operand %d (%s) but %s in operand %d (%s)", what,
                       ir_dim_str(b1, sizeof b1, size[l], e->mod), op_of[l] + 1, t_describe(e, x[op_of[l]]),
                       ir_dim_str(b2, sizeof b2, x[k]->shape.d[d], e->mod), k + 1, t_describe(e, x[k]));
            return v_error();
        }
    for (int k = 0; k < nops; k++) {
        ir_shape full = {.rank = s.in[k].n};
        for (int d = 0; d < full.rank; d++) full.d[d] = size[s.in[k].lab[d]];
        if (!ir_shape_eq(&full, &x[k]->shape)) {
            ir_attrs a = {0};
            ir_attrs_set_shape(&a, 0, &full);
            x[k] = ir_add(e->g, e->d, loc, OP_broadcast_to, &x[k], 1, &a);
        }
        if (!x[k] || !(x[k] = take_diagonals(e, x[k], &s.in[k], loc))) return v_error();
    }
    ir_node *y = x[0];
    ein_term t = s.in[0];
    for (int k = 0; k < nops && y; k++) {
        int later[EIN_LABELS] = {0}, keep_b[EIN_LABELS];   /* labels of the output and of the operands after k */
        for (int d = 0; d < s.out.n; d++) later[s.out.lab[d]] = 1;
        for (int j = k + 1; j < nops; j++)
            for (int d = 0; d < s.in[j].n; d++) later[s.in[j].lab[d]] = 1;
        if (k == 0) {
            y = sum_unneeded(e, y, &t, later, loc);
            continue;
        }
        ein_term tb = s.in[k];   /* b's letters that y lacks and nothing later needs are summed out first */
        memcpy(keep_b, later, sizeof keep_b);
        for (int d = 0; d < tb.n; d++) keep_b[tb.lab[d]] |= has(&t, tb.lab[d]);
        ir_node *b = sum_unneeded(e, x[k], &tb, keep_b, loc);
        y = b ? contract(e, y, &t, b, &tb, later, loc) : NULL;
    }
    if (y) y = permute(e, y, &t, &s.out, loc);
    return y ? v_tensor(y, loc) : v_error();
}
