/* deploy_test.h — what the `dlnc export` equivalence drivers (deploy_main.c,
 * deploy_ids_main.c) share: the model's functions and the export's macros by
 * the names given at build time (-DM=<model> -DUM=<MODEL>), and argmax. */
#ifndef DEPLOY_TEST_H
#define DEPLOY_TEST_H

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(s) CAT(M, s)
#define K(s) CAT(UM, s)

static inline int argmax(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

#endif
