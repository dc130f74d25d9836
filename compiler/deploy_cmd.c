/* deploy_cmd.c — `dlnc export`: its options, the checkpoint, the files.
 *
 * The checkpoint is read strictly (every parameter of the model, nothing
 * else, shapes checked) by the runtime's safetensors reader, and a NaN or an
 * infinity in it is refused: a damaged or foreign checkpoint is an error
 * naming the file, never an exported model with garbage in it. The three
 * files are written atomically, all after everything else worked. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file_internal.h"
#include "cli.h"
#include "deploy.h"
#include "dlnrt.h"
#include "train.h"

int deploy_option(int argc, char **argv, int *i, deploy_options *o)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--static-arena") || !strcmp(a, "--no-fold") || !strcmp(a, "--int8")) {
        *(a[2] == 's' ? &o->static_arena : a[2] == 'n' ? &o->no_fold : &o->int8) = 1;
        return 1;
    }
    if (strcmp(a, "--max-batch") && strcmp(a, "--weights-file") && strcmp(a, "--calibrate") && strcmp(a, "--seq-len"))
        return 0;
    if (!cli_has_value(argc, argv, *i)) return -1;
    const char *v = argv[++*i];
    if (!strcmp(a, "--weights-file")) {
        o->weights_bin = v;
        return 1;
    }
    const char *eq = strcmp(a, "--seq-len") ? NULL : strchr(v, '=');
    if (!strcmp(a, "--seq-len")) { /* T, or NAME=T for each of several lengths */
        if (o->n_len == IR_MAX_SYMS) {
            fprintf(stderr, "dlnc: error: --seq-len given more than %d times\n", IR_MAX_SYMS);
            return -1;
        }
        o->len_name[o->n_len] = eq ? strndup(v, (size_t)(eq - v)) : NULL;
        if (eq) v = eq + 1;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > 1000000) {
        fprintf(stderr, "dlnc: error: %s takes %sa number from 1 to 1000000, not '%s'\n", a,
                a[2] == 's' ? "NAME=VALUE or " : "", v);
        return -1;
    }
    *(a[2] == 'm' ? &o->max_batch : a[2] == 's' ? &o->len_value[o->n_len++] : &o->calibrate) = n;
    return 1;
}

/* The model's parameters from the checkpoint, by module parameter index. */
static float **load_params(ir_module *m, const char *path, diag_ctx *d)
{
    float **data = ARENA_NEW_ARRAY(m->ar, float *, m->n_params > 0 ? m->n_params : 1);
    dl_named_tensor *t = ARENA_NEW_ARRAY(m->ar, dl_named_tensor, m->n_params > 0 ? m->n_params : 1);
    int nt = 0; /* carried state is no parameter: not in a checkpoint (its rows: deploy_state.c) */
    for (int i = 0; i < m->n_params; i++) {
        const ir_param *pp = &m->params[i];
        int64_t n = ir_shape_numel(&pp->shape).k;
        data[i] = ARENA_NEW_ARRAY(m->ar, float, n > 0 ? n : 1);
        if (pp->state) continue;
        t[nt] = (dl_named_tensor){.name = pp->name, .rank = pp->shape.rank, .data = data[i]};
        for (int k = 0; k < pp->shape.rank; k++) t[nt].shape[k] = pp->shape.d[k].k;
        nt++;
    }
    if (dl_load_safetensors(path, t, nt, 0) != 0) {
        diag_fatal_noloc(d, "%s: %s", m->name, dl_last_error());
        return NULL;
    }
    for (int i = 0; i < m->n_params; i++)
        for (int64_t j = 0; j < ir_shape_numel(&m->params[i].shape).k; j++)
            if (!isfinite(data[i][j])) {
                diag_fatal_noloc(d, "%s: tensor '%s' holds a NaN or an infinity (element %lld)", path,
                                 m->params[i].name, (long long)j);
                return NULL;
            }
    return data;
}

static int write_file(const char *path, const char *text, size_t len, diag_ctx *d)
{
    dl_atomic_file a;
    if (dl_atomic_create(&a, path) != 0) {
        diag_fatal_noloc(d, "%s", dl_last_error());
        return -1;
    }
    if (fwrite(text, 1, len, a.f) != len) {
        dl_atomic_abort(&a);
        diag_fatal_noloc(d, "cannot write '%s'", path);
        return -1;
    }
    if (dl_atomic_commit(&a) != 0) {
        diag_fatal_noloc(d, "%s", dl_last_error());
        return -1;
    }
    return 0;
}

/* Whether --seq-len named symbol k (or gave the only length). */
static int given_len(const deploy_options *o, const ir_module *m, int k)
{
    for (int i = 0; i < o->n_len; i++)
        if (o->len_name[i] ? !strcmp(o->len_name[i], m->syms[k].name) : m->n_syms == 2) return 1;
    return 0;
}

