/* deploy.c — the inference-only C file of `dlnc export` (deploy.h).
 *
 * Why it reuses the emitter rather than writing its own: the forward pass of
 * `dlnc model.dln -o model.c` is already one function calling one kernel per
 * fused group, with every buffer planned in one arena. emit_forward_only
 * gives exactly that text; this file surrounds it with what libdlnrt would
 * otherwise provide:
 *   - the runtime functions the kernels call (dl_sgemm, dl_conv2d_ep,
 *     dl_max_pool2d, ...), as plain C in compiler/deploy_rt/ (embedded in dlnc),
 *     each included only when the forward text or another included piece
 *     names it; dl_expf, dl_erff and the convolution geometry come from the
 *     embedded dlnrt.h itself;
 *   - the struct the forward reads (params, act, max_batch, statics), filled
 *     on the stack by <model>_infer from the caller's weights and arena, so
 *     nothing is allocated;
 *   - the weights, in the parameter layout the forward indexes.
 * Two textual edits make the forward fit: `#pragma omp` lines go under
 * `#ifdef _OPENMP` (so -Wall -Werror passes without -fopenmp) and the forward
 * becomes static (the export's only external name is <model>_infer).
 * A runtime call with no portable piece (attention, say) is an error naming
 * it, never a file that fails to link. */
#include "deploy.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnc_version.h"
#include "emit.h"
#include "stdlib_embed.h"

extern const char dlnrt_header_text[];        /* runtime/dlnrt.h, embedded at build time */
extern const stdlib_file deploy_rt_files[];   /* compiler/deploy_rt/<symbol>.c, in dependency order */
extern const int deploy_rt_n_files;

/* "compiler/deploy_rt/dl_sgemm.int8.c" → "dl_sgemm" */
static const char *piece_symbol(arena *ar, const char *path)
{
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    const char *dot = strchr(s, '.');
    return arena_printf(ar, "%.*s", (int)(dot ? dot - s : (long)strlen(s)), s);
}

/* Pieces cut from the embedded dlnrt.h itself, not copied: the text from
 * `from` to the end of the first `to` after it. */
static const struct {
    const char *symbol, *from, *to;
} header_pieces[] = {
    {"dl_expf", "static inline float dl_expf(", "\n}\n"},
    {"dl_erff", "static inline float dl_erff(", "\n}\n"},
    {"dl_tanhf", "static inline float dl_tanhf(", "\n}\n"},
    {"dl_fminf", "static inline float dl_fminf(", "}\n"},
    {"dl_fmaxf", "static inline float dl_fmaxf(", "}\n"},
    {"dl_conv2d_geom", "typedef struct dl_conv2d_geom {", "} dl_conv2d_geom;\n"},
    {"dl_conv_epilogue", "typedef void (*dl_conv_epilogue)", ";\n"},
    {"DL_ATTN_MAX_BATCH_DIMS", "#define DL_ATTN_MAX_BATCH_DIMS", "\n"},
    {"dl_attention_geom", "typedef struct dl_attention_geom {", "} dl_attention_geom;\n"},
};
enum { N_HEADER_PIECES = sizeof header_pieces / sizeof *header_pieces };

static const char *header_piece(arena *ar, int k)
{
    const char *p = strstr(dlnrt_header_text, header_pieces[k].from);
    const char *e = p ? strstr(p, header_pieces[k].to) : NULL;
    return e ? arena_printf(ar, "%.*s\n", (int)(e + strlen(header_pieces[k].to) - p), p) : NULL;
}

static int is_int8_piece(const char *path) { return strstr(path, ".int8.") != NULL; }

/* The runtime pieces: from dlnrt.h, then compiler/deploy_rt/. An int8
 * export takes a symbol's .int8.c variant, which calls the float one
 * renamed <symbol>_f32 for the tensors it has no int8 weight for; a float
 * export has no variants. Returns the count. */
