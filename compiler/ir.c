/* ir.c — building IR: modules, graphs, nodes, and shape arithmetic.
 *
 * Everything that creates a node goes through ir_add, which runs the op's
 * shape rule from the op table; so a graph that exists is a graph whose
 * shapes check. Shape errors are written for the person who wrote the .dln
 * and reported at the node's source span. The thin builders (ir_un, ir_bin,
 * ir_const, ...) are for compiler-generated code such as autodiff, where a
 * shape error is a compiler bug and aborts with an internal error.
 *
 * Dimensions are monomials k * (product of symbols): enough for batch-major
 * tensors (N), sequences (N*T after flattening) and constants, while keeping
 * equality decidable by comparing (k, mask). A symbol squared cannot be
 * represented; ir_dim_mul never needs it for the shapes we build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* ---- shapes ------------------------------------------------------------- */

ir_dim ir_dim_const(int64_t k) { return (ir_dim){k, 0}; }
ir_dim ir_dim_sym(int sym) { return (ir_dim){1, 1u << sym}; }
int ir_dim_eq(ir_dim a, ir_dim b) { return a.k == b.k && a.syms == b.syms; }
int ir_dim_is_const(ir_dim a) { return a.syms == 0; }
/* Saturating: a product of sizes a program names (say 2^32 * 2^32) must not
 * overflow; ir_add then rejects any tensor beyond 2^32 elements per sample. */
ir_dim ir_dim_mul(ir_dim a, ir_dim b) {
    int64_t k;
    if (__builtin_mul_overflow(a.k, b.k, &k)) k = (a.k < 0) != (b.k < 0) ? INT64_MIN : INT64_MAX;
    return (ir_dim){k, a.syms | b.syms};
}

int64_t ir_dim_eval(ir_dim a, const int64_t *sym_values) {
    int64_t v = a.k;
    for (int s = 0; s < IR_MAX_SYMS; s++)
        if (a.syms & (1u << s)) v *= sym_values ? sym_values[s] : 1;
    return v;
}

ir_dim ir_shape_numel(const ir_shape *s) {
    ir_dim n = ir_dim_const(1);
    for (int i = 0; i < s->rank; i++) n = ir_dim_mul(n, s->d[i]);
    return n;
}

int ir_shape_eq(const ir_shape *a, const ir_shape *b) {
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (!ir_dim_eq(a->d[i], b->d[i])) return 0;
    return 1;
}

static int dim_is_one(ir_dim d) { return d.syms == 0 && d.k == 1; }

int ir_broadcast_shapes(const ir_shape *a, const ir_shape *b, ir_shape *out) {
    ir_shape r;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) {
        int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
        ir_dim da = ia >= 0 ? a->d[ia] : ir_dim_const(1);
        ir_dim db = ib >= 0 ? b->d[ib] : ir_dim_const(1);
        if (ir_dim_eq(da, db) || dim_is_one(db)) r.d[i] = da;
        else if (dim_is_one(da)) r.d[i] = db;
        else return 0;
    }
    if (out) *out = r;
    return 1;
}

/* The module whose symbols a shape rule's messages name. The rules see nodes,
 * not their module, and print with m = NULL; ir_add sets this around each
 * rule so that "f32[N, V, 32]" says V, as the user wrote it, and not "T". */
static const ir_module *rule_module;

static const char *sym_name(char *tmp, int s, const ir_module *m) {
    if (!m) m = rule_module;
    if (m && s < m->n_syms && m->syms[s].name) return m->syms[s].name;
    if (s == 0) return "N";
    if (s == 1) return "T";
    snprintf(tmp, 8, "S%d", s);
    return tmp;
}

const char *ir_dim_str(char *buf, int len, ir_dim d, const ir_module *m) {
    int pos = 0;
    buf[0] = '\0';
    if (d.k != 1 || d.syms == 0) pos += snprintf(buf + pos, (size_t)(len - pos), "%lld", (long long)d.k);
    for (int s = 0; s < IR_MAX_SYMS && pos < len; s++) {
        if (!(d.syms & (1u << s))) continue;
        char tmp[8];
        pos += snprintf(buf + pos, (size_t)(len - pos), "%s%s", pos ? "*" : "", sym_name(tmp, s, m));
    }
    return buf;
}