/* o->len from --seq-len, else each length's bound, else (a single length) the train section's seq_len. */
static int resolve_lens(const ir_module *m, deploy_options *o)
{
    for (int k = 0; k < IR_MAX_SYMS; k++) o->len[k] = k ? 0 : 1;
    for (int i = 0; i < o->n_len; i++) {
        int k = 1;
        while (k < m->n_syms && o->len_name[i] && strcmp(o->len_name[i], m->syms[k].name)) k++;
        if (!o->len_name[i] && m->n_syms > 2) {
            fprintf(stderr, "dlnc: error: %s: the model has %d run-time lengths: give each as --seq-len NAME=VALUE "
                            "(--seq-len %s=%lld)\n", m->name, m->n_syms - 1, m->syms[1].name, (long long)o->len_value[i]);
            return -1;
        }
        if (k == m->n_syms || k == 0) {
            fprintf(stderr, "dlnc: error: %s: --seq-len %s=%lld: the model has no run-time length '%s'\n", m->name,
                    o->len_name[i], (long long)o->len_value[i], o->len_name[i]);
            return -1;
        }
        o->len[k] = o->len_value[i];
    }
    for (int k = 1; k < m->n_syms; k++) {
        const char *opt = m->n_syms > 2 ? arena_printf(m->ar, "--seq-len %s=", m->syms[k].name) : "--seq-len ";
        if (!o->len[k]) o->len[k] = m->syms[k].max > 0 ? m->syms[k].max : m->train && m->n_syms == 2 ? m->train->cfg.data.seq_len : 0;
        if (m->syms[k].max > 0 && o->len[k] > m->syms[k].max) {
            fprintf(stderr, "dlnc: error: %s: %s%lld: %s is at most %lld in this model\n", m->name, opt,
                    (long long)o->len[k], m->syms[k].name, (long long)m->syms[k].max);
            return -1;
        }
        if (o->len[k] < 1) {
            fprintf(stderr, "dlnc: error: %s: the length %s the export runs at is needed: %s%s\n", m->name,
                    m->syms[k].name, opt, m->n_syms > 2 ? "VALUE" : m->syms[k].name);
            return -1;
        }
    }
    return 0;
}

int deploy_run(ir_module *const *mods, int n_mods, const char *input, const deploy_options *opt, diag_ctx *d)
{
    deploy_options o = *opt;
    ir_module *m = NULL;
    for (int i = 0; i < n_mods && !m; i++)
        if (!o.model || !strcmp(mods[i]->name, o.model)) m = mods[i];
    if (!m) {
        diag_fatal_noloc(d, "--model %s: '%s' defines no such model", o.model, input);
        return 1;
    }
    if (!o.checkpoint) {
        fprintf(stderr, "dlnc: error: dlnc export needs the trained weights: --checkpoint FILE.safetensors\n");
        return 2;
    }
    if ((o.calibrate && !o.int8) || (o.int8 && o.weights_bin)) {
        fprintf(stderr, "dlnc: error: %s\n", o.int8 ? "--int8 keeps its weights in the C file: no --weights-file"
                                                     : "--calibrate N is for --int8 exports");
        return 2;
    }
    if (o.max_batch < 1) o.max_batch = 1;
    if (o.int8 && !o.calibrate) o.calibrate = 1000;
    if (!o.output) {
        const char *dot = strrchr(input, '.'), *slash = strrchr(input, '/');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - input) : strlen(input);
        o.output = arena_printf(m->ar, "%.*s_infer.c", (int)stem, input);
    }
    size_t n = strlen(o.output);
    const char *h_path = n > 2 && !strcmp(o.output + n - 2, ".c") ? arena_printf(m->ar, "%.*s.h", (int)(n - 2), o.output)
                                                                    : arena_printf(m->ar, "%s.h", o.output);
    if (deploy_check(m, d) != 0) return 1;
    if (m->n_syms < 2 && o.n_len) {
        fprintf(stderr, "dlnc: error: %s: --seq-len is for a model with a run-time length besides the batch; %s has "
                        "none\n", m->name, m->name);
        return 2;
    }
    if (resolve_lens(m, &o) != 0) return 2;
    for (int k = 1; k < m->n_syms; k++)
        if (deploy_check_len(m, k, o.len[k], given_len(&o, m, k), d) != 0) return 2;
    float **params = load_params(m, o.checkpoint, d);
    int folded = 0;
    if (params && !o.no_fold) params = deploy_fold(m, params, &folded, d);
    deploy_quant quant = {0};
    if (!params || (o.int8 && deploy_int8(m, params, o.calibrate, &quant, d) != 0)) return 1;

    char *c = NULL, *h = NULL, *b = NULL;
    size_t lc = 0, lh = 0, lb = 0;
    FILE *cf = open_memstream(&c, &lc), *hf = open_memstream(&h, &lh), *bf = open_memstream(&b, &lb);
    deploy_sizes sz = {0};
    int rc = deploy_emit(m, params, o.int8 ? &quant : NULL, input, &o, cf, hf, bf, &sz, d);
    fclose(cf), fclose(hf), fclose(bf);
    if (rc == 0) rc = write_file(h_path, h, lh, d);
    if (rc == 0 && o.weights_bin) rc = write_file(o.weights_bin, b, lb, d);
    if (rc == 0) rc = write_file(o.output, c, lc, d);
    free(c), free(h), free(b);
    if (rc != 0) return 1;
    printf("dlnc: exported %s to %s and %s%s%s\n", m->name, o.output, h_path, o.weights_bin ? " and " : "",
           o.weights_bin ? o.weights_bin : "");
    printf("  code    %lld bytes of C (without the weights)\n", (long long)sz.code_bytes);
    printf("  weights %lld bytes (%s%s)\n", (long long)sz.weight_bytes,
           o.int8 ? "int8 products with per-channel float scales, the rest float32" : "float32",
           o.weights_bin ? ", in the weights file" : ", static const in the C file");
    if (o.int8)
        printf("  %d weight%s quantized to int8, inputs calibrated on %lld training images\n", quant.n,
               quant.n == 1 ? "" : "s", (long long)o.calibrate);
    printf("  arena   %lld bytes at max batch %lld\n", (long long)sz.arena_bytes, (long long)o.max_batch);
    if (!o.no_fold) printf("  %d batch norm%s folded into the layer before\n", folded, folded == 1 ? "" : "s");
    return 0;
}
