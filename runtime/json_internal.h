/* json_internal.h — a small strict JSON parser for libdlnrt's own use
 * (safetensors headers). Not exported: names are dl_json_*, but the header
 * is not installed. */
#ifndef DLNRT_JSON_INTERNAL_H
#define DLNRT_JSON_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

typedef enum dl_json_kind {
    DL_JSON_NULL, DL_JSON_BOOL, DL_JSON_NUMBER, DL_JSON_STRING, DL_JSON_ARRAY, DL_JSON_OBJECT,
} dl_json_kind;

typedef struct dl_json {
    dl_json_kind kind;
    int boolean;                          /* BOOL */
    double number;                        /* NUMBER */
    int is_integer;                       /* NUMBER written as an integer that fits int64 */
    int64_t integer;                      /* NUMBER, exact when is_integer */
    char *string;                         /* STRING, NUL-terminated (\u0000 is rejected) */
    int64_t count;                        /* ARRAY/OBJECT: number of elements */
    struct dl_json *items;                /* ARRAY/OBJECT: the values */
    char **keys;                          /* OBJECT: the keys, in document order like items */
    int64_t *sorted;                      /* OBJECT: indices into items/keys in key (strcmp) order */
} dl_json;

/* Parse exactly one JSON value spanning text[0..len) (surrounding whitespace
 * allowed). Returns 0, or -1 with dl_last_error() = "at byte N: what". Nesting
 * is limited to 64 levels; duplicate object keys are rejected. On failure
 * *out needs no freeing. */
int dl_json_parse(const char *text, size_t len, dl_json *out);
void dl_json_free(dl_json *v);
/* The index in obj->items of `key`, or -1 (also when obj is not an object);
 * O(log n). */
int64_t dl_json_find(const dl_json *obj, const char *key);
/* The value of `key` in an object, or NULL. */
const dl_json *dl_json_get(const dl_json *obj, const char *key);

#endif