const char *ir_shape_str(char *buf, int len, ir_dtype dt, const ir_shape *s, const ir_module *m) {
    int pos = snprintf(buf, (size_t)len, "%s[", dt == IR_I32 ? "i32" : "f32");
    for (int i = 0; i < s->rank && pos < len; i++) {
        char d[48];
        pos += snprintf(buf + pos, (size_t)(len - pos), "%s%s", i ? ", " : "", ir_dim_str(d, sizeof d, s->d[i], m));
    }
    if (pos < len) snprintf(buf + pos, (size_t)(len - pos), "]");
    return buf;
}

int64_t ir_dim_pack(ir_dim d) { return d.k | ((int64_t)d.syms << 48); }

ir_dim ir_dim_unpack(int64_t packed) {
    return (ir_dim){packed & (((int64_t)1 << 48) - 1), (uint32_t)(packed >> 48) & 0xff};
}

void ir_attrs_set_shape(ir_attrs *a, int first, const ir_shape *s) {
    for (int i = 0; i < s->rank; i++) a->i[first + i] = ir_dim_pack(s->d[i]);
    a->ni = first + s->rank;
}

int ir_attrs_get_shape(const ir_attrs *a, int first, ir_shape *s) {
    int rank = a->ni - first;
    if (rank < 0 || rank > IR_MAX_RANK || first + rank > 8) return 0;
    s->rank = rank;
    for (int i = 0; i < rank; i++) {
        if (a->i[first + i] <= 0) return 0;
        s->d[i] = ir_dim_unpack(a->i[first + i]);
        if (s->d[i].k <= 0) return 0;
    }
    return 1;
}

/* ---- modules and graphs ------------------------------------------------- */

ir_module *ir_module_new(arena *a, const char *name) {
    ir_module *m = ARENA_NEW(a, ir_module);
    m->ar = a;
    m->name = arena_strdup(a, name);
    m->syms[IR_SYM_N].name = "N";
    m->n_syms = 1;
    return m;
}

/* The map holds index + 1, so that an absent name (NULL) is not index 0. */
int ir_module_find_param(const ir_module *m, const char *name) {
    return (int)(intptr_t)strmap_get(&m->param_index, name) - 1;
}

/* Returns the new index, or -1 if a parameter of that name already exists. */
int ir_module_add_param(ir_module *m, const char *name, ir_shape shape, ir_init init, int trainable, src_loc loc) {
    if (ir_module_find_param(m, name) >= 0) return -1;
    ir_param p = {.name = arena_strdup(m->ar, name), .shape = shape, .init = init, .trainable = trainable, .loc = loc,
                   .site = loc};
    ARENA_PUSH(m->ar, m->params, m->n_params, m->cap_params, p);
    strmap_put(&m->param_index, m->ar, p.name, (void *)(intptr_t)m->n_params);
    return m->n_params - 1;
}

int ir_module_add_body(ir_module *m, ir_graph *body) {
    body->loop_body = 1;
    ARENA_PUSH(m->ar, m->bodies, m->n_bodies, m->cap_bodies, body);
    return m->n_bodies - 1;
}

ir_graph *ir_graph_new(ir_module *m, const char *name, ir_mode mode) {
    ir_graph *g = ARENA_NEW(m->ar, ir_graph);
    g->ar = m->ar;
    g->name = arena_strdup(m->ar, name);
    g->mode = mode;
    g->mod = m;
    return g;
}

static ir_node *node_new(ir_graph *g, ir_opcode op, src_loc loc) {
    ir_node *n = ARENA_NEW(g->ar, ir_node);
    n->op = op;
    n->loc = loc;
    n->group = -1;
    n->offset = -1;
    n->storage = IR_STORE_ARENA;
    return n;
}

static void node_append(ir_graph *g, ir_node *n) {
    n->id = g->next_id++;
    ARENA_PUSH(g->ar, g->nodes, g->n_nodes, g->cap_nodes, n);
}

/* Every tensor's constant size factor is bounded, so the products taken
 * later (numel, fans, byte sizes, the memory plan's offsets, the emitted C's
 * int64 index arithmetic) cannot overflow whatever sizes a program names. */
static int shape_size_ok(const ir_shape *s) {
    const int64_t max = (int64_t)1 << 32;
    int64_t k = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->d[i].k < 0 || (s->d[i].k > 0 && k > max / s->d[i].k)) return 0;
        k *= s->d[i].k;
    }
    return k <= max;
}

static int shape_has_negative(const ir_shape *s) {
    for (int i = 0; i < s->rank; i++)
        if (s->d[i].k < 0) return 1;
    return 0;
}

