/* ops_contrastive.c — SimCLR's NT-Xent and CLIP's loss as primitives (family
 * contrastive): shapes, gradients and costs of nt_xent, clip_loss and their gradients.
 *
 * Composed from concat, normalize, matmul, eye and cross_entropy, the loss
 * needs the [2N, 2N] similarity matrix as a value, and the IR refuses a value
 * with the batch symbol in two dimensions (it could not be planned for any
 * N): contrastive training was then only possible at a fixed batch size. As
 * an op, the similarities live only inside the kernels (runtime/nt_xent.c),
 * which recompute them a row at a time, so z1, z2 may be f32[N, D] with N the
 * run-time batch.
 *
 * VJP: the similarity matrix is symmetric and the positive pairing is an
 * involution, so row i's gradient on the normalized rows is one formula over
 * the probabilities of row i and column i (runtime/nt_xent.c); dz1 and dz2
 * are nt_xent_grad [which 0] and [which 1], each recomputing the row
 * statistics (2N log-sum-exps) rather than storing them in the graph. */
#include <string.h>

#include "ops_impl.h"

enum { NTX_DZ1 = 0, NTX_DZ2 = 1 };

/* The first two inputs f32[N, D] of one shape, row i of each belonging to
 * sample i; `what` names them and `hint` says what they are, in the error. */
static int check_rows(ir_node *n, const char *what, const char *hint, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen) || !ops_require_f32(n, 1, err, errlen)) return 0;
    const ir_shape *a = &n->in[0]->shape, *b = &n->in[1]->shape;
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (a->rank != 2 || !ir_shape_eq(a, b))
        return ops_fail(err, errlen, "%s: the two %s must be f32[N, D] of the same shape (row i of each is %s), got %s and %s\nhint: %s",
                        ir_ops[n->op].name, what, strcmp(what, "views") ? "pair i" : "sample i", ops_type(b1, n->in[0]),
                        ops_type(b2, n->in[1]), hint);
    return 1;
}

/* z1 and z2 f32[N, D] of one shape: row i of each is a view of sample i. */
static int check_views(ir_node *n, char *err, int errlen) {
    if (!check_rows(n, "views", "z1 and z2 are one batch's embeddings under two augmentations, e.g. both f32[N, 64] from one projection head", err, errlen))
        return 0;
    if (!(n->a.nf >= 1 && n->a.contrastive.temperature > 0))
        return ops_fail(err, errlen, "%s: the temperature must be positive, got %g", ir_ops[n->op].name,
                        n->a.nf ? n->a.contrastive.temperature : 0.0);
    return 1;
}

