/* emit_iface.c — a model's C interface: which form its functions take, the
 * names of their arguments, the run-time checks of the batch and symbol
 * sizes, and the io tables of the generic descriptor.
 *
 * Two forms (docs/design.md "The generated API"). A model of today's form —
 * one f32 input whose only run-time dimension is the batch N, one output,
 * and with a train section the labels — keeps the signatures every existing
 * caller uses: forward(m, x, out, n), train_step(m, x, y, n). Every other
 * model is "general": one C argument per model input, then per data field
 * the loss reads (steps only), then per output (forward, eval_step), then
 * n, then one int64_t per further symbol (T, ...). Inside the .c the
 * arguments are named in_<name>, out_<name>, sym<k> so that no .dln name can
 * collide with a local of the step body (m, n, t12, loss, seed); the
 * header's prototypes use the .dln's own names. */
#include <inttypes.h>
#include <string.h>

#include "emit_internal.h"

const ir_graph *emit_step_graph(const ir_module *m) { return m->train_step ? m->train_step : m->eval_step; }

int emit_n_values(const ir_graph *g)
{
    int k = 0;
    for (int i = 0; g && i < g->n_outputs; i++) k += g->outputs[i].kind == IR_OUT_VALUE;
    return k;
}

int emit_legacy_api(const ir_module *m)
{
    const ir_graph *f = m->forward;
    if (!f || m->n_syms > 1 || f->n_inputs != 1 || f->inputs[0].dtype != IR_F32 || emit_n_values(f) != 1) return 0;
    for (int i = 0; i < f->n_outputs; i++)
        if (f->outputs[i].kind == IR_OUT_VALUE && f->outputs[i].node->dtype != IR_F32) return 0;
    const ir_graph *s = emit_step_graph(m);
    return !s || (s->n_inputs == 2 && strcmp(s->inputs[1].name, "label") == 0);
}

/* The k-th value output of the forward graph (its name and node). */
static const ir_output *value_output(const ir_module *m, int k)
{
    for (int i = 0; i < m->forward->n_outputs; i++)
        if (m->forward->outputs[i].kind == IR_OUT_VALUE && k-- == 0) return &m->forward->outputs[i];
    return NULL;
}

int emit_n_outputs(const ir_module *m) { return emit_n_values(m->forward); }
int emit_n_fields(const ir_module *m)
{
    const ir_graph *s = emit_step_graph(m);
    return s ? s->n_inputs - m->forward->n_inputs : 0;
}

/* C keywords and the names a prototype already uses: a .dln name equal to one gets a '_' appended. */
static int c_reserved(const char *s)
{
    static const char *const kw[] = {"auto", "break", "case", "char", "const", "continue", "default", "do",
                                     "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline",
                                     "int", "long", "register", "restrict", "return", "short", "signed", "sizeof",
                                     "static", "struct", "switch", "typedef", "union", "unsigned", "void",
                                     "volatile", "while", "bool", "true", "false", "int32_t", "int64_t", "m", "n",
                                     "NULL", "NAN"};
    for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
        if (strcmp(s, kw[i]) == 0) return 1;
    return s[0] == '_';
}

static const char *header_name(arena *ar, const char *s)
{
    const char *t = emit_c_ident(ar, s);
    return c_reserved(t) ? arena_printf(ar, "%s_", t) : t;
}

/* A symbol's name in the header: an input or output of that name wins. */
static const char *header_sym(const ir_module *m, int k)
{
    const char *t = header_name(m->ar, m->syms[k].name);
    const ir_graph *s = emit_step_graph(m) ? emit_step_graph(m) : m->forward;
    for (int i = 0; i < s->n_inputs; i++)
        if (strcmp(t, header_name(m->ar, s->inputs[i].name)) == 0) return arena_printf(m->ar, "%s_", t);
    for (int i = 0; i < emit_n_outputs(m); i++)
        if (strcmp(t, header_name(m->ar, value_output(m, i)->name)) == 0) return arena_printf(m->ar, "%s_", t);
    return t;
}

const char *emit_in_name(arena *ar, const ir_graph *g, int i)
{
    return arena_printf(ar, "in_%s", emit_c_ident(ar, g->inputs[i].name));
}