/* The first symbol that two dimensions share (N in f32[N, N]), or -1: its
 * square is not a monomial ir_dim can hold, so numel and the memory plan
 * would count N elements for N*N. x @ transpose(x) and take of an N-row
 * table by an N-shaped index would build one. */
static int shape_repeated_symbol(const ir_shape *s) {
    uint32_t seen = 0;
    for (int i = 0; i < s->rank; i++) {
        if (seen & s->d[i].syms) return __builtin_ctz(seen & s->d[i].syms);
        seen |= s->d[i].syms;
    }
    return -1;
}

ir_node *ir_add(ir_graph *g, diag_ctx *d, src_loc loc, ir_opcode op, ir_node *const *in, int nin, const ir_attrs *a) {
    const ir_op_info *info = &ir_ops[op];
    for (int i = 0; i < nin; i++)
        if (!in[i]) return NULL; /* an earlier error; already reported */
    char err[1024];
    err[0] = '\0';
    if ((info->arity >= 0 && nin != info->arity) || nin > (op == OP_scan ? IR_MAX_LOOP_IN : IR_MAX_IN)) {
        snprintf(err, sizeof err, "%s takes %d operand%s, got %d", info->name, info->arity,
                 info->arity == 1 ? "" : "s", nin);
    }
    ir_node *n = node_new(g, op, loc);
    n->nin = nin;
    for (int i = 0; i < nin && i < IR_MAX_LOOP_IN; i++) n->in[i] = in[i];
    if (a) n->a = *a;
    rule_module = g->mod;
    int shaped = err[0] || info->shape(n, err, sizeof err);
    rule_module = NULL;
    if (!shaped) {
        if (!err[0]) snprintf(err, sizeof err, "%s: invalid operands", info->name);
    } else if (!err[0] && !shape_size_ok(&n->shape)) {
        char buf[160];
        ir_shape_str(buf, sizeof buf, n->dtype, &n->shape, g->mod);
        snprintf(err, sizeof err, "%s: the result %s has %s", info->name, buf,
                 shape_has_negative(&n->shape) ? "a negative dimension" : "more than 2^32 elements per sample");
    } else if (!err[0] && shape_repeated_symbol(&n->shape) >= 0) {
        char buf[160];
        int sym = shape_repeated_symbol(&n->shape);
        const char *name = g->mod && sym < g->mod->n_syms ? g->mod->syms[sym].name : "a run-time size";
        ir_shape_str(buf, sizeof buf, n->dtype, &n->shape, g->mod);
        snprintf(err, sizeof err, "%s: the result %s has %s in two dimensions, which is not supported (its size would grow "
                 "as %s squared)\nhint: a loss over the pairs of a batch (SupCon, batch-hard triplets) takes the group as a "
                 "compile-time axis of one sample, f32[N, K, D], the pairs then f32[N, K, K]", info->name, buf, name, name);
    } else if (!err[0]) {
        node_append(g, n);
        return n;
    }
    if (d) diag_error(d, loc, "%s", err);
    else fprintf(stderr, "dlnc: error: %s\n", err);
    return NULL;
}

static ir_node *must(ir_node *n, ir_opcode op) {
    if (!n) {
        fprintf(stderr, "dlnc: internal error: the compiler built an ill-shaped '%s' node\n", ir_ops[op].name);
        abort();
    }
    return n;
}

static src_loc loc_of(ir_node *const *in, int nin) { return nin > 0 ? in[0]->loc : (src_loc){0}; }

/* A node a pass or a VJP builds comes from in[0]'s line, and so from the
 * same user call when that line is in a stdlib block. */
ir_node *ir_op_attrs(ir_graph *g, ir_opcode op, ir_node *const *in, int nin, const ir_attrs *a) {
    ir_node *n = must(ir_add(g, NULL, loc_of(in, nin), op, in, nin, a), op);
    if (nin > 0) n->site = in[0]->site, n->site_block = in[0]->site_block;
    return n;
}

ir_node *ir_un(ir_graph *g, ir_opcode op, ir_node *x) { return ir_op_attrs(g, op, &x, 1, NULL); }

ir_node *ir_bin(ir_graph *g, ir_opcode op, ir_node *x, ir_node *y) {
    ir_node *in[2] = {x, y};
    return ir_op_attrs(g, op, in, 2, NULL);
}

