/* stdlib_embed.h — the .dln standard library compiled into dlnc (build/gen/stdlib_gen.c). */
#ifndef DLNC_STDLIB_EMBED_H
#define DLNC_STDLIB_EMBED_H
typedef struct stdlib_file {
    const char *name; /* "stdlib/nn.dln" */
    const char *text;
} stdlib_file;
extern const stdlib_file stdlib_files[];
extern const int stdlib_n_files;
#endif
