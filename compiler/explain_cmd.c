/* explain_cmd.c — `dlnc explain`: option parsing, the input-gradient model
 * and the call into the runtime's attacks.
 *
 * The input gradient is written as .dln, not as a new entry point of the
 * emitter: the classifier's declaration is copied with a second input
 * `label: i32[N]` and its return `return e` made
 *     __logits = e
 *     return __logits, grad(cross_entropy(__logits, label), image)
 * so elaboration, autodiff, the passes and the emitter treat it as any model
 * using grad(y, x), and since the body is the same its parameters have the
 * same names and it loads the classifier's checkpoint as is. */
#include "explain_cmd.h"

#include "cli.h"
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void explain_cmd_defaults(dl_explain_options *o) {
    o->eps[0] = 0.1;
    o->n_eps = 1;
    o->steps = 10;
    o->patch = 5;
    o->grid.count = 8;
    o->grid.hi = 1;
}

/* "0,0.05,0.1": 1..DL_ATTACK_MAX_EPS numbers in [0, 1]; -1 when not. */
static int parse_eps_list(const char *s, dl_explain_options *o) {
    int n = 0;
    for (const char *p = s;; p++) {
        char *end;
        errno = 0;
        double e = strtod(p, &end);
        if (errno || end == p || !(e >= 0 && e <= 1) || n == DL_ATTACK_MAX_EPS || (*end && *end != ',')) return -1;
        o->eps[n++] = e;
        if (!*end) break;
        p = end;
    }
    o->n_eps = n;
    return 0;
}

int explain_cmd_option(int argc, char **argv, int *i, dl_explain_options *o) {
    const char *a = argv[*i];
    if (!strcmp(a, "--random-start")) {
        o->random_start = 1;
        return 1;
    }
    if (strcmp(a, "--attack") && strcmp(a, "--eps") && strcmp(a, "--steps") && strcmp(a, "--alpha") &&
        strcmp(a, "--curve") && strcmp(a, "--map") && strcmp(a, "--patch") && strcmp(a, "--layer"))
        return 0;
    if (!cli_has_value(argc, argv, *i)) return -1;
    const char *v = argv[++*i];
    char *end;
    errno = 0;
    if (!strcmp(a, "--attack")) {
        if (strcmp(v, "fgsm") && strcmp(v, "pgd")) {
            fprintf(stderr, "dlnc: error: --attack takes fgsm or pgd, not '%s'\n", v);
            return -1;
        }
        o->kind = v[0] == 'f' ? DL_ATTACK_FGSM : DL_ATTACK_PGD;
    } else if (!strcmp(a, "--map")) {
        if (strcmp(v, "saliency") && strcmp(v, "occlusion") && strcmp(v, "gradcam")) {
            fprintf(stderr, "dlnc: error: --map takes saliency, occlusion or gradcam, not '%s'\n", v);
            return -1;
        }
        o->map = v[0] == 's' ? DL_MAP_SALIENCY : v[0] == 'o' ? DL_MAP_OCCLUSION : DL_MAP_GRADCAM;
    } else if (!strcmp(a, "--layer")) {
        o->layer = v;
    } else if (!strcmp(a, "--curve")) {
        o->curve = v;
    } else if (!strcmp(a, "--eps")) {
        if (parse_eps_list(v, o)) {
            fprintf(stderr, "dlnc: error: --eps takes 1 to %d numbers in [0, 1] separated by commas (0,0.05,0.1), "
                    "not '%s'\n", DL_ATTACK_MAX_EPS, v);
            return -1;
        }
    } else if (!strcmp(a, "--steps") || !strcmp(a, "--patch")) {
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < 1 || n > 10000) {
            fprintf(stderr, "dlnc: error: %s takes a number from 1 to 10000, not '%s'\n", a, v);
            return -1;
        }
        if (a[2] == 's') o->steps = (int)n;
        else o->patch = (int)n;
    } else {
        double al = strtod(v, &end);
        if (errno || end == v || *end || !(al > 0 && al <= 1)) {
            fprintf(stderr, "dlnc: error: --alpha takes a step size in (0, 1], not '%s'\n", v);
            return -1;
        }
        o->alpha = al;
    }
    return 1;
}

static ast_decl *find_model(ast_program *prog, const char *name) {
    for (int i = 0; i < prog->n_decls; i++)
        if (prog->decls[i]->kind == AST_DECL_MODEL && !strcmp(prog->decls[i]->name, name)) return prog->decls[i];
    return NULL;
}

