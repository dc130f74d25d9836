/* interp_indexing.c — the reference interpreter's argsort, cumsum,
 * cumprod(_grad), flip and cast_i32 (ops_indexing.c), in double, written
 * independently of the emitter: argsort by insertion into a sorted prefix
 * (stable by construction), where the emitted C ranks each position by
 * counting; cumprod_grad as its definition's sum, O(L²) per line, where the
 * emitted C uses prefix products and a suffix recurrence. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "interp.h"

/* x along the axis as [outer, L, inner]. */
static void view(const interp_state *s, const ir_node *x, int axis, int64_t *outer, int64_t *L, int64_t *inner) {
    *outer = *inner = *L = 1;
    for (int k = 0; k < x->shape.rank; k++) {
        int64_t d = ir_dim_eval(x->shape.d[k], s->sym_values);
        if (k < axis) *outer *= d;
        else if (k > axis) *inner *= d;
        else *L = d;
    }
}

/* Does a come strictly before b? NaN is the largest value, as in torch.sort. */
static int before(double a, double b, int descending) {
    if (descending) { double t = a; a = b, b = t; }
    return isnan(b) ? !isnan(a) : a < b;
}

static int run_argsort(const interp_state *s, const ir_node *n, double *y) {
    int axis = (int)n->a.argsort.axis, desc = (int)n->a.argsort.descending;
    int64_t outer, L, inner;
    view(s, n->in[0], axis, &outer, &L, &inner);
    int64_t K = n->a.argsort.k ? n->a.argsort.k : L;
    const double *x = s->value[n->in[0]->id];
    int64_t *order = malloc(sizeof(int64_t) * (size_t)(L ? L : 1));
    if (!order) {
        fprintf(stderr, "interp: argsort: out of memory\n");
        return -1;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const double *xr = x + o * L * inner + i;
            for (int64_t j = 0; j < L; j++) { /* insert j after every element not after it */
                int64_t at = j;
                while (at > 0 && before(xr[j * inner], xr[order[at - 1] * inner], desc)) {
                    order[at] = order[at - 1];
                    at--;
                }
                order[at] = j;
            }
            for (int64_t k = 0; k < K; k++) y[(o * K + k) * inner + i] = (double)order[k];
        }
    free(order);
    return 0;
}

/* cumsum, or cumprod with prod set. */
static void run_running(const interp_state *s, const ir_node *n, double *y, int prod) {
    int axis = (int)n->a.cumsum.axis, rev = (int)n->a.cumsum.reverse;
    int64_t outer, L, inner;
    view(s, n->in[0], axis, &outer, &L, &inner);
    const double *x = s->value[n->in[0]->id];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double acc = prod ? 1 : 0;
            for (int64_t j = 0; j < L; j++) {
                int64_t p = (o * L + (rev ? L - 1 - j : j)) * inner + i;
                acc = prod ? acc * x[p] : acc + x[p];
                y[p] = acc;
            }
        }
}

/* dx_a = sum over j >= a of gy_j times the product of x_k, k <= j and
 * k != a ("after" from the end when reversed): per a, the product before a
 * extended one factor at a time, O(L²) per line. */
static void run_cumprod_grad(const interp_state *s, const ir_node *n, double *y) {
    int axis = (int)n->a.cumsum.axis, rev = (int)n->a.cumsum.reverse;
    int64_t outer, L, inner;
    view(s, n->in[0], axis, &outer, &L, &inner);
    const double *x = s->value[n->in[0]->id], *g = s->value[n->in[1]->id];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
#define AT(j) ((o * L + (rev ? L - 1 - (j) : (j))) * inner + i)
            for (int64_t a = 0; a < L; a++) {
                double prod = 1, sum = 0;
                for (int64_t k = 0; k < a; k++) prod *= x[AT(k)];
                for (int64_t j = a; j < L; j++) {
                    if (j > a) prod *= x[AT(j)];
                    sum += g[AT(j)] * prod;
                }
                y[AT(a)] = sum;
            }
#undef AT
        }
}

/* y at a position is x at the position mirrored along each flipped axis. */
static void run_flip(const interp_state *s, const ir_node *n, double *y) {
    const ir_node *xn = n->in[0];
    const double *x = s->value[xn->id];
    int rank = xn->shape.rank;
    int64_t dims[IR_MAX_RANK];
    for (int k = 0; k < rank; k++) dims[k] = ir_dim_eval(xn->shape.d[k], s->sym_values);
    for (int64_t j = 0, count = interp_numel(s, n); j < count; j++) {
        int64_t rest = j, src = 0, stride = 1;
        for (int k = rank - 1; k >= 0; k--) {
            int64_t c = rest % dims[k];
            rest /= dims[k];
            if (n->a.flip.axes & (1 << k)) c = dims[k] - 1 - c;
            src += c * stride;
            stride *= dims[k];
        }
        y[j] = x[src];
    }
}

int interp_indexing(const interp_state *s, const ir_node *n, double *y) {
    if (n->op == OP_argsort) return run_argsort(s, n, y);
    if (n->op == OP_cumsum || n->op == OP_cumprod) run_running(s, n, y, n->op == OP_cumprod);
    else if (n->op == OP_cumprod_grad) run_cumprod_grad(s, n, y);
    else if (n->op == OP_flip) run_flip(s, n, y);
    else {
        const double *x = s->value[n->in[0]->id]; /* cast_i32 */
        for (int64_t j = 0, count = interp_numel(s, n); j < count; j++)
            y[j] = isnan(x[j]) ? 0 : x[j] >= 2147483647.0 ? 2147483647.0 : x[j] <= -2147483648.0 ? -2147483648.0 : trunc(x[j]);
    }
    return 0;
}
