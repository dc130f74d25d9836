/* strmap.c — see strmap.h. */
#include "strmap.h"

#include <string.h>

/* FNV-1a: short identifiers, no adversary to defend against. */
static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static strmap_slot *find(const strmap *m, const char *key, uint32_t h) {
    uint32_t mask = (uint32_t)m->cap - 1;
    for (uint32_t at = h & mask;; at = (at + 1) & mask) {
        strmap_slot *s = &m->slots[at];
        if (!s->key || (s->hash == h && strcmp(s->key, key) == 0)) return s;
    }
}

void *strmap_get(const strmap *m, const char *key) {
    if (m->cap == 0) return NULL;
    strmap_slot *s = find(m, key, hash_str(key));
    return s->key ? s->value : NULL;
}

static void grow(strmap *m, arena *a) {
    strmap old = *m;
    m->cap = old.cap ? 2 * old.cap : 16;
    m->slots = ARENA_NEW_ARRAY(a, strmap_slot, m->cap);
    for (int i = 0; i < old.cap; i++)
        if (old.slots[i].key) *find(m, old.slots[i].key, old.slots[i].hash) = old.slots[i];
}

void strmap_put(strmap *m, arena *a, const char *key, void *value) {
    if (4 * (m->n + 1) > 3 * m->cap) grow(m, a);
    uint32_t h = hash_str(key);
    strmap_slot *s = find(m, key, h);
    if (!s->key) {
        *s = (strmap_slot){key, h, NULL};
        m->n++;
    }
    s->value = value;
}