/* The model a single-model train section trains (a train decl's name), or NULL. */
static const char *trained_model(const ast_program *prog) {
    for (int i = 0; i < prog->n_decls; i++) {
        const ast_decl *t = prog->decls[i];
        int several = 0;
        for (int k = 0; t->kind == AST_DECL_TRAIN && k < t->n_settings; k++) several |= !strcmp(t->settings[k].key, "models");
        if (t->kind == AST_DECL_TRAIN && !several) return t->name;
    }
    return NULL;
}

static ast_expr *call2(arena *ar, const char *f, ast_expr *a, ast_expr *b, src_loc loc) {
    ast_arg *args = ARENA_NEW_ARRAY(ar, ast_arg, 2);
    memset(args, 0, 2 * sizeof *args);
    args[0].value = a, args[1].value = b;
    return ast_call(ar, f, args, 2, loc);
}

/* Is `name` assigned by a top-level statement of the body? */
static int assigns(const ast_block_body *b, const char *name) {
    for (int i = 0; i < b->n_stmts; i++)
        for (int t = 0; b->stmts[i]->kind == AST_ST_ASSIGN && t < b->stmts[i]->n_targets; t++)
            if (!strcmp(b->stmts[i]->targets[t], name)) return 1;
    return 0;
}

static ast_type *named_type(arena *ar, const ast_type *like, const char *name, src_loc at) {
    ast_type *t = ARENA_NEW(ar, ast_type);
    if (like) *t = *like;
    else *t = *ast_type_tensor(ar, AST_DT_F32, 0, NULL, 0, at);   /* a bare f32: the shape inferred */
    t->name = name;
    return t;
}

const char *explain_input_grad_model(arena *ar, ast_program *prog, const char *name, const char *input, int logit,
                                     const char *layer, diag_ctx *d) {
    if (!name) name = trained_model(prog);
    const ast_decl *m = name ? find_model(prog, name) : NULL;
    if (!m) {
        if (name) diag_fatal_noloc(d, "--model %s: '%s' defines no such model", name, input);
        else diag_fatal_noloc(d, "%s: dlnc explain attacks the model of a single-model train section, and there is "
                              "none; name one with --model NAME", input);
        return NULL;
    }
    const ast_stmt *ret = m->body.n_stmts ? m->body.stmts[m->body.n_stmts - 1] : NULL;
    const ast_type *in = m->n_formals == 1 ? m->formals[0].type : NULL, *out = m->n_ret_types == 1 ? m->ret_types[0] : NULL;
    if (!in || in->dtype != AST_DT_F32 || !in->has_shape || in->rank != 4 || !out || out->dtype != AST_DT_F32 ||
        !out->has_shape || out->rank != 2 || !ret || ret->kind != AST_ST_RETURN || ret->n_values != 1) {
        diag_error(d, m->name_loc, "dlnc explain needs a classifier: model '%s' must take one image f32[N, C, H, W] "
                   "and end with `return logits` (one output, its type written: -> f32[N, K])", m->name);
        return NULL;
    }
    if (layer && !assigns(&m->body, layer)) {
        diag_error(d, m->name_loc, "--layer %s: model '%s' assigns no value '%s' outside an if, repeat or scan",
                   layer, m->name, layer);
        return NULL;
    }
    const char *ig_name = arena_printf(ar, layer ? "%s_cam" : logit ? "%s_logit_grad" : "%s_input_grad", m->name);
    if (find_model(prog, ig_name)) {
        diag_error(d, m->name_loc, "dlnc explain adds a model '%s', which '%s' already defines", ig_name, input);
        return NULL;
    }
    const src_loc at = ret->loc;
    ast_decl *ig = ARENA_NEW(ar, ast_decl);
    *ig = *m;
    ig->name = ig_name;
    ig->formals = ARENA_NEW_ARRAY(ar, ast_formal, 2);
    ig->formals[0] = m->formals[0];
    ast_expr **N = ARENA_NEW_ARRAY(ar, ast_expr *, 1);
    N[0] = ast_name(ar, "N", at);
    ig->formals[1] = (ast_formal){.name = "label", .type = ast_type_tensor(ar, AST_DT_I32, 1, N, 1, at), .loc = at};
    ig->n_formals = 2;
    ig->ret_types = ARENA_NEW_ARRAY(ar, ast_type *, 3);
    ig->ret_types[0] = named_type(ar, m->ret_types[0], "logits", at);
    ig->ret_types[1] = named_type(ar, layer ? NULL : m->formals[0].type, layer ? "activation" : "input_grad", at);
    ig->ret_types[2] = named_type(ar, NULL, "activation_grad", at);
    ig->n_ret_types = layer ? 3 : 2;
    ig->body.stmts = ARENA_NEW_ARRAY(ar, ast_stmt *, m->body.n_stmts + 1);
    memcpy(ig->body.stmts, m->body.stmts, (size_t)(m->body.n_stmts - 1) * sizeof(ast_stmt *));
    const char **t = ARENA_NEW_ARRAY(ar, const char *, 1);
    src_loc *tl = ARENA_NEW_ARRAY(ar, src_loc, 1);
    t[0] = "__logits", tl[0] = at;
    ig->body.stmts[m->body.n_stmts - 1] = ast_assign(ar, t, tl, 1, ret->values[0], at);
    ast_expr **rv = ARENA_NEW_ARRAY(ar, ast_expr *, 3);
    rv[0] = ast_name(ar, "__logits", at);
    ast_expr *loss = call2(ar, logit ? "pick" : "cross_entropy", ast_name(ar, "__logits", at), ast_name(ar, "label", at), at);
    if (logit) {   /* sum(pick(logits, label)): each image's own logit, whose gradients do not mix */
        ast_arg *one = ARENA_NEW(ar, ast_arg);
        *one = (ast_arg){.value = loss};
        loss = ast_call(ar, "sum", one, 1, at);
    }
    if (layer) {   /* Grad-CAM: the activation and the gradient of the label's logit there */
        rv[1] = ast_name(ar, layer, at);
        rv[2] = call2(ar, "grad", loss, ast_name(ar, layer, at), at);
    } else {
        rv[1] = call2(ar, "grad", loss, ast_name(ar, m->formals[0].name, at), at);
    }
    ig->body.stmts[m->body.n_stmts] = ast_return(ar, rv, ig->n_ret_types, at);
    ig->body.n_stmts = m->body.n_stmts + 1;
    ast_decl **decls = ARENA_NEW_ARRAY(ar, ast_decl *, prog->n_decls + 1);
    memcpy(decls, prog->decls, (size_t)prog->n_decls * sizeof *decls);
    decls[prog->n_decls++] = ig;
    prog->decls = decls;
    return ig_name;
}