static int collect_pieces(arena *ar, int int8, const char **sym, const char **body)
{
    int np = 0;
    for (int k = 0; k < N_HEADER_PIECES; k++, np++) sym[np] = header_pieces[k].symbol, body[np] = header_piece(ar, k);
    for (int k = 0; k < deploy_rt_n_files; k++) {
        const char *name = deploy_rt_files[k].name, *text = deploy_rt_files[k].text, *sy = piece_symbol(ar, name);
        if (is_int8_piece(name) && !int8) continue;
        int has_variant = 0;
        for (int j = 0; j < deploy_rt_n_files && int8 && !is_int8_piece(name); j++)
            has_variant |= is_int8_piece(deploy_rt_files[j].name) && !strcmp(piece_symbol(ar, deploy_rt_files[j].name), sy);
        if (has_variant) { /* its definition is the first "sy(" of the text */
            const char *def = strstr(text, arena_printf(ar, "%s(", sy));
            text = arena_printf(ar, "%.*s%s_f32%s", (int)(def - text), text, sy, def + strlen(sy));
            sy = arena_printf(ar, "%s_f32", sy);
        }
        sym[np] = sy, body[np++] = text;
    }
    return np;
}

/* The int8 weights and their table (deploy_rt/deploy_q8.c looks pointers up in it). */
static int64_t put_q8_table(FILE *f, const char *p, const deploy_quant *q, const emit_forward_layout *L)
{
    int64_t bytes = 0;
    fprintf(f, "/* ---- int8 weights (per output channel) and their inputs' scales (per tensor) ---- */\n\n");
    fprintf(f, "typedef struct deploy_q8 {\n    int64_t offset; /* the float weight's place in the weights */\n"
               "    const int8_t *w;\n    const float *scale; /* per output channel */\n"
               "    float xscale;       /* the input's */\n} deploy_q8;\n");
    fprintf(f, "static const float *deploy_q8_base; /* the weights of the call running */\n\n");
    for (int k = 0; k < q->n; k++) {
        const deploy_qtensor *t = &q->t[k];
        fprintf(f, "static const int8_t %s_q%d[%" PRId64 "] = {", p, k, t->numel);
        for (int64_t j = 0; j < t->numel; j++) fprintf(f, "%s%d,", j % 24 == 0 ? "\n    " : " ", t->q[j]);
        fprintf(f, "\n};\nstatic const float %s_qs%d[%" PRId64 "] = {", p, k, t->channels);
        for (int64_t j = 0; j < t->channels; j++) fprintf(f, "%s%.8ef,", j % 8 == 0 ? "\n    " : " ", t->scale[j]);
        fprintf(f, "\n};\n\n");
        bytes += t->numel + 4 * t->channels;
    }
    fprintf(f, "static const deploy_q8 deploy_q8_table[%d] = {\n", q->n);
    for (int k = 0; k < q->n; k++)
        fprintf(f, "    {%" PRId64 ", %s_q%d, %s_qs%d, %.8ef},\n", L->param_offset[q->t[k].param], p, k, p, k,
                q->t[k].xscale);
    fprintf(f, "};\n\n");
    return bytes;
}

/* Every dl_/DL_ identifier of text that no piece defines: reported, -1. */
static int check_provided(const char *text, const char *const *syms, int n, const char *model, diag_ctx *d)
{
    int bad = 0;
    for (const char *p = text; (p = strpbrk(p, "dD")) != NULL; p++) {
        if (strncmp(p, "dl_", 3) && strncmp(p, "DL_", 3)) continue;
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) continue;
        size_t len = 0;
        while (isalnum((unsigned char)p[len]) || p[len] == '_') len++;
        int known = !strncmp(p, "dl_error_text", len) && len == 13;
        for (int k = 0; k < n && !known; k++) known = strlen(syms[k]) == len && !strncmp(p, syms[k], len);
        if (!known) {
            diag_fatal_noloc(d, "%s: the forward pass calls the runtime's %.*s, which dlnc export has no portable "
                             "version of yet", model, (int)len, p);
            bad = 1;
            break;
        }
        p += len - 1;
    }
    return bad ? -1 : 0;
}