const char *emit_out_name(arena *ar, const char *name) { return arena_printf(ar, "out_%s", emit_c_ident(ar, name)); }

static const char *ctype(ir_dtype dt) { return dt == IR_I32 ? "int32_t" : "float"; }

void emit_step_params(FILE *f, const ir_module *m, int kind, int header)
{
    const ir_graph *fw = m->forward, *s = emit_step_graph(m);
    for (int i = 0; i < fw->n_inputs; i++)
        fprintf(f, ", const %s *%s", ctype(fw->inputs[i].dtype),
                header ? header_name(m->ar, fw->inputs[i].name) : emit_in_name(m->ar, fw, i));
    if (kind != EMIT_STEP_FORWARD)
        for (int i = fw->n_inputs; s && i < s->n_inputs; i++)
            fprintf(f, ", const %s *%s", ctype(s->inputs[i].dtype),
                    header ? header_name(m->ar, s->inputs[i].name) : emit_in_name(m->ar, s, i));
    if (kind != EMIT_STEP_TRAIN)
        for (int k = 0; k < emit_n_outputs(m); k++) {
            const ir_output *o = value_output(m, k);
            fprintf(f, ", %s *%s", ctype(o->node->dtype), header ? header_name(m->ar, o->name) : emit_out_name(m->ar, o->name));
        }
    fprintf(f, ", int64_t n");
    for (int k = 1; k < m->n_syms; k++) {
        if (header) fprintf(f, ", int64_t %s", header_sym(m, k));
        else fprintf(f, ", int64_t sym%d", k);
    }
}

void emit_step_voids(FILE *f, const ir_module *m, int kind)
{
    const ir_graph *fw = m->forward, *s = emit_step_graph(m);
    fprintf(f, "    (void)m, (void)n;\n");
    for (int i = 0; i < fw->n_inputs; i++) fprintf(f, "    (void)%s;\n", emit_in_name(m->ar, fw, i));
    if (kind != EMIT_STEP_FORWARD)
        for (int i = fw->n_inputs; s && i < s->n_inputs; i++) fprintf(f, "    (void)%s;\n", emit_in_name(m->ar, s, i));
    if (kind != EMIT_STEP_TRAIN)
        for (int k = 0; k < emit_n_outputs(m); k++) fprintf(f, "    (void)%s;\n", emit_out_name(m->ar, value_output(m, k)->name));
    for (int k = 1; k < m->n_syms; k++) fprintf(f, "    (void)sym%d;\n", k);
}

void emit_step_checks(FILE *f, const ir_module *m, const char *fail)
{
    const char *p = m->name;
    fprintf(f, "    if (n < 1 || n > m->max_batch) {\n");
    fprintf(f, "        dl_set_error(\"%s: batch size %%lld is outside [1, %%lld] (max_batch given to create)\", "
               "(long long)n, (long long)m->max_batch);\n        %s\n    }\n", p, fail);
    for (int k = 1; k < m->n_syms; k++) {
        const char *s = m->syms[k].name;
        fprintf(f, "    if (sym%d < 1 || sym%d > m->sym_max[%d]) {\n", k, k, k);
        fprintf(f, "        dl_set_error(\"%s: %s = %%lld is outside [1, %%lld] (max_%s given to create)\", "
                   "(long long)sym%d, (long long)m->sym_max[%d]);\n        %s\n    }\n", p, s, s, k, k, fail);
    }
}

/* ---- the header ----------------------------------------------------------- */

