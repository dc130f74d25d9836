/* profile.c — `dlnc run --profile`: where a step's time goes, per line of
 * the user's .dln file, in the manner of PyTorch's profiler table.
 *
 * A profiled build (DL_PROFILE, see dlnrt.h) times every kernel call and
 * hands the time to dl_prof_add with the call's site. Sites are static
 * variables of the model; each is pushed on one lock-free list the first
 * time it runs, and its counters grow with atomic adds, so the cost per
 * call is two clock reads and three atomic adds, no lock: about 0.3 us on
 * the project machine (bench/profile_call_cost.c), against kernels of tens
 * of microseconds to milliseconds.
 *
 * The report groups the sites by (phase, .dln line): a line calling a
 * stdlib block gathers every kernel the block was inlined into. "self" is
 * the part of a row's time spent in ops written on the line itself, not
 * inlined from a block, as PyTorch's self time leaves out what an op calls. */
#include "dlnrt.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static dl_prof_site *prof_sites; /* every site that ran, newest first */

int64_t dl_prof_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void dl_prof_add(dl_prof_site *s, int64_t t0, double flops)
{
    const int64_t dt = dl_prof_clock() - t0;
    if (!__atomic_exchange_n(&s->listed, 1, __ATOMIC_ACQ_REL)) {
        s->next = __atomic_load_n(&prof_sites, __ATOMIC_ACQUIRE);
        while (!__atomic_compare_exchange_n(&prof_sites, &s->next, s, 1, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE)) {
        }
    }
    __atomic_add_fetch(&s->calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->ns, dt, __ATOMIC_RELAXED);
    if (flops >= 0) __atomic_add_fetch(&s->flops, (int64_t)flops, __ATOMIC_RELAXED);
    else __atomic_add_fetch(&s->unknown_flops, 1, __ATOMIC_RELAXED);
}

void dl_prof_reset(void)
{
    for (dl_prof_site *s = __atomic_load_n(&prof_sites, __ATOMIC_ACQUIRE); s; s = s->next)
        s->calls = s->ns = s->flops = s->unknown_flops = 0;
}

typedef struct prof_row {
    const char *phase, *line;
    const char *inner;                    /* NULL: a line's row; else the block line inlined into it */
    char what[37];                        /* the distinct blocks and ops of the row, comma-separated */
    int64_t calls, ns, self_ns, flops, unknown;
} prof_row;

static int by_time(const void *a, const void *b)
{
    const prof_row *x = a, *y = b;
    if (x->ns != y->ns) return x->ns < y->ns ? 1 : -1;
    int c = strcmp(x->line, y->line);
    return c ? c : strcmp(x->phase, y->phase);
}

/* "a, b" + "c" → "a, b, c", each name once; "..." when it no longer fits */
static void add_name(char *what, size_t cap, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = what; (p = strstr(p, name)); p += len)
        if ((p == what || p[-1] == ' ') && (p[len] == ',' || p[len] == '\0')) return;
    if (strstr(what, "...")) return;
    size_t used = strlen(what);
    if (used + len + 2 >= cap - 4) snprintf(what + used, cap - used, ", ...");
    else snprintf(what + used, cap - used, "%s%s", used ? ", " : "", name);
}

static int same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

/* the row of (phase, line, inner), added at rows[*nr] if new */
static prof_row *row_of(prof_row *rows, int *nr, const dl_prof_site *s, const char *inner)
{
    for (int r = 0; r < *nr; r++)
        if (same(rows[r].phase, s->phase) && same(rows[r].line, s->line) && same(rows[r].inner, inner)) return &rows[r];
    rows[*nr] = (prof_row){.phase = s->phase, .line = s->line, .inner = inner};
    return &rows[(*nr)++];
}

static int training(const char *phase)
{
    return !strcmp(phase, "forward") || !strcmp(phase, "backward") || !strcmp(phase, "optimizer");
}