/* The forward's text with OpenMP pragmas made optional and the forward static. */
static void put_forward(FILE *out, const char *text, const char *model)
{
    char *fwd = NULL;
    size_t flen = 0;
    FILE *f = open_memstream(&fwd, &flen);
    fprintf(f, "void %s_forward(", model);
    fclose(f);
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) + 1 : (int)strlen(line);
        const char *s = line;
        while (*s == ' ') s++;
        if (!strncmp(s, "#pragma omp", 11)) fprintf(out, "#ifdef _OPENMP\n%.*s#endif\n", len, line);
        else if (!strncmp(line, fwd, flen)) fprintf(out, "static %.*s", len, line);
        else fprintf(out, "%.*s", len, line);
        line += len;
    }
    free(fwd);
}

static void upper_ident(FILE *f, const char *s)
{
    for (; *s; s++) fputc(isalnum((unsigned char)*s) ? toupper((unsigned char)*s) : '_', f);
}

static int64_t per_sample(const ir_shape *s) { return ir_shape_numel(s).k; }

/* Where each arena class starts and its unit at sym (max_batch, then each length), laid out as <model>_create_sym
 * lays them (emit_c.c: the classes by symbol mask 1, 2, .., then the constant one, 0); returns the floats they take. */
static int64_t class_layout(const emit_forward_layout *L, const int64_t *sym, int64_t *base, int64_t *unit)
{
    int64_t act = 0;
    for (int c = 1; c <= L->n_cls; c++) {
        const int cls = c % L->n_cls;
        unit[cls] = 1;
        for (int k = 0; k < IR_MAX_SYMS; k++)
            if (cls >> k & 1) unit[cls] *= sym[k];
        base[cls] = act;
        act += (cls ? L->cls[cls] : (L->cls[0] + 15) / 16 * 16) * unit[cls];
    }
    return act;
}

static int assigned(const ir_graph *g, int param)
{
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k].kind == IR_OUT_ASSIGN && g->outputs[k].index == param) return 1;
    return 0;
}

int deploy_check(const ir_module *m, diag_ctx *d)
{
    const ir_graph *g = m->forward;
    int ok = g && g->n_inputs >= 1 && emit_n_values(g) >= 1;
    for (int k = 0; ok && k < g->n_inputs; k++) ok = g->inputs[k].dtype == IR_F32 || g->inputs[k].dtype == IR_I32;
    for (int k = 0; ok && k < emit_n_values(g); k++)
        ok = g->outputs[k].kind == IR_OUT_VALUE && (g->outputs[k].node->dtype == IR_F32 || g->outputs[k].node->dtype == IR_I32);
    if (!ok) {
        diag_fatal_noloc(d, "%s: only a model with f32 or i32 inputs (batch first) and f32 or i32 outputs can be exported yet", m->name);
        return -1;
    }
    for (int i = 0; i < m->n_params; i++) /* (elab_output.carry_state: the forward assigns it) */
        if (m->params[i].state && !assigned(g, i)) {
            diag_fatal_noloc(d, "%s: the carried state '%s' is never given a new value by update() in the forward "
                             "pass, so an export cannot carry it", m->name, m->params[i].name);
            return -1;
        }
    return 0;
}