void emit_header_general(FILE *h, const ir_module *m)
{
    const char *p = m->name;
    fprintf(h, "/* Allocate a model for batches of up to max_batch samples");
    for (int k = 1; k < m->n_syms; k++) fprintf(h, " and %s up to max_%s", m->syms[k].name, m->syms[k].name);
    fprintf(h, "\n * (NULL + dl_last_error() on failure). Parameters are zero until %s_init or %s_load. */\n", p, p);
    fprintf(h, "%s_model *%s_create(int64_t max_batch", p, p);
    for (int k = 1; k < m->n_syms; k++) fprintf(h, ", int64_t max_%s", header_sym(m, k));
    fprintf(h, ");\n");
    fprintf(h, "void %s_free(%s_model *m);\n", p, p);
    fprintf(h, "/* Run the initializers of the .dln file with this seed; resets gradients, optimizer state, step. */\n");
    fprintf(h, "void %s_init(%s_model *m, uint64_t seed);\n", p, p);
    fprintf(h, "/* Arguments of the step functions, in this order (row-major, n samples one after another):\n");
    const ir_graph *fw = m->forward, *s = emit_step_graph(m);
    char buf[160];
    for (int i = 0; i < fw->n_inputs; i++)
        fprintf(h, " *   input  %-10s %s\n", fw->inputs[i].name,
                ir_shape_str(buf, sizeof buf, fw->inputs[i].dtype, &fw->inputs[i].shape, m));
    for (int i = fw->n_inputs; s && i < s->n_inputs; i++)
        fprintf(h, " *   field  %-10s %s (a data field the loss reads; eval_step and train_step only)\n", s->inputs[i].name,
                ir_shape_str(buf, sizeof buf, s->inputs[i].dtype, &s->inputs[i].shape, m));
    for (int k = 0; k < emit_n_outputs(m); k++) {
        const ir_output *o = value_output(m, k);
        fprintf(h, " *   output %-10s %s (forward, eval_step)\n", o->name,
                ir_shape_str(buf, sizeof buf, o->node->dtype, &o->node->shape, m));
    }
    fprintf(h, " * then n (the batch) in [1, max_batch]");
    for (int k = 1; k < m->n_syms; k++) fprintf(h, " and %s in [1, max_%s]", m->syms[k].name, m->syms[k].name);
    fprintf(h, ".\n * A size outside its bound: the function does nothing and eval_step/train_step return NaN\n"
               " * (dl_last_error() says which). */\n");
    fprintf(h, "/* Inference (eval mode): every output is written. */\n");
    fprintf(h, "void %s_forward(%s_model *m", p, p);
    emit_step_params(h, m, EMIT_STEP_FORWARD, 1);
    fprintf(h, ");\n/* Loss in eval mode; each output pointer may be NULL (not wanted). */\n");
    fprintf(h, "float %s_eval_step(%s_model *m", p, p);
    emit_step_params(h, m, EMIT_STEP_EVAL, 1);
    fprintf(h, ");\n/* One training step: forward, backward, optimizer update. Returns the loss (NaN on error). */\n");
    fprintf(h, "float %s_train_step(%s_model *m", p, p);
    emit_step_params(h, m, EMIT_STEP_TRAIN, 1);
    fprintf(h, ");\n");
}

/* ---- the generic descriptor's io part -------------------------------------- */

/* One dl_io_info initializer: per-sample dims, a symbol k as DL_DIM_SYM(k). */
static void io_row(FILE *f, const ir_module *m, const char *name, const char *field, ir_dtype dt, const ir_shape *s,
                   diag_ctx *d, src_loc loc)
{
    fprintf(f, "    {");
    emit_cstr(f, name);
    fprintf(f, ", ");
    emit_cstr(f, field ? field : name);
    fprintf(f, ", %s, %d, {", dt == IR_I32 ? "DL_I32" : "DL_F32", s->rank - 1);
    for (int i = 1; i < s->rank; i++) {
        const ir_dim x = s->d[i];
        if (i > 1) fprintf(f, ", ");
        if (x.syms == 0) fprintf(f, "%" PRId64, x.k);
        else if (x.k == 1 && (x.syms & (x.syms - 1)) == 0 && !(x.syms & 1u)) fprintf(f, "DL_DIM_SYM(%d)", __builtin_ctz(x.syms));
        else {
            char buf[64];
            diag_error(d, loc, "'%s' of model '%s': a per-sample dimension must be a number or one symbol, not %s", name,
                       m->name, ir_dim_str(buf, sizeof buf, x, m));
            fprintf(f, "0");
        }
    }
    if (s->rank <= 1) fprintf(f, "0");
    fprintf(f, "}},\n");
}