/* nt_xent(z1 f32[N, D], z2 f32[N, D]) -> f32[] */
int op_shape_nt_xent(ir_node *n, char *err, int errlen) {
    if (!check_views(n, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape.rank = 0;
    return 1;
}

/* A gradient op's third operand and attribute, its inputs already checked:
 * gy the loss's scalar gradient, i[0] which input (`names` "0 (dz1) or 1
 * (dz2)"); the result is shaped like that input. */
static int grad_shape(ir_node *n, const char *names, char *err, int errlen) {
    if (!ops_require_f32(n, 2, err, errlen)) return 0;
    if (n->in[2]->shape.rank != 0) {
        char b[OPS_TYPE_BUF];
        return ops_fail(err, errlen, "%s: the loss's gradient must be a scalar, got %s", ir_ops[n->op].name,
                        ops_type(b, n->in[2]));
    }
    int64_t which = n->a.ni ? n->a.contrastive.which : -1;
    if (which != NTX_DZ1 && which != NTX_DZ2)
        return ops_fail(err, errlen, "%s: i[0] must be %s, got %lld", ir_ops[n->op].name, names, (long long)which);
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    return 1;
}

/* nt_xent_grad(z1, z2, gy f32[]) -> f32[N, D]: dz1 or dz2 */
int op_shape_nt_xent_grad(ir_node *n, char *err, int errlen) {
    return check_views(n, err, errlen) && grad_shape(n, "0 (dz1) or 1 (dz2)", err, errlen);
}

/* Normalizing (4 D per row), 2N rows of 2N dot products with an exp each. */
static double ntx_work(const ir_node *n, const int64_t *sv) {
    const double rows = 2 * ops_numel(&n->in[0]->shape, sv), d = (double)ir_dim_eval(n->in[0]->shape.d[1], sv);
    const double r = d > 0 ? rows / d : 0;
    return 4 * rows + r * r * (2 * d + 4);
}

double op_flops_nt_xent(const ir_node *n, const int64_t *sv) { return ntx_work(n, sv); }

/* The forward's statistics again, then half the rows: 2N dot products and axpys each. */
double op_flops_nt_xent_grad(const ir_node *n, const int64_t *sv) { return 2 * ntx_work(n, sv); }

static ir_node *grad_node(ad_ctx *c, ir_node *n, ir_node *gy, int64_t which) {
    ir_node *in[3] = {n->in[0], n->in[1], gy};
    ir_attrs a = {.contrastive = {.which = which, .temperature = n->a.contrastive.temperature}, .ni = 1, .nf = 1};
    return ir_op_attrs(c->g, OP_nt_xent_grad, in, 3, &a);
}

void op_vjp_nt_xent(ad_ctx *c, ir_node *n, ir_node *gy) {
    if (ad_wants(c, n->in[0])) ad_accum(c, n->in[0], grad_node(c, n, gy, NTX_DZ1));
    if (ad_wants(c, n->in[1])) ad_accum(c, n->in[1], grad_node(c, n, gy, NTX_DZ2));
}

void op_vjp_nt_xent_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    (void)n, (void)gy;
    ad_fail(c, "nt_xent: no second derivative (the gradient of nt_xent's gradient is not implemented)");
}

/* CLIP's loss (Radford et al. 2021): a, b f32[N, D] of one shape, row i of each
 * a pair; s = a b^T (the logit scale and the normalization are the caller's, as
 * open_clip's ClipLoss takes them); the loss is the mean of the row-wise and
 * the column-wise cross-entropies with labels arange(N). As nt_xent, the
 * [N, N] logits exist only inside runtime/clip_loss.c, so N is the run-time
 * batch. VJP: dL/ds = ((P - I) + (Q - I)) / 2N with P the rows' softmax and Q
 * the columns', so da = dS b and db = dS^T a: the same formula with a and b
 * swapped (which = 1), each recomputing the rows' and columns' log-sum-exps. */
static int check_pairs(ir_node *n, char *err, int errlen) {
    return check_rows(n, "embeddings", "project both towers to one width, e.g. dense(image_features, 64) and dense(text_features, 64)",
                      err, errlen);
}

/* clip_loss(a f32[N, D], b f32[N, D]) -> f32[] */
int op_shape_clip_loss(ir_node *n, char *err, int errlen) {
    if (!check_pairs(n, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape.rank = 0;
    return 1;
}

/* clip_loss_grad(a, b, gy f32[]) -> f32[N, D]: da or db */
int op_shape_clip_loss_grad(ir_node *n, char *err, int errlen) {
    return check_pairs(n, err, errlen) && grad_shape(n, "0 (da) or 1 (db)", err, errlen);
}

/* N rows of N dot products with two exps each (the rows' and the columns' log-sum-exps). */
static double clip_work(const ir_node *n, const int64_t *sv) {
    const double el = ops_numel(&n->in[0]->shape, sv), d = (double)ir_dim_eval(n->in[0]->shape.d[1], sv);
    const double r = d > 0 ? el / d : 0;
    return r * r * (2 * d + 4);
}

double op_flops_clip_loss(const ir_node *n, const int64_t *sv) { return clip_work(n, sv); }

/* The statistics again, then N rows of N dot products and axpys. */
double op_flops_clip_loss_grad(const ir_node *n, const int64_t *sv) { return 2 * clip_work(n, sv); }

void op_vjp_clip_loss(ad_ctx *c, ir_node *n, ir_node *gy) {
    for (int64_t which = 0; which < 2; which++) {
        if (!ad_wants(c, n->in[which])) continue;
        ir_node *in[3] = {n->in[0], n->in[1], gy};
        ir_attrs a = {.contrastive = {.which = which}, .ni = 1};
        ad_accum(c, n->in[which], ir_op_attrs(c->g, OP_clip_loss_grad, in, 3, &a));
    }
}

void op_vjp_clip_loss_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    (void)n, (void)gy;
    ad_fail(c, "clip_loss: no second derivative (the gradient of clip_loss's gradient is not implemented)");
}