int deploy_emit(ir_module *m, float *const *params, const deploy_quant *q, const char *source, const deploy_options *o,
                FILE *c_out, FILE *h_out, FILE *bin_out, deploy_sizes *sz, diag_ctx *d)
{
    arena *ar = m->ar;
    const char *p = m->name;
    char *fwd = NULL;
    size_t fwd_len = 0;
    FILE *ff = open_memstream(&fwd, &fwd_len);
    emit_forward_layout L;
    int rc = emit_forward_only(ff, m, &L, d);
    fclose(ff);
    if (rc != 0) {
        free(fwd);
        return -1;
    }

    /* Which pieces: those the forward names, then those they name, to a fixed point. */
    const char **sym = ARENA_NEW_ARRAY(ar, const char *, deploy_rt_n_files + N_HEADER_PIECES);
    const char **body = ARENA_NEW_ARRAY(ar, const char *, deploy_rt_n_files + N_HEADER_PIECES);
    const int np = collect_pieces(ar, q != NULL, sym, body);
    unsigned char *used = arena_alloc(ar, (size_t)np);
    for (int changed = 1; changed;) {
        changed = 0;
        for (int k = 0; k < np; k++) {
            if (used[k] || !body[k]) continue;
            int need = emit_mentions_ident(fwd, sym[k]);
            for (int j = 0; j < np && !need; j++) need = used[j] && emit_mentions_ident(body[j], sym[k]);
            if (need) used[k] = 1, changed = 1;
        }
    }
    if (check_provided(fwd, sym, np, p, d) != 0) {
        free(fwd);
        return -1;
    }

    const int64_t *len = o->len;
    int64_t size[IR_MAX_SYMS]; /* each symbol's value: max_batch, then the lengths */
    for (int k = 0; k < IR_MAX_SYMS; k++) size[k] = k ? len[k] : o->max_batch;
    /* A forward of the general interface (an i32 input, a run-time T) places its buffers by size class
     * (m->cls_base, m->cls_unit), the others at act_n * max_batch then act_c. */
    const int classes = emit_mentions_ident(fwd, "cls_base"), sym_max = emit_mentions_ident(fwd, "sym_max");
    int64_t cbase[1 << IR_MAX_SYMS] = {0}, cunit[1 << IR_MAX_SYMS] = {0};
    const int64_t act_floats = classes ? class_layout(&L, size, cbase, cunit) : L.act_n * o->max_batch + L.act_c;
    /* A forward that can stop half-way (a lookup's index check, emit_kernels.c's emit_index_check, finding an
     * id out of a table's range) writes its outputs into the arena, after the statics, so that a failed call
     * leaves the caller's untouched. The other forwards fail only at their entry checks, before any write. */
    int64_t *stage = strstr(fwd, " out of range [0, ") ? ARENA_NEW_ARRAY(ar, int64_t, emit_n_values(m->forward)) : NULL;
    const int64_t stage_base = act_floats + L.statics;
    const int state = deploy_has_state(m);
    const int64_t state_floats = L.state_floats * o->max_batch;
    const int64_t stage_floats = stage ? deploy_stage_floats(m, o->max_batch, len, stage) : 0;
    /* ... and then keeps a copy of the carried state, put back when the call fails */
    const int64_t arena_floats = stage_base + stage_floats + (stage && state ? state_floats : 0);
    sz->weight_bytes = L.param_floats * 4;
    sz->arena_bytes = arena_floats * 4;
    const char *hname = strrchr(o->output, '/') ? strrchr(o->output, '/') + 1 : o->output;
    char *hbase = arena_printf(ar, "%s", hname);
    if (strlen(hbase) > 2 && !strcmp(hbase + strlen(hbase) - 2, ".c")) hbase[strlen(hbase) - 1] = 'h';
    else hbase = arena_printf(ar, "%s.h", hname);

    /* The header. */
    fprintf(h_out, "/* %s — inference for the model %s of %s, generated by `dlnc export` (dlnc " DLNC_VERSION
                   ").\n * Forward pass only, eval mode; depends on libc and libm (OpenMP when compiled with it). */\n",
            hbase, p, source);
    fprintf(h_out, "#ifndef ");
    upper_ident(h_out, hbase);
    fprintf(h_out, "\n#define ");
    upper_ident(h_out, hbase);
    fprintf(h_out, "\n\n");
#define HDEF(suffix, value, comment)                                                                                  \
    do {                                                                                                              \
        fprintf(h_out, "#define ");                                                                                   \
        upper_ident(h_out, p);                                                                                        \
        fprintf(h_out, "_%s %" PRId64 " /* %s */\n", suffix, (int64_t)(value), comment);                              \
    } while (0)
    HDEF("MAX_BATCH", o->max_batch, "the largest n a call takes");
    if (m->n_syms == 2) HDEF("SEQ_LEN", len[1], arena_printf(ar, "%s: every sample's length (--seq-len)", m->syms[1].name));
    for (int k = 1; m->n_syms > 2 && k < m->n_syms; k++)
        HDEF(arena_printf(ar, "SEQ_LEN_%s", m->syms[k].name), len[k],
             arena_printf(ar, "%s: every sample's length along %s (--seq-len %s=)", m->syms[k].name, m->syms[k].name, m->syms[k].name));
    deploy_put_sizes(h_out, m, len);
    HDEF("WEIGHT_FLOATS", L.param_floats, "floats of the weights (the blob of --weights-file)");
    HDEF("ARENA_BYTES", sz->arena_bytes > 0 ? sz->arena_bytes : 4, "the arena a call needs, at MAX_BATCH");
#undef HDEF
    if (deploy_has_int32(m) && state) fprintf(h_out, "#include <stdint.h>\n");
    if (state) deploy_put_state_header(h_out, m, &L, o->max_batch);
    fprintf(h_out, "\n/* Runs the model on n samples of each input (n times its IN_ size, one sample after another)\n"
                   " * into each output (n times its OUT_ size).\n"
                   " * weights: %s\n"
                   " * arena: ARENA_BYTES bytes, float-aligned, owned by this call while it runs%s.\n"
                   " * Returns 0, or -1 (n outside [1, MAX_BATCH], a NULL pointer%s; the outputs are then not\n"
                   " * written). Allocates nothing.%s */\n",
            o->weights_bin ? "the WEIGHT_FLOATS floats of the weights file (required)"
                           : "NULL for the embedded ones (or a blob of the same layout)",
            o->static_arena ? " (NULL: a static one in the file, not reentrant)" : "",
            deploy_has_ids(m) ? ", an id outside [0, VOCAB) or the rows of a table it reaches" : "",
            state ? arena_printf(ar, "\n * ctx: set up by %s_ctx_init(ctx, n); its rows of state are read, then moved on (only when\n"
                                     " * the call returns 0); an n other than ctx->batch, or a NULL ctx, returns -1.", p) : "");
    if (deploy_has_int32(m) && !state) fprintf(h_out, "#include <stdint.h>\n");
    deploy_put_signature(h_out, ar, m);
    fprintf(h_out, ";\n\n#endif\n");

    /* The C file: pieces, weights, forward, entry point. */
    long code_start = ftell(c_out);
    fprintf(c_out, "/* Generated by `dlnc export` (dlnc " DLNC_VERSION ") from %s: the model %s, inference only.\n"
                   " * Do not edit: change the .dln, retrain, export again. */\n",
            source, p);
    fprintf(c_out, "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n\n#include \"%s\"\n\n", hbase);
    int64_t weights_text = 0;
    if (q) {
        long q0 = ftell(c_out);
        sz->weight_bytes += put_q8_table(c_out, p, q, &L);
        weights_text = ftell(c_out) - q0;
    }
    fprintf(c_out, "/* ---- the runtime functions the forward calls, in portable C ---- */\n\n");
    for (int k = 0; k < np; k++)
        if (used[k]) fprintf(c_out, "%s\n", body[k]);
    fprintf(c_out, "/* ---- the forward pass (eval mode), as `dlnc -o` emits it ---- */\n\n");
    fprintf(c_out, "typedef struct %s_model {\n    int64_t max_batch, step;\n    uint64_t seed;\n"
                   "    float *params, *act, *statics%s;\n    unsigned statics_ready;\n%s%s} %s_model;\n\n",
            p, state ? ", *state" : "", classes ? arena_printf(ar, "    int64_t cls_base[%d], cls_unit[%d];\n", L.n_cls, L.n_cls) : "",
            sym_max ? arena_printf(ar, "    int64_t sym_max[%d];\n", m->n_syms) : "", p);
    put_forward(c_out, fwd, p);
    free(fwd);
    if (!o->weights_bin) {
        long w0 = ftell(c_out);
        fprintf(c_out, "/* ---- the weights: each parameter at its offset, padded to 16 floats ---- */\n");
        fprintf(c_out, "static const float %s_weights[%" PRId64 "] = {\n", p, L.param_floats > 0 ? L.param_floats : 1);
        for (int i = 0; i < m->n_params; i++) {
            int64_t n = per_sample(&m->params[i].shape);
            if (n == 0 || m->params[i].state) continue; /* not read by the forward (deploy_fold); the context's */
            fprintf(c_out, "    /* %s */\n    [%" PRId64 "] =", m->params[i].name, L.param_offset[i]);
            for (int64_t j = 0; j < n; j++) /* NaN: the placeholder of an int8 weight (deploy_int8.c) */
                fprintf(c_out, isnan(params[i][j]) ? "%sNAN," : "%s%.8ef,", j % 8 == 0 ? "\n    " : " ", params[i][j]);
            fprintf(c_out, "\n");
        }
        fprintf(c_out, "};\n\n");
        weights_text += ftell(c_out) - w0;
    } else {
        for (int i = 0; i < m->n_params; i++) {
            if (m->params[i].state) continue; /* the context's */
            int64_t n = per_sample(&m->params[i].shape), pad = (16 - n % 16) % 16;
            static const float zeros[16];
            if (fwrite(params[i], sizeof(float), (size_t)n, bin_out) != (size_t)n ||
                fwrite(zeros, sizeof(float), (size_t)pad, bin_out) != (size_t)pad) {
                diag_fatal_noloc(d, "cannot write '%s'", o->weights_bin);
                return -1;
            }
        }
    }
    if (state) deploy_put_state_functions(c_out, m, &L, o->max_batch);
    if (o->static_arena)
        fprintf(c_out, "static float %s_static_arena[%" PRId64 "];\n\n", p, arena_floats > 0 ? arena_floats : 1);
    deploy_put_signature(c_out, ar, m);
    fprintf(c_out, "\n{\n    %s_model m;\n", p);
    if (!o->weights_bin) fprintf(c_out, "    if (!weights) weights = %s_weights;\n", p);
    if (o->static_arena) fprintf(c_out, "    if (!arena) arena = %s_static_arena;\n", p);
    deploy_put_checks(c_out, ar, m, o->max_batch, len);
    fprintf(c_out, "    m.max_batch = %" PRId64 ", m.step = 0, m.seed = 0, m.statics_ready = 0;\n", o->max_batch);
    fprintf(c_out, "    m.params = (float *)weights; /* read only: the forward updates nothing */\n");
    fprintf(c_out, "    m.act = (float *)arena;\n");
    fprintf(c_out, "    m.statics = m.act + %" PRId64 ";\n", act_floats);
    if (state) fprintf(c_out, "    m.state = ctx->state; /* read, then moved on by the forward's last lines */\n");
    if (state && stage)
        fprintf(c_out, "    memcpy(m.act + %" PRId64 ", ctx->state, sizeof ctx->state);\n", stage_base + stage_floats);
    for (int k = 0; classes && k < L.n_cls; k++)
        fprintf(c_out, "    m.cls_base[%d] = %" PRId64 ", m.cls_unit[%d] = %" PRId64 ";\n", k, cbase[k], k, cunit[k]);
    for (int k = 0; sym_max && k < m->n_syms; k++) fprintf(c_out, "    m.sym_max[%d] = %" PRId64 ";\n", k, size[k]);
    if (q) fprintf(c_out, "    deploy_q8_base = weights;\n");
    const char *lens = "";
    for (int k = 1; k < m->n_syms; k++) lens = arena_printf(ar, "%s, %" PRId64, lens, len[k]);
    fprintf(c_out, "    if (dl_error_text) dl_error_text = 0; /* written only after a failure: other threads' calls only read it */\n"
                   "    %s_forward(&m, %sn%s);\n", p, deploy_forward_args(ar, m, stage_base, stage), lens);
    if (stage && state) /* the forward stopped half-way: the state as it was */
        fprintf(c_out, "    if (dl_error_text) memcpy(ctx->state, m.act + %" PRId64 ", sizeof ctx->state);\n",
                stage_base + stage_floats);
    if (stage) deploy_put_copy_out(c_out, ar, m, len, stage_base, stage);
    else fprintf(c_out, "    return dl_error_text ? -1 : 0;\n");
    fprintf(c_out, "}\n");
    sz->code_bytes = ftell(c_out) - code_start - weights_text;
    return 0;
}