void emit_io_tables(FILE *f, const ir_module *m, diag_ctx *d)
{
    const char *p = m->name;
    const ir_graph *fw = m->forward, *s = emit_step_graph(m);
    int nin = fw->n_inputs, nout = emit_n_outputs(m), nf = emit_n_fields(m);
    fprintf(f, "/* the model's inputs, outputs and the data fields its steps read: name, field, dtype, per-sample shape */\n");
    fprintf(f, "static const dl_io_info %s_io_inputs[%d] = {\n", p, nin);
    for (int i = 0; i < nin; i++) {
        const ir_input *in = s && i < s->n_inputs ? &s->inputs[i] : &fw->inputs[i];
        io_row(f, m, in->name, in->field, in->dtype, &in->shape, d, in->node->loc);
    }
    fprintf(f, "};\nstatic const dl_io_info %s_io_outputs[%d] = {\n", p, nout);
    for (int k = 0; k < nout; k++) {
        const ir_output *o = value_output(m, k);
        io_row(f, m, o->name, NULL, o->node->dtype, &o->node->shape, d, o->node->loc);
    }
    fprintf(f, "};\nstatic const dl_io_info %s_io_fields[%d] = {\n", p, nf > 0 ? nf : 1);
    for (int i = nin; s && i < s->n_inputs; i++)
        io_row(f, m, s->inputs[i].name, NULL, s->inputs[i].dtype, &s->inputs[i].shape, d, s->inputs[i].node->loc);
    if (nf == 0) fprintf(f, "    {NULL, NULL, DL_F32, 0, {0}},\n");
    fprintf(f, "};\nstatic const char *const %s_sym_names[%d] = {", p, m->n_syms > 0 ? m->n_syms : 1);
    for (int k = 0; k < m->n_syms; k++) {
        fprintf(f, "%s", k ? ", " : "");
        emit_cstr(f, m->syms[k].name);
    }
    if (m->n_syms == 0) fprintf(f, "\"N\"");
    fprintf(f, "};\n\n");

    /* array-based entry points: the same functions over void pointers */
    const int legacy = emit_legacy_api(m);
    fprintf(f, "static void %s_io_forward(void *m, const void *const *in, void *const *out, int64_t n, const int64_t *syms)\n{\n",
            p);
    if (m->n_syms <= 1) fprintf(f, "    (void)syms;\n");
    fprintf(f, "    %s_forward(m", p);
    for (int i = 0; i < nin; i++) fprintf(f, ", in[%d]", i);
    for (int k = 0; k < nout; k++) fprintf(f, ", out[%d]", k);
    fprintf(f, ", n");
    for (int k = 1; k < m->n_syms; k++) fprintf(f, ", syms[%d]", k - 1);
    fprintf(f, ");\n}\n");
    fprintf(f, "static float %s_io_eval(void *m, const void *const *in, void *const *out, int64_t n, const int64_t *syms)\n{\n",
            p);
    if (m->n_syms <= 1) fprintf(f, "    (void)syms;\n");
    fprintf(f, "    return %s_eval_step(m", p);
    for (int i = 0; i < nin + nf; i++) fprintf(f, ", in[%d]", i);
    if (legacy && nf == 0) fprintf(f, ", NULL"); /* today's form always has y */
    for (int k = 0; k < nout; k++) fprintf(f, ", out[%d]", k);
    fprintf(f, ", n");
    for (int k = 1; k < m->n_syms; k++) fprintf(f, ", syms[%d]", k - 1);
    fprintf(f, ");\n}\n");
    fprintf(f, "static float %s_io_train(void *m, const void *const *in, int64_t n, const int64_t *syms)\n{\n", p);
    if (m->n_syms <= 1) fprintf(f, "    (void)syms;\n");
    fprintf(f, "    return %s_train_step(m", p);
    for (int i = 0; i < nin + nf; i++) fprintf(f, ", in[%d]", i);
    if (legacy && nf == 0) fprintf(f, ", NULL");
    fprintf(f, ", n");
    for (int k = 1; k < m->n_syms; k++) fprintf(f, ", syms[%d]", k - 1);
    fprintf(f, ");\n}\n\n");
}
