/* test_init_values.c — initializers that give the values themselves
 * (values([...]), bilinear_upsample(), from_file(path, name)): a compiled
 * model's parameters after init hold exactly those numbers, whatever the
 * seed, and training starts from them.
 *
 * The bilinear kernel is checked against FCN's upsample_filt written out
 * here as in the FCN code (surgery.py), not against the compiler's formula. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emitted.h"

/* FCN's upsample_filt(size)[i][j], from its surgery.py. */
static double fcn_filt(int size, int i, int j) {
    int factor = (size + 1) / 2;
    double center = size % 2 == 1 ? factor - 1 : factor - 0.5;
    return (1 - fabs(i - center) / factor) * (1 - fabs(j - center) / factor);
}

static const float *param(emitted *em, void *m, const char *name) {
    int i = emitted_param_index(em, name);
    CU_ASSERT_FATAL(i >= 0);
    return em->api->param_data(m, i);
}

static void test_given_values(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/dlnc_init_values_%d.safetensors", (int)getpid());
    float table[2 * 3] = {0.5f, -1.5f, 2.0f, 1e-7f, 3.25f, -0.0f};
    dl_named_tensor t = {.name = "enc.table", .rank = 2, .shape = {2, 3}, .data = table};
    CU_ASSERT_EQUAL_FATAL(dl_save_safetensors(path, &t, 1), 0);
    char src[1024];
    snprintf(src, sizeof src,
             "model m(x: f32[N, 3]) -> f32[N, 3] {\n"
             "    param a: f32[2, 3] = values([[1, 2, 3], [4.5, -5, 1e-3]])\n"
             "    param b: f32[4] = values([0.25, 0.5, 0.25, 0])\n"
             "    param k: f32[3, 3, 4, 4] = bilinear_upsample()\n"
             "    param g: f32[2, 1, 3, 5] = bilinear_upsample()\n"
             "    param t: f32[2, 3] = from_file(\"%s\", \"enc.table\")\n"
             "    return x * sum(a) + sum(b) + sum(k) + sum(g) + sum(t)\n"
             "}\n",
             path);
    emitted em;
    CU_ASSERT_EQUAL_FATAL(emitted_build_source(src, &em), 0);
    unlink(path); /* read at compile time: the model no longer needs the file */
    void *m = em.api->create(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (uint64_t seed = 1; seed <= 2; seed++) {
        em.api->init(m, seed);
        const double a[] = {1, 2, 3, 4.5, -5, 1e-3}, b[] = {0.25, 0.5, 0.25, 0};
        double t_want[6];
        for (int i = 0; i < 6; i++) t_want[i] = table[i];
        CU_ASSERT(emitted_close(param(&em, m, "a"), a, 6, 1e-7, "values, nested"));
        CU_ASSERT(emitted_close(param(&em, m, "b"), b, 4, 0, "values, flat"));
        CU_ASSERT(emitted_close(param(&em, m, "t"), t_want, 6, 0, "from_file"));
        double k[3 * 3 * 16], g[2 * 15];
        for (int c = 0; c < 3; c++)
            for (int o = 0; o < 3; o++)
                for (int i = 0; i < 16; i++) k[(c * 3 + o) * 16 + i] = c == o ? fcn_filt(4, i / 4, i % 4) : 0;
        for (int c = 0; c < 2; c++) /* [C, 1, 3, 5]: every channel, per-axis triangles */
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 5; j++)
                    g[c * 15 + i * 5 + j] = (1 - fabs(i - 1.0) / 2) * (1 - fabs(j - 2.0) / 3);
        CU_ASSERT(emitted_close(param(&em, m, "k"), k, 3 * 3 * 16, 1e-7, "bilinear_upsample [C, C, 4, 4]"));
        CU_ASSERT(emitted_close(param(&em, m, "g"), g, 2 * 15, 1e-7, "bilinear_upsample [C, 1, 3, 5]"));
    }
    em.api->destroy(m);
    emitted_unload(&em);
}

void suite_init_values(void) {
    CU_pSuite s = CU_add_suite("init_values", NULL, NULL);
    CU_add_test(s, "values, bilinear_upsample, from_file in a compiled model", test_given_values);
}