static void print_row(FILE *out, const prof_row *w, double all)
{
    char gf[24] = "-", where[64];
    if (!w->unknown && w->flops > 0 && w->ns > 0) snprintf(gf, sizeof gf, "%.2f", (double)w->flops / (double)w->ns);
    snprintf(where, sizeof where, "%s%s", w->inner ? "  " : "", w->inner ? w->inner : w->line);
    fprintf(out, "%-9s  %-26s  %-36s %8lld %11.3f %7.2f %10.3f %8s\n", w->inner ? "" : w->phase, where, w->what,
            (long long)w->calls, w->ns / 1e6, 100.0 * w->ns / all, w->self_ns / 1e6, gf);
}

/* One table: the training step's rows (train = 1) or the others', each line
 * followed by the block lines inlined into it; rows sorted by time. */
static void print_table(FILE *out, const prof_row *rows, int nr, int train)
{
    static const char *const phases[] = {"forward", "backward", "optimizer", "eval", "inference"};
    int64_t total = 0, calls = 0, per_phase[5] = {0};
    for (int r = 0; r < nr; r++) {
        if (rows[r].inner || training(rows[r].phase) != train) continue;
        total += rows[r].ns, calls += rows[r].calls;
        for (int k = 0; k < 5; k++)
            if (!strcmp(rows[r].phase, phases[k])) per_phase[k] += rows[r].ns;
    }
    if (!calls) return;
    const double all = total > 0 ? (double)total : 1;
    fprintf(out, "\nprofile: %s, time in kernels by .dln line (%% of the table; self: ops written on the line,\n"
                 "not inlined from a block; the block lines inlined into a line are indented beneath it)\n",
            train ? "the training step" : "evaluation");
    fprintf(out, "%-9s  %-26s  %-36s %8s %11s %7s %10s %8s\n", "phase", "line", "what", "calls", "total ms", "%",
            "self ms", "GFLOP/s");
    for (int r = 0; r < nr; r++) {
        if (rows[r].inner || training(rows[r].phase) != train) continue;
        print_row(out, &rows[r], all);
        for (int k = 0; k < nr; k++)
            if (rows[k].inner && same(rows[k].phase, rows[r].phase) && same(rows[k].line, rows[r].line))
                print_row(out, &rows[k], all);
    }
    fprintf(out, "%-9s  %-26s  %-36s %8lld %11.3f %7.2f\n", "total", "", "", (long long)calls, total / 1e6, 100.0);
    fprintf(out, "by phase:");
    for (int k = 0; k < 5; k++)
        if (per_phase[k]) fprintf(out, "  %s %.1f%%", phases[k], 100.0 * per_phase[k] / all);
    fprintf(out, "\n");
}

int dl_prof_report(FILE *out)
{
    int n = 0;
    for (dl_prof_site *s = prof_sites; s; s = s->next) n++;
    prof_row *rows = calloc(n > 0 ? 2 * (size_t)n : 1, sizeof *rows);
    dl_prof_site **ran = calloc(n > 0 ? (size_t)n : 1, sizeof *ran);
    if (!rows || !ran || n == 0) {
        free(rows);
        free(ran);
        return -1;
    }
    /* in the order the sites first ran (the list is newest first) */
    int i = n, nr = 0;
    for (dl_prof_site *s = prof_sites; s; s = s->next) ran[--i] = s;
    for (i = 0; i < n; i++) {
        const dl_prof_site *s = ran[i];
        if (!s->calls) continue;
        for (int level = 0; level < 1 + (s->inner != NULL); level++) {
            prof_row *w = row_of(rows, &nr, s, level ? s->inner : NULL);
            add_name(w->what, sizeof w->what, level ? (s->op ? s->op : s->what) : s->what);
            w->calls += s->calls, w->ns += s->ns, w->flops += s->flops, w->unknown += s->unknown_flops;
            if (s->self || level) w->self_ns += s->ns;
        }
    }
    qsort(rows, (size_t)nr, sizeof *rows, by_time);
    print_table(out, rows, nr, 1);
    print_table(out, rows, nr, 0);
    fflush(out);
    free(rows);
    free(ran);
    return 0;
}
