/* ir_attrs.c — what ir_attrs.def generates besides the structs: the IR
 * dump's attribute text, and the comparison and hash the CSE pass merges
 * nodes by.
 *
 * The dump shows each field of the op's group in the order the description
 * lists them, " [field=value, flag, ...]", leaving out the fields whose slot
 * the node does not set (slot >= ni or nf) and those the description hides.
 * Comparison and hash read the set slots and the conv geometry, so every
 * field of every group takes part without being named here. */
#include <stddef.h>
#include <string.h>

#include "ir.h"
#include "ir_attrs.h"
#include "ops_conv.h"

typedef enum attr_print {
    PK_INT, PK_NONZERO, PK_FLAG, PK_AXES, PK_LIST, PK_WORD, PK_BITS, PK_REAL, PK_G, PK_EXACT, PK_WHOLE, PK_LEAD, PK_HIDE
} attr_print;

/* The print column of ir_attrs.def as (kind, words). */
#define PR_INT PK_INT, NULL
#define PR_NONZERO PK_NONZERO, NULL
#define PR_FLAG PK_FLAG, NULL
#define PR_AXES PK_AXES, NULL
#define PR_LIST PK_LIST, NULL
#define PR_WORD(words) PK_WORD, words
#define PR_BITS(words) PK_BITS, words
#define PR_REAL PK_REAL, NULL
#define PR_G PK_G, NULL
#define PR_EXACT PK_EXACT, NULL
#define PR_WHOLE PK_WHOLE, NULL
#define PR_LEAD PK_LEAD, NULL
#define PR_HIDE PK_HIDE, NULL

typedef struct attr_field {
    const char *name;
    int real;    /* a double (f[]), else int64_t slots (i[]) */
    int count;   /* slots it spans (IS arrays) */
    attr_print kind;
    const char *words;
} attr_field;

typedef struct attr_group {
    const char *name;
    const attr_field *fields;
    int n;
} attr_group;

/* The slots follow from the order of the fields, as in the generated
 * structs: integers fill i[] from 0, doubles f[] from 0. */
#define FIELD_INT_(field, print, doc) {#field, 0, 1, print},
#define FIELD_INTS_(field, n, print, doc) {#field, 0, n, print},
#define FIELD_REAL_(field, print, doc) {#field, 1, 1, print},
#define GROUP_(g)                                                                                                    \
    static const attr_field fields_##g[] = {ATTRS_##g(FIELD_INT_, FIELD_INTS_, FIELD_REAL_)};                        \
    static const attr_group group_##g = {#g, fields_##g, (int)(sizeof fields_##g / sizeof *fields_##g)};
IR_ATTRS_GROUPS(GROUP_, GROUP_)
static const attr_group group_none = {NULL, NULL, 0};
static const attr_group group_conv = {"conv", NULL, 0}; /* conv_geom, printed by conv_geom_str */

/* Each op's group: the attrs column of ops.def. */
static const attr_group *const group_of[OP__COUNT] = {
#define OP(name, arity, kind, family, attrs, c_expr, ref) [OP_##name] = &group_##attrs,
#include "ops.def"
#undef OP
};

const char *ir_attrs_group(ir_opcode op) { return (unsigned)op < OP__COUNT ? group_of[op]->name : NULL; }

/* The word at index k of a space-separated list ("?" past its end). */
static void put_word(FILE *out, const char *words, int64_t k) {
    const char *w = words;
    for (; k > 0 && w; k--) w = (w = strchr(w, ' ')) ? w + 1 : NULL;
    if (!w || k < 0) {
        fputc('?', out);
        return;
    }
    fprintf(out, "%.*s", (int)strcspn(w, " "), w);
}

static void print_field(FILE *out, const attr_field *fd, const int64_t *v, double r, int count, const char **sep) {
    if (fd->kind == PK_HIDE || fd->kind == PK_LEAD) return;
    if ((fd->kind == PK_NONZERO || fd->kind == PK_FLAG || fd->kind == PK_BITS) && !fd->real && *v == 0) return;
    fprintf(out, "%s", *sep);
    *sep = ", ";
    switch (fd->kind) {
    case PK_FLAG: fprintf(out, "%s", fd->name); return;
    case PK_WORD: put_word(out, fd->words, *v); return;
    case PK_BITS:
        for (int b = 0; b < 63; b++)
            if (*v >> b & 1) {
                if (*v & ((1ll << b) - 1)) fputc(' ', out);
                put_word(out, fd->words, b);
            }
        return;
    default: break;
    }
    fprintf(out, "%s=", fd->name);
    switch (fd->kind) {
    case PK_AXES:
        for (int b = 0, first = 1; b < 64; b++)
            if ((uint64_t)*v >> b & 1) fprintf(out, "%s%d", first ? "" : ",", b), first = 0;
        break;
    case PK_LIST:
        for (int k = 0; k < count; k++) fprintf(out, "%s%lld", k ? "," : "", (long long)v[k]);
        break;
    case PK_REAL: fprintf(out, "%.9g", r); break;
    case PK_G: fprintf(out, "%g", r); break;
    case PK_EXACT: fprintf(out, "%.17g", r); break;
    case PK_WHOLE: fprintf(out, "%.0f", r); break;
    default: fprintf(out, "%lld", (long long)*v); break;
    }
}

void ir_attrs_print(FILE *out, const ir_node *n) {
    const attr_group *g = group_of[n->op];
    if (g == &group_conv) {
        char buf[200];
        fprintf(out, "%s", conv_geom_str(buf, sizeof buf, n)); /* pairs and per-op names: its own printer */
        return;
    }
    const ir_attrs *a = &n->a;
    const char *sep = " [";
    int ni = 0, nf = 0; /* the next field's first slot */
    for (int k = 0; k < g->n; k++) {
        const attr_field *fd = &g->fields[k];
        if (fd->real) {
            if (nf < a->nf && fd->kind == PK_LEAD) fprintf(out, " %.9g", a->f[nf]);
            if (nf < a->nf) print_field(out, fd, NULL, a->f[nf], 1, &sep);
            nf++;
        } else {
            int set = a->ni - ni < fd->count ? a->ni - ni : fd->count; /* an array: its set entries */
            if (set > 0) print_field(out, fd, &a->i[ni], 0, set, &sep);
            ni += fd->count;
        }
    }
    if (sep[0] == ',') fprintf(out, "]");
}

int ir_attrs_same(const ir_attrs *a, const ir_attrs *b) {
    return a->ni == b->ni && a->nf == b->nf && memcmp(a->i, b->i, sizeof(int64_t) * (size_t)a->ni) == 0 &&
           memcmp(a->f, b->f, sizeof(double) * (size_t)a->nf) == 0 &&
           memcmp(&a->conv, &b->conv, sizeof a->conv) == 0; /* no padding: int64_t fields only */
}

uint64_t ir_attrs_hash(const ir_attrs *a, uint64_t h, uint64_t (*mix)(uint64_t h, uint64_t v)) {
    for (int k = 0; k < a->ni; k++) h = mix(h, (uint64_t)a->i[k]);
    for (int k = 0; k < a->nf; k++) {
        uint64_t bits;
        memcpy(&bits, &a->f[k], sizeof bits);
        h = mix(h, bits);
    }
    const int64_t *geom = &a->conv.sh;
    for (size_t k = 0; k < sizeof a->conv / sizeof *geom; k++) h = mix(h, (uint64_t)geom[k]);
    return h;
}
