/* arena.h — bump allocation for the compiler.
 *
 * Every compiler data structure (AST, IR, strings) lives in one arena that is
 * released at exit, so passes never free individual nodes and never leak. */
#ifndef DLNC_ARENA_H
#define DLNC_ARENA_H
#include <stddef.h>

typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
} arena;

void *arena_alloc(arena *a, size_t size);        /* zeroed, 16-byte aligned; aborts on OOM */
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Grow an arena-backed array: returns a copy with room for new_cap items. */
void *arena_grow(arena *a, void *old, size_t item_size, int old_cap, int new_cap);
void arena_free(arena *a);

#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_NEW_ARRAY(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (size_t)(n)))

/* Append to an arena vector described by (items, count, cap) fields. */
#define ARENA_PUSH(a, items, count, cap, value)                                        \
    do {                                                                               \
        if ((count) == (cap)) {                                                        \
            int new_cap__ = (cap) ? 2 * (cap) : 8;                                     \
            (items) = arena_grow((a), (items), sizeof(*(items)), (cap), new_cap__);    \
            (cap) = new_cap__;                                                         \
        }                                                                              \
        (items)[(count)++] = (value);                                                  \
    } while (0)

#endif
