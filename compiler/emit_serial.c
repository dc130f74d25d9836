/* emit_serial.c — a serial twin for kernels whose loops go parallel only above a size.
 *
 * A kernel's loops carry `#pragma omp parallel for ... if(c)`, c false for
 * small batches. But with c false GCC still calls into libgomp, which
 * allocates and frees a one-thread team and makes a futex call: a few
 * microseconds per kernel, which at batch 1 is most of a small kernel's time
 * (an LSTM step runs a dozen kernels; lstm_rows' batch-1 inference spent
 * ~20% there). So when every directive of a kernel has a run-time if() over
 * the batch and symbol sizes only, its body is written twice:
 *
 *     if (c1 || c2) { the body, directives and all }
 *     else { the same body without directives }
 *
 * The else branch runs the same loops in the same order on the calling
 * thread, which is what the directives did with their conditions false: the
 * same bits. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"

static int is_directive(const char *line)
{
    while (*line == ' ') line++;
    return !strncmp(line, "#pragma omp parallel", 20);
}

/* An if() condition the twin's test can evaluate at the top of the kernel:
 * only the batch `n`, symbol sizes `symK`, DL_ constants, numbers and
 * operators (no variable declared inside the body). */
static int cond_is_portable(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        if (isalpha((unsigned char)s[i]) || s[i] == '_') {
            size_t j = i;
            while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_')) j++;
            int ok = (j - i == 1 && s[i] == 'n') || !strncmp(s + i, "DL_", 3);
            if (!ok && j - i > 3 && !strncmp(s + i, "sym", 3)) {
                ok = 1;
                for (size_t k = i + 3; k < j; k++) ok &= isdigit((unsigned char)s[k]) != 0;
            }
            if (!ok) return 0;
            i = j;
        } else if (isdigit((unsigned char)s[i])) {
            while (i < len && isalnum((unsigned char)s[i])) i++;
        } else {
            i++;
        }
    }
    return 1;
}

/* The text between "if(" and its closing parenthesis on a directive line, or
 * NULL (no if(), or one the twin cannot test). */
static const char *directive_cond(emit_ctx *c, const char *line, size_t len)
{
    const char *p = NULL;
    for (size_t i = 0; i + 3 <= len; i++)
        if (!strncmp(line + i, " if(", 4)) p = line + i + 4;
    if (!p) return NULL;
    int depth = 1;
    const char *q = p;
    for (; q < line + len && depth > 0; q++) depth += *q == '(' ? 1 : *q == ')' ? -1 : 0;
    if (depth != 0) return NULL;
    size_t clen = (size_t)(q - 1 - p);
    return cond_is_portable(p, clen) ? arena_strndup(c->ar, p, clen) : NULL;
}

const char *emit_serial_twin(emit_ctx *c, const char *body)
{
    if (c->serial || strstr(body, "goto ")) return body; /* a label may appear once per function */
    char *test = NULL, *twin = NULL, *par = NULL;
    size_t ltest = 0, ltwin = 0, lpar = 0;
    FILE *t = open_memstream(&test, &ltest), *s = open_memstream(&twin, &ltwin), *p = open_memstream(&par, &lpar);
    if (!t || !s || !p) { /* out of memory: the body as it is, still correct */
        if (t) fclose(t);
        if (s) fclose(s);
        if (p) fclose(p);
        free(test), free(twin), free(par);
        return body;
    }
    int directives = 0, testable = 1;
    for (const char *line = body; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (len > 1) fputs("    ", p);
        fwrite(line, 1, len, p);
        if (is_directive(line)) {
            const char *cond = directive_cond(c, line, len);
            if (!cond) testable = 0;
            else fprintf(t, "%s(%s)", directives++ ? " || " : "", cond);
        } else {
            if (len > 1) fputs("    ", s);
            fwrite(line, 1, len, s);
        }
        line += len;
    }
    fclose(t), fclose(s), fclose(p);
    const char *out = body;
    if (directives > 0 && testable)
        out = arena_printf(c->ar, "    if (%s) {\n%s    } else { /* below every threshold: no OpenMP region */\n%s    }\n", test,
                           par, twin);
    free(test), free(twin), free(par);
    return out;
}