ir_node *ir_const(ir_graph *g, double value, const ir_shape *shape) {
    ir_attrs a = {0};
    ir_shape scalar = {0};
    ir_attrs_set_shape(&a, 0, shape ? shape : &scalar);
    a.constant.value = value;
    a.nf = 1;
    return ir_op_attrs(g, OP_constant, NULL, 0, &a);
}

static ir_node *with_shape(ir_graph *g, ir_opcode op, ir_node *x, const ir_shape *shape) {
    ir_attrs a = {0};
    ir_attrs_set_shape(&a, 0, shape);
    return ir_op_attrs(g, op, &x, 1, &a);
}

ir_node *ir_reshape(ir_graph *g, ir_node *x, const ir_shape *shape) { return with_shape(g, OP_reshape, x, shape); }
ir_node *ir_broadcast(ir_graph *g, ir_node *x, const ir_shape *shape) { return with_shape(g, OP_broadcast_to, x, shape); }

ir_node *ir_reduce_sum(ir_graph *g, ir_node *x, uint32_t axes, int keepdims) {
    ir_attrs a = {.reduce = {.axes = axes, .keepdims = keepdims != 0}, .ni = 2};
    return ir_op_attrs(g, OP_reduce_sum, &x, 1, &a);
}

ir_node *ir_matmul(ir_graph *g, ir_node *a, ir_node *b, int ta, int tb) {
    ir_attrs at = {.matmul = {.ta = ta != 0, .tb = tb != 0}, .ni = 2};
    ir_node *in[2] = {a, b};
    return ir_op_attrs(g, OP_matmul, in, 2, &at);
}

ir_node *ir_rand(ir_graph *g, ir_opcode op, int64_t stream, const ir_shape *shape) {
    ir_attrs a = {.rand = {.stream = stream}};
    ir_attrs_set_shape(&a, 1, shape);
    return ir_op_attrs(g, op, NULL, 0, &a);
}

ir_node *ir_input_node(ir_graph *g, const char *name, ir_dtype dt, const ir_shape *shape, src_loc loc) {
    ir_node *n = node_new(g, OP_input, loc);
    n->name = arena_strdup(g->ar, name);
    n->dtype = dt;
    n->shape = *shape;
    n->a.input.index = g->n_inputs;
    n->a.ni = 1;
    n->storage = IR_STORE_INPUT;
    ir_input rec = {n->name, dt, *shape, n, NULL};
    ARENA_PUSH(g->ar, g->inputs, g->n_inputs, g->cap_inputs, rec);
    node_append(g, n);
    return n;
}

/* One node per parameter per graph, so gradients of a parameter used in
 * several places meet in one node. g->param_nodes remembers it: graphs are
 * built before any pass could drop a node. */
ir_node *ir_param_node(ir_graph *g, int param_index, src_loc loc) {
    if (param_index < g->cap_param_nodes && g->param_nodes[param_index]) return g->param_nodes[param_index];
    if (param_index >= g->cap_param_nodes) {
        int cap = g->cap_param_nodes ? g->cap_param_nodes : 8;
        while (cap <= param_index) cap *= 2;
        g->param_nodes = arena_grow(g->ar, g->param_nodes, sizeof *g->param_nodes, g->cap_param_nodes, cap);
        g->cap_param_nodes = cap;
    }
    const ir_param *p = &g->mod->params[param_index];
    ir_node *n = node_new(g, OP_param, loc);
    n->name = p->name;
    n->dtype = IR_F32;
    n->shape = p->shape;
    n->a.param.index = param_index;
    n->a.ni = 1;
    n->storage = IR_STORE_PARAM;
    node_append(g, n);
    g->param_nodes[param_index] = n;
    return n;
}

void ir_add_output(ir_graph *g, ir_out_kind kind, int index, const char *name, ir_node *node) {
    ir_output o = {kind, index, name ? arena_strdup(g->ar, name) : NULL, node};
    ARENA_PUSH(g->ar, g->outputs, g->n_outputs, g->cap_outputs, o);
}

/* ---- utilities ---------------------------------------------------------- */

void ir_count_uses(ir_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) g->nodes[i]->n_uses = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++) g->nodes[i]->in[k]->n_uses++;
    for (int i = 0; i < g->n_outputs; i++) g->outputs[i].node->n_uses++;
}

void ir_replace_uses(ir_graph *g, ir_node *from, ir_node *to) {
    if (from == to) return;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++)
            if (g->nodes[i]->in[k] == from) g->nodes[i]->in[k] = to;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].node == from) g->outputs[i].node = to;
}
