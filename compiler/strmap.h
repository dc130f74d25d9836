/* strmap.h — a map from strings to pointers, in the compiler's arena.
 *
 * Why: the compiler looks names up as often as it creates them (a parameter
 * name per declaration in each of three graphs, a variable per use, a block
 * per call), and a list walked per lookup makes compiling a model with L
 * layers cost L^2. Open addressing with linear probing; the table doubles
 * at 3/4 full (the old one stays in the arena, which frees everything at
 * exit). Keys are not copied: they must live as long as the map, as arena
 * and AST strings do. A zero-initialized strmap is an empty map. */
#ifndef DLNC_STRMAP_H
#define DLNC_STRMAP_H
#include <stdint.h>

#include "arena.h"

typedef struct strmap_slot {
    const char *key;    /* NULL: empty */
    uint32_t hash;
    void *value;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    int cap, n;         /* cap is 0 or a power of two */
} strmap;

/* The value stored under key, or NULL. */
void *strmap_get(const strmap *m, const char *key);
/* Stores value (not NULL) under key, replacing any earlier one. */
void strmap_put(strmap *m, arena *a, const char *key, void *value);

#endif