void explain_cmd_modules(const elab_output *eo, const char *ig, const char *section, ir_module *extra[2]) {
    extra[0] = extra[1] = NULL;
    for (int m = 0; m < eo->n_mods; m++) {
        const train_config *tc = eo->mods[m]->train;
        if (!strcmp(eo->mods[m]->name, ig)) extra[0] = eo->mods[m];
        if (section && !extra[1] && tc && tc->section && !strcmp(tc->section, section)) extra[1] = eo->mods[m];
    }
    if (!extra[1]) extra[1] = extra[0];
}

int explain_cmd_run(const dl_model_api *data, const dl_model_api *ig, const dl_explain_options *o, int verbose) {
    if (!o->grid.checkpoint) {
        fprintf(stderr, "dlnc: error: dlnc explain needs the trained model: --checkpoint FILE (what `dlnc run "
                "--checkpoint FILE` saved)\n");
        return 2;
    }
    if (!o->kind == !o->map) {
        fprintf(stderr, "dlnc: error: dlnc explain needs %s: --attack fgsm|pgd or --map saliency|occlusion\n",
                o->kind ? "one of an attack and a map" : "an attack or a map");
        return 2;
    }
    if (o->map) {
        if ((o->map == DL_MAP_GRADCAM) != (o->layer != NULL)) {
            fprintf(stderr, "dlnc: error: %s\n", o->layer ? "--layer names the activation of --map gradcam"
                                                           : "--map gradcam needs --layer NAME, a value the model assigns");
            return 2;
        }
        if (!o->grid.path) {
            fprintf(stderr, "dlnc: error: --map draws the maps: give the picture's path with --grid OUT.png\n");
            return 2;
        }
        if (dl_explain_map(data, ig, o) != 0) {
            fprintf(stderr, "dlnc: error: %s\n", dl_last_error());
            return 1;
        }
        if (verbose) fprintf(stderr, "dlnc: wrote %s\n", o->grid.path);
        return 0;
    }
    if (o->curve && o->n_eps < 2) {
        fprintf(stderr, "dlnc: error: --curve draws accuracy against several epsilons: give --eps a list "
                "(--eps 0,0.05,0.1)\n");
        return 2;
    }
    if (dl_explain_attack(data, ig, o) != 0) {
        fprintf(stderr, "dlnc: error: %s\n", dl_last_error());
        return 1;
    }
    if (verbose && o->grid.path) fprintf(stderr, "dlnc: wrote %s\n", o->grid.path);
    if (verbose && o->curve) fprintf(stderr, "dlnc: wrote %s\n", o->curve);
    return 0;
}
