/* emit_share.c — each distinct kernel is defined once per module.
 *
 * Why: the forward and eval_step graphs of a model compute the same network,
 * so they produced byte-identical kernels under two names (lenet5_fwd_k6_...
 * and lenet5_eval_k6_...), and a network of repeated blocks (ResNet-20's nine
 * residual blocks per stage) produced the same body once per block. The
 * reader of the generated C had to diff functions to learn that.
 *
 * How: the emitter writes a kernel's definition to a string first, then asks
 * this table. The key is the definition without its comments (which name one
 * node and position) and with the symbols it defines replaced by
 * placeholders, each only where it stands as a whole identifier. Two
 * definitions with the same key are the same C up to those names, so the
 * later one is dropped and its callers call the earlier one's names. The
 * table lives as long as the module's emission (emit_c makes one per module),
 * so sharing crosses the three graphs and never crosses modules. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "emit_internal.h"

typedef struct share_entry {
    uint64_t hash;
    const char *key;           /* the normalized definition, NULL = empty slot */
    const char *const *names;  /* the symbols the first definition defined */
} share_entry;

struct emit_share {
    arena *ar;
    share_entry *slots; /* open addressing, a power of two, at most half full */
    int cap, count;
};

emit_share *emit_share_new(arena *ar)
{
    emit_share *s = ARENA_NEW(ar, emit_share);
    s->ar = ar;
    s->cap = 256;
    s->slots = ARENA_NEW_ARRAY(ar, share_entry, s->cap);
    return s;
}

static int is_ident(char ch) { return isalnum((unsigned char)ch) || ch == '_'; }

/* text without the comments that start a line (they describe one node of one
 * graph), with each whole-identifier occurrence of names[j] replaced by
 * "\001j". */
static char *normalize(arena *ar, const char *text, const char *const *names, int k)
{
    size_t len = strlen(text);
    char *out = arena_alloc(ar, len + 1), *o = out;
    for (const char *p = text; *p;) {
        if ((p == text || p[-1] == '\n') && strncmp(p, "/*", 2) == 0) {
            const char *end = strstr(p, "*/");
            if (end) {
                p = end + 2;
                if (*p == '\n') p++;
                continue;
            }
        }
        int hit = -1;
        size_t hl = 0;
        if (is_ident(*p) && (p == text || !is_ident(p[-1])))
            for (int j = 0; j < k && hit < 0; j++) {
                size_t nl = strlen(names[j]);
                if (strncmp(p, names[j], nl) == 0 && !is_ident(p[nl])) hit = j, hl = nl;
            }
        if (hit < 0) {
            *o++ = *p++;
            continue;
        }
        /* "\001" plus a digit is never longer than a name: out cannot overflow */
        *o++ = '\001';
        *o++ = (char)('0' + hit);
        p += hl;
    }
    *o = '\0';
    return out;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
    return h;
}

static void grow(emit_share *s)
{
    share_entry *old = s->slots;
    int old_cap = s->cap;
    s->cap *= 2;
    s->slots = ARENA_NEW_ARRAY(s->ar, share_entry, s->cap);
    for (int i = 0; i < old_cap; i++) {
        if (!old[i].key) continue;
        int j = (int)(old[i].hash & (uint64_t)(s->cap - 1));
        while (s->slots[j].key) j = (j + 1) & (s->cap - 1);
        s->slots[j] = old[i];
    }
}

const char *const *emit_share_find(emit_share *s, const char *text, const char *const *names, int k)
{
    if (!s || k < 1 || k > 9) return NULL; /* placeholders are one digit */
    const char *key = normalize(s->ar, text, names, k);
    uint64_t h = fnv1a(key);
    int j = (int)(h & (uint64_t)(s->cap - 1));
    for (; s->slots[j].key; j = (j + 1) & (s->cap - 1))
        if (s->slots[j].hash == h && strcmp(s->slots[j].key, key) == 0) return s->slots[j].names;
    const char **kept = ARENA_NEW_ARRAY(s->ar, const char *, k);
    for (int i = 0; i < k; i++) kept[i] = arena_strdup(s->ar, names[i]);
    s->slots[j] = (share_entry){.hash = h, .key = key, .names = kept};
    if (2 * ++s->count > s->cap) grow(s);
    return NULL;
}
