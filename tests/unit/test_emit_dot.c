/* test_emit_dot.c — `dlnc --emit=dot`: the structure of the graph for
 * models with a residual connection written in the model body, a block
 * returning two tensors used in two places, and two models in one file:
 * every layer is one node labelled with its name, block, shape and
 * parameters; an op outside any call is a node of its own; edges follow
 * the data, once each; every edge's ends are declared; braces balance.
 * (The e2e layer also runs Graphviz's `dot` on every sample's output.) */
#include "emit_dot.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "parse.h"
#include "stdlib_embed.h"

/* The dot text of src, or NULL after errors (printed). */
static char *dot_of(const char *src)
{
    arena ar = {0};
    diag_ctx d;
    diag_init(&d, stderr);
    ast_program **lib = ARENA_NEW_ARRAY(&ar, ast_program *, stdlib_n_files);
    for (int i = 0; i < stdlib_n_files; i++) lib[i] = parse_source(&ar, &d, stdlib_files[i].name, stdlib_files[i].text);
    ast_program *prog = parse_source(&ar, &d, "t.dln", src);
    elab_output out = {0};
    char *text = NULL;
    size_t len = 0;
    if (!d.n_errors && elab_program(&ar, &d, prog, lib, stdlib_n_files, &out) == 0) {
        FILE *f = open_memstream(&text, &len);
        emit_dot(f, out.mods, out.summaries, out.n_mods, "t.dln");
        fclose(f);
    }
    diag_free(&d);
    arena_free(&ar);
    return text;
}

/* The id of the node whose label starts with `label` ("" if none). */
static const char *node_id(const char *dot, const char *label, char *id, size_t cap)
{
    char key[128];
    snprintf(key, sizeof key, "label=\"%s", label);
    const char *hit = strstr(dot, key);
    id[0] = '\0';
    if (!hit) return id;
    const char *line = hit;
    while (line > dot && line[-1] != '\n') line--;
    line += strspn(line, " ");
    snprintf(id, cap, "%.*s", (int)strcspn(line, " "), line);
    return id;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* "A -> B;" exactly once, for the nodes labelled a and b. */
static int has_edge(const char *dot, const char *a, const char *b)
{
    char ia[64], ib[64], edge[160];
    node_id(dot, a, ia, sizeof ia);
    node_id(dot, b, ib, sizeof ib);
    if (!ia[0] || !ib[0]) return 0;
    snprintf(edge, sizeof edge, " %s -> %s;\n", ia, ib);
    return count(dot, edge) == 1;
}

/* Every edge's ends are declared nodes; braces balance. */
static int well_formed(const char *dot)
{
    int depth = 0;
    for (const char *p = dot; *p; p++) depth += (*p == '{') - (*p == '}');
    if (depth != 0 || strncmp(dot, "// dlnc --emit=dot", 18) || !strstr(dot, "\ndigraph \"t.dln\" {\n")) return 0;
    for (const char *e = strstr(dot, " -> "); e; e = strstr(e + 1, " -> ")) {
        const char *from = e;
        while (from[-1] != ' ') from--;
        char decl[80];
        snprintf(decl, sizeof decl, "    %.*s [", (int)(e - from), from);
        if (!strstr(dot, decl)) return 0;
        snprintf(decl, sizeof decl, "    %.*s [", (int)strcspn(e + 4, ";"), e + 4);
        if (!strstr(dot, decl)) return 0;
    }
    return 1;
}

static void test_residual(void)
{
    char *dot = dot_of("model r(x: f32[N, 8]) -> f32[N, 4] {\n"
                       "    h = dense(x, 8) |> relu\n"
                       "    h = h + x\n"
                       "    return dense(h, 4)\n"
                       "}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dot);
    CU_ASSERT(well_formed(dot));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "subgraph \"cluster_r\" {\n    label=\"r\";\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "label=\"x\\nf32[N, 8]\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "label=\"dense0 (dense)\\nf32[N, 8]\\n72 params\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "label=\"relu\\nf32[N, 8]\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "label=\"add\\nf32[N, 8]\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "label=\"dense1 (dense)\\nf32[N, 4]\\n36 params\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "label=\"output\\nf32[N, 4]\""));
    CU_ASSERT(has_edge(dot, "x", "dense0"));
    CU_ASSERT(has_edge(dot, "dense0", "relu"));
    CU_ASSERT(has_edge(dot, "relu", "add"));
    CU_ASSERT(has_edge(dot, "x", "add"));          /* the skip connection */
    CU_ASSERT(has_edge(dot, "add", "dense1"));
    CU_ASSERT(has_edge(dot, "dense1", "output"));
    CU_ASSERT_EQUAL(count(dot, " -> "), 6);
    /* declared nodes: x, dense0, relu, add, dense1, output */
    CU_ASSERT_EQUAL(count(dot, "\n    m0_") - count(dot, " -> "), 6);
    free(dot);
}

static void test_two_results_two_models(void)
{
    char *dot = dot_of("block split(x: f32[N, 6]) -> (f32[N, 3], f32[N, 3]) {\n"
                       "    return dense(x, 3), dense(x, 3)\n"
                       "}\n"
                       "model a(x: f32[N, 6]) -> f32[N, 3] {\n"
                       "    p, q = split(x)\n"
                       "    return dense(p, 3) * q\n"
                       "}\n"
                       "model b(x: f32[N, 2]) -> f32[N, 2] {\n"
                       "    return x |> sigmoid\n"
                       "}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dot);
    CU_ASSERT(well_formed(dot));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "label=\"split0 (split)\\nf32[N, 3]\\n42 params\""));
    CU_ASSERT(has_edge(dot, "split0", "dense0"));
    CU_ASSERT(has_edge(dot, "split0", "mul"));      /* both results, one edge each way they are used */
    CU_ASSERT(has_edge(dot, "dense0", "mul"));
    CU_ASSERT(has_edge(dot, "mul", "output"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "subgraph \"cluster_b\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "m1_in0 -> m1_layer0;\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "m1_layer0 -> m1_out0;\n"));
    free(dot);
}

void suite_emit_dot(void)
{
    CU_pSuite s = CU_add_suite("emit_dot", NULL, NULL);
    CU_add_test(s, "residual add outside the calls", test_residual);
    CU_add_test(s, "a block with two results; two models", test_two_results_two_models);
}
