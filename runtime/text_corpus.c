/* text_corpus.c — a character-level corpus: a file, or every text file of a
 * directory, as one stream of byte tokens.
 *
 * Made for corpora like Debian's fortunes (/usr/share/games/fortunes: text
 * files beside fortune(6)'s binary .dat indexes and .u8 links to the same
 * texts), hence the skipped names. Files are concatenated in byte-wise name
 * order, whatever readdir returns, so a corpus is the same stream — and the
 * same split and vocabulary — on every machine. Symlinks are followed (stat,
 * not lstat): a link to a text file is that text; subdirectories are not
 * descended into, so a stray backup tree is not silently trained on.
 *
 * The vocabulary is built from the training part only: a model cannot have
 * an output for a byte it never saw. Validation bytes outside it map to a
 * fallback id (that of ' ', else 0) and are counted, which keeps the
 * validation stream exactly as long as the text — the comparison with
 * another framework's bits per character stays position for position. */
#include "text_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int dl_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int dl_corpus_skipped_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] == '.' || (n >= 4 && strcmp(name + n - 4, ".dat") == 0) ||
           (n >= 3 && strcmp(name + n - 3, ".u8") == 0);
}

/* The corpus files of dir, sorted, into *names (count *n); paths are
 * "dir/name". */
static int dl_corpus_list(const char *dir, char ***names, int64_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) { dl_set_error("%s: cannot open the directory: %s", dir, strerror(errno)); return -1; }
    int64_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (dl_corpus_skipped_name(e->d_name)) continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        struct stat st;
        if (path) snprintf(path, len, "%s/%s", dir, e->d_name);
        if (path && (stat(path, &st) != 0 || !S_ISREG(st.st_mode))) {   /* subdirectory, dangling link, FIFO */
            free(path);
            continue;
        }
        if (path && *n == cap) {
            cap = cap ? 2 * cap : 64;
            char **v = realloc(*names, (size_t)cap * sizeof *v);
            if (v) *names = v;
            else { free(path); path = NULL; }
        }
        if (!path) {
            closedir(d);
            dl_set_error("%s: out of memory listing the directory", dir);
            return -1;
        }
        (*names)[(*n)++] = path;
    }
    closedir(d);
    if (*n) qsort(*names, (size_t)*n, sizeof **names, dl_cmp_str);
    return 0;
}

/* The bytes of path (a file, or a directory's corpus files) into *text. */
static int dl_corpus_read(const char *path, char **text, int64_t *len)
{
    int64_t cap = 0;
    *text = NULL;
    *len = 0;
    struct stat st;
    if (stat(path, &st) != 0) { dl_set_error("%s: cannot open: %s", path, strerror(errno)); return -1; }
    if (!S_ISDIR(st.st_mode)) return dl_text_append_file(path, text, len, &cap);
    char **names;
    int64_t n, i;
    if (dl_corpus_list(path, &names, &n)) return -1;
    for (i = 0; i < n; i++)
        if (dl_text_append_file(names[i], text, len, &cap)) break;
    int rc = i < n ? -1 : 0;
    if (rc == 0 && n == 0)
        dl_set_error("%s: no text files in the directory (hidden files, *.dat, *.u8 and subdirectories are skipped)", path);
    for (i = 0; i < n; i++) free(names[i]);
    free(names);
    return n == 0 ? -1 : rc;
}

int dl_load_text(const char *path, double val_split, dl_text_data *out)
{
    memset(out, 0, sizeof *out);
    char *text;
    int64_t n, n_val;
    if (dl_corpus_read(path, &text, &n)) { free(text); return -1; }
    if (n == 0) { dl_set_error("%s: the text is empty", path); free(text); return -1; }
    if (dl_text_val_count(n, val_split, path, &n_val)) { free(text); return -1; }
    const unsigned char *u = (const unsigned char *)text;
    dl_vocab_build(&out->vocab, u, n - n_val);
    out->has_vocab = 1;
    out->vocab_size = out->vocab.size;
    out->fallback = out->vocab.id[' '] >= 0 ? out->vocab.id[' '] : 0;
    out->train = malloc((size_t)n * sizeof *out->train);
    if (!out->train) { dl_set_error("%s: out of memory (%lld bytes of text)", path, (long long)n); free(text); return -1; }
    for (int64_t i = 0; i < n; i++) {
        int id = out->vocab.id[u[i]];
        if (id < 0) { id = out->fallback; out->val_unknown++; }   /* only validation bytes can miss */
        out->train[i] = id;
    }
    out->n_train = n;
    free(text);
    if (dl_text_split(out, n_val, path)) { dl_text_data_free(out); return -1; }
    return 0;
}
