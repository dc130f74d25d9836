/* main.c — the dlnc driver. Read top to bottom, it is the pipeline:
 *
 *   parse (stdlib + the user's file) → elaborate into IR modules (shapes
 *   checked, train graphs differentiated) → passes on every graph → emit C
 *   → write model.c/model.h, or (`dlnc run`) build, load and train.
 *
 * Exit status: 0 on success, 1 on any error in the user's program (reported
 * GCC-style on stderr, and no output file is written), 2 on usage errors. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "cli.h"
#include "arena.h"
#include "atomic_file_internal.h"
#include "ast.h"
#include "diag.h"
#include "ddpm_cmd.h"
#include "deploy.h"
#include "dlnc_version.h"
#include "dlnrt.h"
#include "elab.h"
#include "emit.h"
#include "emit_dot.h"
#include "explain_cmd.h"
#include "ir.h"
#include "jit.h"
#include "parse.h"
#include "passes.h"
#include "plot_cmd.h"
#include "beam_cmd.h"
#include "sample_images.h"
#include "search_cmd.h"
#include "stdlib_embed.h"
#include "summary.h"
#include "train.h"

typedef struct options {
    int run;                  /* `dlnc run` (1), `dlnc sample` (2), `dlnc search` (3) or `dlnc explain` (4): build and run */
    const char *input;
    const char *output;       /* -o: the .c path (header beside it) */
    const char *emit;         /* --emit=ast|ir|c|dot */
    const char *after;        /* --after=PASS */
    int check_only;
    int summary;
    int verify;
    int check_numerics;       /* --check-numerics: unfused kernels, each output checked */
    const char *model;        /* --model: which model `dlnc run` trains */
    jit_options jit;
    dl_run_options run_opt;
    dl_generate_options gen;  /* `dlnc sample` */
    dl_grid_options grid;     /* `dlnc sample --grid` etc.: pictures instead of text */
    sample_mode image_mode;   /* which picture (sample_images.h) */
    const char *encoder;      /* --interpolate --encoder NAME */
    dl_ddpm_options ddpm;     /* `dlnc sample --ddpm T`: the grid by a diffusion model's reverse process */
    int count_set;            /* --count given (else the image mode's or explain's default) */
    int autoregressive;       /* `dlnc sample --autoregressive --grid`: pixel by pixel (PixelCNN) */
    int sampling_set;         /* --temperature, --top-k or --top-p given (--beam refuses them) */
    search_options search;    /* `dlnc search` */
    dl_explain_options attack; /* `dlnc explain` */
    int export;               /* `dlnc export`: the inference-only C file (deploy.h) */
    deploy_options deploy;
} options;

static void usage(FILE *out) {
    fprintf(out,
            "usage: dlnc [options] model.dln            compile to model.c + model.h\n"
            "       dlnc run [options] model.dln        compile, build, and run the train section\n"
            "       dlnc sample [options] model.dln     generate text from a trained language model\n"
            "       dlnc sample --grid OUT.png ... m.dln draw images from a trained generator\n"
            "       dlnc sample --reconstruct OUT.png ... m.dln   an autoencoder's test reconstructions\n"
            "       dlnc sample --interpolate OUT.png --model dec ... m.dln   walks in a decoder's latent space\n"
            "       dlnc sample --autoregressive --grid OUT.png ... m.dln  ... pixel by pixel (PixelCNN)\n"
            "       dlnc sample --ddpm T --model eps --grid OUT.png ... m.dln   ... or diffusion model\n"
            "       dlnc search --grid SPEC [--random N] [--out FILE.csv] ... m.dln   hyper-parameter search\n"
            "       dlnc explain --attack fgsm|pgd --checkpoint CK [options] m.dln   attack a trained classifier\n"
            "       dlnc explain --map saliency|occlusion --grid OUT.png --checkpoint CK m.dln   ... or map it\n"
            "       dlnc export --checkpoint CK [-o OUT.c] [options] m.dln   inference-only C for deployment\n"
            "       dlnc plot [-o OUT] FILE.csv         redraw a run's pictures from its CSV (dlnc plot -h)\n"
            "\n"
            "options:\n"
            "  -o FILE.c           output path (the header is written beside it as FILE.h)\n"
            "  --emit=ast|ir|c|dot print the syntax tree, the IR, the C, or the model graph\n"
            "                      (Graphviz: dlnc --emit=dot m.dln | dot -Tsvg > m.svg) to stdout\n"
            "  --after=PASS        with --emit=ir: show the IR right after PASS (elab: before the first pass)\n"
            "  --check             parse, elaborate and check shapes only\n"
            "  --summary           print each layer's output shape, parameters and FLOPs\n"
            "  --verify            run the IR verifier after every pass\n"
            "  --check-numerics    no fusion, and check every kernel's output in train_step and\n"
            "                      eval_step: the first NaN or infinity stops with the op and its\n"
            "                      .dln line (slower; a debugging build)\n"
            "  -h, --help          this help\n"
            "  --version           print the version\n"
            "\n"
            "run options:\n"
            "  --model NAME        the model to train, when the file has several train sections\n"
            "                      (dlnc sample --grid: also a model of a section over several\n"
            "                      models, e.g. a GAN's gen, from its gen.* in the checkpoint,\n"
            "                      or a model with no train section, from a checkpoint holding\n"
            "                      its tensors, e.g. a flow's inverse)\n"
            "  --resume            continue an interrupted run from its checkpoint, bit for bit\n"
            "  --epochs N          override the train section's epochs\n"
            "  --max-steps N       stop after N training steps (smoke tests)\n"
            "  --seed N            override the train section's seed\n"
            "  --log-every K       a loss line every K steps (the train section's log_every)\n"
            "  --checkpoint FILE   save the trained parameters here (safetensors)\n"
            "  --history FILE.csv  write the per-epoch loss/accuracy curve, and beside it the\n"
            "                      per-step losses (FILE.steps.csv), their pictures (FILE.png,\n"
            "                      FILE.svg) and a classifier's FILE.confusion.{csv,png,svg}\n"
            "  --quiet             no progress lines (neither per epoch nor within one)\n"
            "  --progress-every S  when stderr is not a terminal, a progress line within the epoch\n"
            "                      every S seconds (default 10); a terminal's line is redrawn in place\n"
            "  --threads N         every step at N threads (default: each step at the fastest count\n"
            "                      up to OMP_NUM_THREADS, timed as it trains; -v says which)\n"
            "  --profile           time every kernel and print, after the run, the time per .dln\n"
            "                      line (forward, backward, optimizer, eval), slowest first\n"
            "\n"
            "search options (also --model, --epochs, --max-steps, --seed, --checkpoint, --history):\n"
            "  --grid SPEC         the settings to try: SETTING=v1,v2,...[;SETTING=...], every combination;\n"
            "                      settings: lr, weight_decay, momentum, beta1, beta2, eps, batch, epochs\n"
            "  --random N          N trials drawn from SPEC instead, which may also give ranges\n"
            "                      SETTING=log(LO,HI) or uniform(LO,HI) (the draws' seed: --seed)\n"
            "  --out FILE.csv      write the table of trials, ranked on the validation split\n"
            "\n"
            "export options (also --model, -o OUT.c: default M_infer.c; --checkpoint CK, required):\n"
            "  --max-batch N       the largest batch the exported <model>_infer takes (default 1)\n"
            "  --weights-file F    write the weights to F (raw float32) for the caller to pass,\n"
            "                      instead of embedding them as static const arrays\n"
            "  --static-arena      a static arena in the file, used when the caller passes none\n"
            "  --int8              int8 weights (per output channel) in the dense layers and\n"
            "                      convolutions, their inputs quantized per tensor, int32 sums\n"
            "  --calibrate N       with --int8: the inputs' scales from N training images (default 1000)\n"
            "  --seq-len T         a model with a run-time length T (token ids, a loop over T):\n"
            "                      the length the export runs at (default: the bound the model declares,\n"
            "                      else its train section's seq_len);\n"
            "                      --seq-len NAME=T once per length for several (seq2seq's S and T)\n"
            "  --no-fold           keep batch norm and what depends on weights alone as computed in\n"
            "                      training (default: computed at export, batch norm folded into\n"
            "                      the convolution or dense layer before it)\n"
            "\n"
            "sample options (also --model, --seed, --checkpoint: the trained model, required):\n"
            "  --prompt TEXT       the text to continue (default: a newline)\n"
            "  --length N          how many tokens to generate (default 200)\n"
            "  --temperature T     0: always the likeliest token; higher: more varied (default 0.8)\n"
            "  --top-k K           draw only among the K likeliest tokens (default 0: all)\n"
            "  --top-p P           nucleus sampling: only the likeliest tokens whose probabilities\n"
            "                      first reach P, in (0, 1] (default 1: all)\n"
            "  --context N         tokens of context the model sees (default: the train section's seq_len)\n"
            "  --no-cache          recompute the whole window for every token, even when the model\n"
            "                      has a key/value cache (the same tokens, slower: for comparison)\n"
            "  --beam K            beam search: the likeliest of K continuations kept at each token\n"
            "                      (1 to 64; deterministic, no --temperature/--top-k/--top-p)\n"
            "  --length-penalty A  with --beam: score = sum log p / length^A (default 1.0)\n"
            "  --end C             with --beam: the character C (a vocabulary token; \\n a newline) ends a\n"
            "                      beam; the search stops when K beams have ended\n"
            "  --all-beams         with --beam: print all K final beams with their scores, best first\n"
            "  --grid OUT.png      an image generator (one f32 input, perhaps an i32[N] class input,\n"
            "                      output f32[N, C, H, W]): draw its f32 input from N(0, 1) and\n"
            "                      write its images as one PNG grid\n"
            "  --autoregressive    with --grid: a model of images f32[N, 1, H, W] to per-pixel logits\n"
            "                      f32[N, K, H, W] (K = 1: Bernoulli; K levels: k / (K - 1)), its\n"
            "                      pixels drawn in raster order, one forward each (PixelCNN)\n"
            "  --count N           with --grid: how many images, 1 to 1024 (default 64)\n"
            "  --label K           with --grid, a generator with a class input (i32[N]): every\n"
            "                      image of class K (default: one row per class)\n"
            "  --classes K         with --grid: how many classes the class input has (default 10)\n"
            "  --range LO,HI       with --grid: the output values shown black and white (default\n"
            "                      0,1, a sigmoid's; -1,1 for a tanh); others are clamped\n"
            "  --sigmoid           the image output is logits: draw (and compare) sigmoid(output)\n"
            "  --reconstruct OUT.png  a model trained on images, first output shaped like its input:\n"
            "                      the first --count (default 32) test images, each above its\n"
            "                      reconstruction, 8 per row, and the reconstruction MSE\n"
            "  --interpolate OUT.png  a decoder (one f32 latent input, image output): --count rows\n"
            "                      (default 8) of 10 images decoded along the line between two\n"
            "                      N(0, 1) latents, or with --encoder between the mean latents of\n"
            "                      two test images\n"
            "  --pca OUT.png       a model whose one input is an image of its train section's data: the\n"
            "                      first --count (default 1000) test images' output projected on its two\n"
            "                      principal components, a scatter plot coloured by class (.png or .svg)\n"
            "  --tsne OUT.png      ... or its exact t-SNE (perplexity 30, 1000 iterations, --seed)\n"
            "  --output NAME       with --pca or --tsne: the output drawn (default: the first)\n"
            "  --encoder NAME      with --interpolate: the model giving an image's latent (first output)\n"
            "  --ddpm T            with --grid: a DDPM noise predictor eps(x: f32[N, C, H, W], t: i32[N])\n"
            "                      trained with T steps: run the reverse process from N(0, 1) noise\n"
            "  --beta1 B           with --ddpm: the linear schedule's first beta (default 1e-4)\n"
            "  --beta-t B          with --ddpm: its last beta (default 0.02)\n"
            "  --ddim S            with --ddpm: deterministic DDIM over S of the T steps\n"
            "\n"
            "explain options (also --model, --seed, --checkpoint, --grid OUT.png, --count N (default 8)):\n"
            "  --attack fgsm|pgd   FGSM (one step of eps) or PGD (L-infinity, projected) on the cross-entropy\n"
            "                      of the classifier's logits, over the test images; prints the accuracies\n"
            "  --eps E[,E...]      the radii, pixels in [0, 1] (default 0.1); --grid draws the last\n"
            "  --steps K           PGD: iterations (default 10)\n"
            "  --alpha A           PGD: step size (default 2.5 eps / steps)\n"
            "  --random-start      PGD: start from a uniform point of the eps-ball\n"
            "  --curve OUT.svg|png accuracy against eps (needs several --eps)\n"
            "  --map saliency|occlusion|gradcam  instead of an attack: --grid of the images, their maps\n"
            "                      (|d logit[label] / d image|, or the drop in the label's probability\n"
            "                      under a grey square) and the maps over the images\n"
            "  --patch P           occlusion: the square's side in pixels (default 5)\n"
            "  --layer NAME        --map gradcam: Grad-CAM at the value NAME the model assigns\n"
            "\n"
            "build options (dlnc run, sample, search and explain build the model as a shared library):\n"
            "  --jit=cc|llvm       how `dlnc run` compiles the model: the system C compiler, cached (default,\n"
            "                      or $DLNC_JIT), or LLVM in process, also cached (a dlnc built with\n"
            "                      `make LLVM=1`; --cc and --cflags are then unused)\n"
            "  --cc CC             C compiler for the JIT (default $DLNC_CC or cc)\n"
            "  --cflags FLAGS      its flags (default $DLNC_CFLAGS or \"-O3 -march=native -fno-math-errno\");\n"
            "                      both are split into words at spaces, with no shell\n"
            "  -v                  show the JIT cache entry and compile command, and the thread count\n"
            "                      the run chose\n"
            "\n"
            "stages (for --after): " PASS_STAGE_ELAB);
    for (const pass_info *p = pass_pipeline; p->name; p++) fprintf(out, " %s", p->name);
    fprintf(out, "\n");
}

/* The subcommands (modes) of the shared parser: which one an option of the
 * table below is given to decides whether it is used or refused. */
enum {
    MODE_COMPILE = 1 << 0, /* dlnc FILE */
    MODE_RUN = 1 << 1,
    MODE_SAMPLE = 1 << 2,
    MODE_SEARCH = 1 << 3,
    MODE_EXPLAIN = 1 << 4,
    MODE_EXPORT = 1 << 5,
    MODE_IMAGES = 1 << 6, /* dlnc sample drawing images; MODE_SAMPLE is its text */
    MODE_N = 7,
    MODE_ALL = (1 << MODE_N) - 1,
    MODE_SAMPLES = MODE_SAMPLE | MODE_IMAGES,
    MODE_JIT = MODE_RUN | MODE_SAMPLES | MODE_SEARCH | MODE_EXPLAIN, /* build the model as a shared library */
};
static const char *const mode_names[MODE_N] = {"dlnc FILE", "dlnc run", "dlnc sample", "dlnc search", "dlnc explain",
                                               "dlnc export", "dlnc sample --grid/--reconstruct/..."};

/* Every option of dlnc FILE, run, sample, search, explain and export: its
 * name (ending in '=' when its value is attached), whether the next argument
 * is its value, and the modes whose code reads it. An option given to another
 * mode is a usage error (cli_check_modes), never silently ignored. The values
 * are parsed by parse_options and the *_cmd_option parsers. */
typedef struct cli_option {
    const char *name;
    int takes_value;
    unsigned modes;
} cli_option;
static const cli_option cli_options[] = {
    {"-h", 0, MODE_ALL}, {"--help", 0, MODE_ALL}, {"--version", 0, MODE_ALL},
    /* the pipeline: every mode parses, elaborates and runs the passes; only the compiler prints
     * the C (the others build it or write their own), so --emit=c is found before --emit= */
    {"--emit=c", 0, MODE_COMPILE}, {"--emit=", 0, MODE_ALL}, {"--after=", 0, MODE_ALL}, {"--check", 0, MODE_ALL}, {"--summary", 0, MODE_ALL},
    {"--verify", 0, MODE_ALL},
    {"-o", 1, MODE_COMPILE | MODE_EXPORT},
    {"--check-numerics", 0, MODE_COMPILE | MODE_JIT},
    {"--profile", 0, MODE_COMPILE | MODE_RUN},
    /* training (search: its trials and the best one's rerun) */
    {"--model", 1, MODE_JIT | MODE_EXPORT},
    {"--checkpoint", 1, MODE_JIT | MODE_EXPORT},
    {"--seed", 1, MODE_JIT},
    {"--epochs", 1, MODE_RUN | MODE_SEARCH}, {"--max-steps", 1, MODE_RUN | MODE_SEARCH},
    {"--log-every", 1, MODE_RUN | MODE_SEARCH}, {"--history", 1, MODE_RUN | MODE_SEARCH},
    {"--progress-every", 1, MODE_RUN | MODE_SEARCH}, {"--threads", 1, MODE_RUN | MODE_SEARCH},
    {"--resume", 0, MODE_RUN}, {"--quiet", 0, MODE_RUN},
    /* the JIT build */
    {"--jit=", 0, MODE_JIT}, {"--cc", 1, MODE_JIT}, {"--cflags", 1, MODE_JIT}, {"-v", 0, MODE_JIT},
    /* sample: text (beam_cmd.c) */
    {"--prompt", 1, MODE_SAMPLE}, {"--length", 1, MODE_SAMPLE}, {"--temperature", 1, MODE_SAMPLE},
    {"--top-k", 1, MODE_SAMPLE}, {"--top-p", 1, MODE_SAMPLE}, {"--context", 1, MODE_SAMPLE},
    {"--no-cache", 0, MODE_SAMPLE}, {"--beam", 1, MODE_SAMPLE}, {"--length-penalty", 1, MODE_SAMPLE},
    {"--end", 1, MODE_SAMPLE}, {"--all-beams", 0, MODE_SAMPLE},
    /* sample: images (sample_images.c, ddpm_cmd.c); explain draws a --grid of --count too; search's --grid is its SPEC */
    {"--grid", 1, MODE_IMAGES | MODE_SEARCH | MODE_EXPLAIN}, {"--count", 1, MODE_IMAGES | MODE_EXPLAIN},
    {"--reconstruct", 1, MODE_IMAGES}, {"--interpolate", 1, MODE_IMAGES}, {"--pca", 1, MODE_IMAGES},
    {"--tsne", 1, MODE_IMAGES}, {"--output", 1, MODE_IMAGES}, {"--encoder", 1, MODE_IMAGES},
    {"--sigmoid", 0, MODE_IMAGES}, {"--autoregressive", 0, MODE_IMAGES}, {"--label", 1, MODE_IMAGES},
    {"--classes", 1, MODE_IMAGES}, {"--range", 1, MODE_IMAGES}, {"--ddpm", 1, MODE_IMAGES},
    {"--beta1", 1, MODE_IMAGES}, {"--beta-t", 1, MODE_IMAGES}, {"--ddim", 1, MODE_IMAGES},
    /* search (search_cmd.c) */
    {"--random", 1, MODE_SEARCH}, {"--out", 1, MODE_SEARCH},
    /* explain (explain_cmd.c) */
    {"--attack", 1, MODE_EXPLAIN}, {"--eps", 1, MODE_EXPLAIN}, {"--steps", 1, MODE_EXPLAIN},
    {"--alpha", 1, MODE_EXPLAIN}, {"--random-start", 0, MODE_EXPLAIN}, {"--curve", 1, MODE_EXPLAIN},
    {"--map", 1, MODE_EXPLAIN}, {"--patch", 1, MODE_EXPLAIN}, {"--layer", 1, MODE_EXPLAIN},
    /* export (deploy_cmd.c) */
    {"--max-batch", 1, MODE_EXPORT}, {"--weights-file", 1, MODE_EXPORT}, {"--static-arena", 0, MODE_EXPORT},
    {"--int8", 0, MODE_EXPORT}, {"--calibrate", 1, MODE_EXPORT}, {"--seq-len", 1, MODE_EXPORT},
    {"--no-fold", 0, MODE_EXPORT},
};

static const cli_option *cli_find(const char *a) {   /* NULL: not an option of the table */
    for (size_t k = 0; k < sizeof cli_options / sizeof *cli_options; k++) {
        const char *n = cli_options[k].name;
        size_t len = strlen(n);
        if (n[len - 1] == '=' ? !strncmp(a, n, len) : !strcmp(a, n)) return &cli_options[k];
    }
    return NULL;
}

/* "dlnc: error: --temperature is an option of dlnc sample, not of dlnc run" */
static void cli_misplaced(const cli_option *c, unsigned mode) {
    /* an option of both dlnc sample's text and its images: of "dlnc sample" */
    unsigned modes = (c->modes & MODE_SAMPLES) == MODE_SAMPLES ? c->modes & ~MODE_IMAGES : c->modes;
    int n = 0, k = 0, m;
    for (m = 0; m < MODE_N; m++) n += (modes >> m) & 1;
    size_t len = strlen(c->name);
    fprintf(stderr, "dlnc: error: %.*s is an option of ", (int)(len - (c->name[len - 1] == '=')), c->name);
    for (m = 0; m < MODE_N; m++)
        if (modes >> m & 1) fprintf(stderr, "%s%s", k == 0 ? "" : k == n - 1 ? " and " : ", ", mode_names[m]), k++;
    for (m = 0; !(mode >> m & 1); m++) {}
    fprintf(stderr, ", not of %s\n", mode_names[m]);
}

/* 0 if mode reads every option of argv[i...]; else -1, the first that it does not refused. */
static int cli_check_modes(int argc, char **argv, int i, unsigned mode) {
    for (; i < argc; i++) {
        const cli_option *c = cli_find(argv[i]);
        if (!c) continue;   /* the input file */
        if (!(c->modes & mode)) {
            cli_misplaced(c, mode);
            return -1;
        }
        i += c->takes_value;
    }
    return 0;
}

static int parse_int_arg(const char *flag, const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "dlnc: error: %s expects a non-negative integer, got '%s'\n", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns 0, 1 to exit successfully (help/version), or -1 on a usage error. */
static int parse_options(int argc, char **argv, options *o) {
    int i = 1;
    if (argc > 1 && strcmp(argv[1], "run") == 0) {
        o->run = 1;
        i = 2;
    } else if (argc > 1 && strcmp(argv[1], "sample") == 0) {
        o->run = 2;
        i = 2;
    } else if (argc > 1 && strcmp(argv[1], "search") == 0) {
        o->run = 3;
        i = 2;
    } else if (argc > 1 && strcmp(argv[1], "explain") == 0) {
        o->run = 4;
        i = 2;
    } else if (argc > 1 && strcmp(argv[1], "export") == 0) {
        o->export = 1;
        i = 2;
    }
    o->gen.length = 200;
    o->gen.temperature = 0.8f;
    o->grid.count = 64;
    o->grid.hi = 1;
    ddpm_cmd_defaults(&o->ddpm);
    beam_cmd_defaults(&o->gen);
    explain_cmd_defaults(&o->attack);
    /* an option of another subcommand is skipped here (the parsers of the others would call
     * it unknown) and refused after the loop, by the mode the whole command line gives */
    const int first = i;
    unsigned mode = o->export ? MODE_EXPORT : o->run == 2 ? MODE_SAMPLES : 1u << o->run;
    for (; i < argc; i++) {
        const char *a = argv[i];
        long long v;
        const cli_option *c = cli_find(a);
        if (c && !(c->modes & mode)) {
            i += c->takes_value;
            continue;
        }
        int taken = o->run == 4 ? explain_cmd_option(argc, argv, &i, &o->attack) : 0;
        if (!taken) taken = ddpm_cmd_option(argc, argv, &i, &o->ddpm);
        if (!taken) taken = beam_cmd_option(argc, argv, &i, &o->gen, &o->sampling_set);
        if (taken < 0) return -1;
        if (!taken && o->run == 3) taken = search_cmd_option(argc, argv, &i, &o->search);
        if (!taken && o->export) taken = deploy_option(argc, argv, &i, &o->deploy);
        if (taken < 0) return -1;
        if (taken) continue;
#define NEXT()                                                                          \
    do {                                                                                \
        if (!cli_has_value(argc, argv, i)) return -1;                                   \
    } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--version")) {
            printf("dlnc %s (runtime %s)\n", DLNC_VERSION, DLNRT_VERSION);
            return 1;
        } else if (!strcmp(a, "-o")) {
            NEXT();
            o->output = argv[++i];
        } else if (!strncmp(a, "--emit=", 7)) {
            o->emit = a + 7;
            if (strcmp(o->emit, "ast") && strcmp(o->emit, "ir") && strcmp(o->emit, "c") && strcmp(o->emit, "dot")) {
                fprintf(stderr, "dlnc: error: --emit takes ast, ir, c or dot, not '%s'\n", o->emit);
                return -1;
            }
        } else if (!strncmp(a, "--after=", 8)) {
            o->after = a + 8;
            if (!passes_known_stage(o->after)) {
                fprintf(stderr, "dlnc: error: unknown pass '%s' (see dlnc --help)\n", o->after);
                return -1;
            }
        } else if (!strcmp(a, "--check")) {
            o->check_only = 1;
        } else if (!strcmp(a, "--summary")) {
            o->summary = 1;
        } else if (!strcmp(a, "--verify")) {
            o->verify = 1;
        } else if (!strcmp(a, "--no-cache")) {
            o->gen.no_cache = 1;
        } else if (!strcmp(a, "--check-numerics")) {
            o->check_numerics = 1;
        } else if (!strcmp(a, "--epochs") || !strcmp(a, "--max-steps") || !strcmp(a, "--seed") ||
                   !strcmp(a, "--log-every")) {
            NEXT();
            if (parse_int_arg(a, argv[++i], &v)) return -1;
            if (!strcmp(a, "--log-every") && (v < 1 || v > INT32_MAX)) {
                fprintf(stderr, "dlnc: error: --log-every needs a number of steps >= 1\n");
                return -1;
            }
            if (!strcmp(a, "--max-steps") && v < 1) {   /* 0 is the runtime's "no limit": say so, not train on */
                fprintf(stderr, "dlnc: error: --max-steps needs a number of steps >= 1 (leave it out for no limit)\n");
                return -1;
            }
            if (!strcmp(a, "--epochs") && (v < 1 || v > INT32_MAX)) {   /* 0 read as "not given" */
                fprintf(stderr, "dlnc: error: --epochs needs a number of epochs from 1 to %d, got %lld\n", INT32_MAX,
                        (long long)v);
                return -1;
            }
            if (!strcmp(a, "--epochs")) o->run_opt.epochs = (int)v;
            else if (!strcmp(a, "--log-every")) o->run_opt.log_every = (int)v;
            else if (!strcmp(a, "--max-steps")) o->run_opt.max_steps = v;
            else o->run_opt.seed = (uint64_t)v, o->run_opt.seed_set = 1;
        } else if (!strcmp(a, "--length") || !strcmp(a, "--top-k") || !strcmp(a, "--context")) {
            NEXT();
            if (parse_int_arg(a, argv[++i], &v)) return -1;
            if (v < 0) {
                fprintf(stderr, "dlnc: error: %s must not be negative\n", a);
                return -1;
            }
            if (!strcmp(a, "--length")) o->gen.length = v;
            else if (!strcmp(a, "--top-k")) o->gen.top_k = (int)(v > 1 << 30 ? 1 << 30 : v);
            else o->gen.context = v;
        } else if (!strcmp(a, "--temperature")) {
            NEXT();
            char *end;
            double t = strtod(argv[++i], &end);
            if (*end || end == argv[i] || !(t >= 0 && t <= 1e6)) {
                fprintf(stderr, "dlnc: error: --temperature takes a number >= 0, not '%s'\n", argv[i]);
                return -1;
            }
            o->gen.temperature = (float)t;
        } else if (!strcmp(a, "--top-p")) {
            NEXT();
            char *end;
            double t = strtod(argv[++i], &end);
            if (*end || end == argv[i] || !(t > 0 && t <= 1)) {
                fprintf(stderr, "dlnc: error: --top-p takes a probability in (0, 1], not '%s'\n", argv[i]);
                return -1;
            }
            o->gen.top_p = (float)t;
        } else if (!strcmp(a, "--grid") || !strcmp(a, "--reconstruct") || !strcmp(a, "--interpolate") ||
                   !strcmp(a, "--pca") || !strcmp(a, "--tsne")) {
            NEXT();
            if (o->grid.path) {
                fprintf(stderr, "dlnc: error: %s: only one of --grid, --reconstruct, --interpolate, --pca and --tsne\n", a);
                return -1;
            }
            o->grid.path = argv[++i];
            o->grid.tsne = a[2] == 't';
            o->image_mode = a[2] == 'g'   ? SAMPLE_GRID
                            : a[2] == 'r' ? SAMPLE_RECONSTRUCT
                            : a[2] == 'p' || a[2] == 't' ? SAMPLE_PCA
                                          : SAMPLE_INTERPOLATE;
        } else if (!strcmp(a, "--output")) {
            NEXT();
            o->grid.output = argv[++i];
        } else if (!strcmp(a, "--encoder")) {
            NEXT();
            o->encoder = argv[++i];
        } else if (!strcmp(a, "--sigmoid")) {
            o->grid.sigmoid = 1;
        } else if (!strcmp(a, "--autoregressive")) {
            o->autoregressive = 1;
        } else if (!strcmp(a, "--count")) {
            NEXT();
            if (parse_int_arg(a, argv[++i], &v)) return -1;
            if (v < 1 || v > DL_GRID_MAX_COUNT) {
                fprintf(stderr, "dlnc: error: --count must be between 1 and %d, not %lld\n", DL_GRID_MAX_COUNT, v);
                return -1;
            }
            o->grid.count = v, o->count_set = 1;
        } else if (!strcmp(a, "--label") || !strcmp(a, "--classes")) {
            NEXT();
            if (parse_int_arg(a, argv[++i], &v)) return -1;
            if (v > 100000 || (v < 1 && !strcmp(a, "--classes"))) {
                fprintf(stderr, "dlnc: error: %s must be between %d and 100000, not %lld\n", a, a[2] == 'c', v);
                return -1;
            }
            if (!strcmp(a, "--label")) o->grid.label = (int)v, o->grid.label_set = 1;
            else o->grid.classes = (int)v;
        } else if (!strcmp(a, "--range")) {
            NEXT();
            char *end = NULL, *mid;
            double lo = strtod(argv[++i], &mid), hi = *mid == ',' ? strtod(mid + 1, &end) : 0;
            if (mid == argv[i] || *mid != ',' || end == mid + 1 || *end || !(lo < hi) || !isfinite(lo) || !isfinite(hi)) {
                fprintf(stderr, "dlnc: error: --range takes LO,HI with LO < HI (e.g. -1,1), not '%s'\n", argv[i]);
                return -1;
            }
            o->grid.lo = (float)lo, o->grid.hi = (float)hi;
        } else if (!strcmp(a, "--prompt")) {
            NEXT();
            o->gen.prompt = argv[++i];
        } else if (!strcmp(a, "--checkpoint")) {
            NEXT();
            o->run_opt.checkpoint = argv[++i];
        } else if (!strcmp(a, "--history")) {
            NEXT();
            o->run_opt.history_csv = argv[++i];
        } else if (!strcmp(a, "--resume")) {
            o->run_opt.resume = 1;
        } else if (!strcmp(a, "--model")) {
            NEXT();
            o->model = argv[++i];
        } else if (!strcmp(a, "--quiet")) {
            o->run_opt.quiet = 1;
        } else if (!strcmp(a, "--profile")) {
            o->jit.profile = 1;
        } else if (!strcmp(a, "--progress-every")) {
            NEXT();
            char *end;
            double s = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(s > 0) || !isfinite(s)) {
                fprintf(stderr, "dlnc: error: --progress-every expects seconds > 0, got '%s'\n", argv[i]);
                return -1;
            }
            o->run_opt.progress_every = s;
        } else if (!strncmp(a, "--jit=", 6)) {
            int b = jit_backend_parse(a + 6);
            if (b < 0) {
                fprintf(stderr, "dlnc: error: --jit: '%s' is neither cc nor llvm\n", a + 6);
                return -1;
            }
            o->jit.backend = (jit_backend)b;
        } else if (!strcmp(a, "--cc")) {
            NEXT();
            o->jit.cc = argv[++i];
        } else if (!strcmp(a, "--cflags")) {
            NEXT();
            o->jit.cflags = argv[++i];
        } else if (!strcmp(a, "-v")) {
            o->jit.verbose = o->run_opt.verbose = 1;
        } else if (!strcmp(a, "--threads")) {
            NEXT();
            if (parse_int_arg(a, argv[++i], &v)) return -1;
            if (v < 1 || v > DL_TEAM_MAX) {
                fprintf(stderr, "dlnc: error: --threads needs a count from 1 to %d, got %s\n", DL_TEAM_MAX, argv[i]);
                return -1;
            }
            o->run_opt.threads = (int)v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "dlnc: error: unknown option '%s' (see dlnc --help)\n", a);
            return -1;
        } else if (o->input) {
            fprintf(stderr, "dlnc: error: more than one input file ('%s' and '%s')\n", o->input, a);
            return -1;
        } else {
            o->input = a;
        }
#undef NEXT
    }
    if (mode == MODE_SAMPLES) mode = o->grid.path || o->ddpm.steps || o->autoregressive ? MODE_IMAGES : MODE_SAMPLE;
    if (cli_check_modes(argc, argv, first, mode)) return -1;
    if (o->after && (!o->emit || strcmp(o->emit, "ir"))) {   /* it only picks which IR --emit=ir shows */
        fprintf(stderr, "dlnc: error: --after needs --emit=ir\n");
        return -1;
    }
    if (o->grid.output && o->image_mode != SAMPLE_PCA) {
        fprintf(stderr, "dlnc: error: --output names the output --pca or --tsne draws\n");
        return -1;
    }
    if (o->encoder && o->image_mode != SAMPLE_INTERPOLATE) {
        fprintf(stderr, "dlnc: error: --encoder is for --interpolate\n");
        return -1;
    }
    if (o->autoregressive) {
        if (o->grid.path && o->image_mode != SAMPLE_GRID) {
            fprintf(stderr, "dlnc: error: --autoregressive draws a --grid, not %s\n", sample_mode_flag(o->image_mode));
            return -1;
        }
        o->image_mode = SAMPLE_AUTOREGRESSIVE;
    }
    if (o->grid.path && !o->count_set && o->run != 4) o->grid.count = sample_mode_count(o->image_mode);
    if (!o->input) {
        fprintf(stderr, "dlnc: error: no input file\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* "dir/model.dln" → "dir/model.c" */
static char *default_output(arena *a, const char *input) {
    const char *dot = strrchr(input, '.');
    const char *slash = strrchr(input, '/');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - input) : strlen(input);
    return arena_printf(a, "%.*s.c", (int)stem, input);
}

static char *header_path(arena *a, const char *c_path) {
    size_t n = strlen(c_path);
    if (n > 2 && !strcmp(c_path + n - 2, ".c")) return arena_printf(a, "%.*s.h", (int)(n - 2), c_path);
    return arena_printf(a, "%s.h", c_path);
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Emit C into two memory buffers; nothing touches the disk until it all worked. */
static int emit_to_memory(ir_module **mods, int n, const emit_options *eo, diag_ctx *d, char **c, size_t *c_len,
                          char **h, size_t *h_len) {
    FILE *cf = open_memstream(c, c_len), *hf = open_memstream(h, h_len);
    if (!cf || !hf) {
        diag_fatal_noloc(d, "out of memory");
        return -1;
    }
    int rc = emit_c(mods, n, cf, hf, eo, d);
    fclose(cf);
    fclose(hf);
    return rc;
}

/* Write atomically: a failed or interrupted compile never leaves a partial
 * file. The temporary beside the target is created with O_EXCL under a name
 * nobody can predict (runtime/atomic_file.c): a `PATH.tmp.PID` opened with
 * fopen followed a symlink another user planted in a shared directory such as
 * /tmp and truncated the file it pointed to. */
static int write_atomic(const char *path, const char *text, size_t len, diag_ctx *d) {
    dl_atomic_file a;
    if (dl_atomic_create(&a, path) != 0) {
        diag_fatal_noloc(d, "%s", dl_last_error());   /* "PATH: cannot create: why" */
        return -1;
    }
    /* No fsync (dl_atomic_commit's): a lost .c is made again by running dlnc again. */
    size_t w = fwrite(text, 1, len, a.f);
    int bad = fclose(a.f) != 0 || w != len;
    a.f = NULL;
    if (bad || rename(a.tmp, path) != 0) {
        diag_fatal_noloc(d, "cannot write '%s': %s", path, strerror(errno));
        dl_atomic_abort(&a);
        return -1;
    }
    free(a.tmp);
    return 0;
}

/* `dlnc explain`: the build's models are the classifier, its input-gradient
 * model and, for a model of a section with steps, a step reading the data. */
static int run_explain(const jit_module *jm, const options *o) {
    dl_explain_options a = o->attack;
    a.grid.checkpoint = o->run_opt.checkpoint;
    a.grid.path = o->grid.path;
    a.grid.count = o->count_set ? o->grid.count : a.grid.count;
    a.grid.seed = o->run_opt.seed_set ? o->run_opt.seed : 1;
    a.grid.prefix = o->grid.prefix;
    return explain_cmd_run(jm->models[2] ? jm->models[2] : jm->models[0], jm->models[1], &a, o->jit.verbose);
}

/* `dlnc sample`: text from the trained checkpoint (runtime/generate.c). */
static int run_sample(const jit_module *jm, const options *o) {
    dl_generate_options g = o->gen;
    if (beam_cmd_check(&g, o->sampling_set)) return 1;
    if (o->ddpm.steps) {
        dl_grid_options g = o->grid;
        g.checkpoint = o->run_opt.checkpoint;
        g.seed = o->run_opt.seed_set ? o->run_opt.seed : 1;
        return ddpm_cmd_run(jm->api, o->ddpm, &g, o->jit.verbose);
    }
    if (o->ddpm.ddim) {
        fprintf(stderr, "dlnc: error: --ddim needs --ddpm T (the steps the model was trained with)\n");
        return 1;
    }
    if (o->grid.path) {
        dl_grid_options g = o->grid;
        g.checkpoint = o->run_opt.checkpoint;
        g.seed = o->run_opt.seed_set ? o->run_opt.seed : 1;
        return sample_images_run(jm, o->image_mode, &g, o->encoder != NULL, o->jit.verbose);
    }
    if (o->autoregressive) {
        fprintf(stderr, "dlnc: error: --autoregressive draws images: give --grid OUT.png\n");
        return 1;
    }
    g.checkpoint = o->run_opt.checkpoint;
    g.seed = o->run_opt.seed_set ? o->run_opt.seed : 1;
    if (o->jit.verbose) {
        const dl_model_api *a = jm->api;
        if (g.beam) fprintf(stderr, "dlnc: beam search of width %d, the beams through the model at batch %d\n", g.beam, g.beam);
        if (a->decode_io && !g.no_cache) fprintf(stderr, "dlnc: sampling with the key/value cache (%s_decode)\n", a->name);
        else if (a->decode_io) fprintf(stderr, "dlnc: --no-cache: every token recomputes the window\n");
        else fprintf(stderr, "dlnc: no key/value cache (%s): every token recomputes the window\n", a->no_decode ? a->no_decode : "?");
    }
    if (dl_generate(jm->api, &g, stdout) != 0) {
        fflush(stdout);
        fprintf(stderr, "dlnc: error: %s\n", dl_last_error());
        return 1;
    }
    return 0;
}

/* A section over several models: its steps, in order, are the modules (and descriptors) kept. */
static int run_steps(const jit_module *jm, const options *o, ir_module *const *mods, int n) {
    const dl_model_api *apis[DL_MAX_STEPS];
    dl_step_info steps[DL_MAX_STEPS];
    if (n > DL_MAX_STEPS) n = DL_MAX_STEPS;   /* elab_steps.c refuses more */
    for (int k = 0; k < n; k++) {
        apis[k] = jm->models ? jm->models[k] : NULL;
        steps[k] = (dl_step_info){mods[k]->train->step, mods[k]->train->repeat, mods[k]->train->clip};
    }
    dl_run_result res;
    if (dl_run_steps(apis, steps, n, &o->run_opt, &res) != 0) {
        fprintf(stderr, "dlnc: error: %s\n", dl_last_error());
        return 1;
    }
    return 0;
}

static int run_training(const jit_module *jm, const options *o) {
    dl_run_result res;
    if (dl_run_training(jm->api, &o->run_opt, &res) != 0) {
        fprintf(stderr, "dlnc: error: %s\n", dl_last_error());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "plot") == 0) return plot_cmd_main(argc - 1, argv + 1);
    /* threads that sleep at barriers: a training run on a busy machine (team.c) */
    if (argc > 1 && (!strcmp(argv[1], "run") || !strcmp(argv[1], "search"))) dl_team_wait_policy(argv);
    options o = {0};
    int pr = parse_options(argc, argv, &o);
    if (pr) return pr > 0 ? 0 : 2;

    arena ar = {0};
    diag_ctx d;
    diag_init(&d, stderr);
    int status = 1;

    /* Paths are quoted in the generated C's comments and #include: keep out
     * what would end a comment, start a trigraph, or break a string there. */
    const char *paths[2] = {o.input, o.output};
    for (int i = 0; i < 2; i++)
        if (paths[i] && (strstr(paths[i], "*/") || strstr(paths[i], "??") || strpbrk(paths[i], "\"\\\n"))) {
            diag_fatal_noloc(&d, "the path '%s' contains '*/', '?\?', a quote, a backslash or a newline, which the "
                             "generated C cannot quote; rename it", paths[i]);
            goto done;
        }

    /* 1. Parse the embedded stdlib, then the user's file. */
    ast_program **lib = ARENA_NEW_ARRAY(&ar, ast_program *, stdlib_n_files);
    for (int i = 0; i < stdlib_n_files; i++)
        lib[i] = parse_source(&ar, &d, stdlib_files[i].name, stdlib_files[i].text);
    ast_program *prog = parse_file(&ar, &d, o.input);
    if (!prog || d.n_errors) goto done;
    const char *explained = o.run == 4 ? explain_input_grad_model(&ar, prog, o.model, o.input, o.attack.map == DL_MAP_SALIENCY,
                                                           o.attack.layer, &d) : NULL;
    if (o.run == 4 && !explained) goto done;
    if (o.emit && !strcmp(o.emit, "ast")) {
        ast_print(stdout, prog);
        status = 0;
        goto done;
    }

    /* 2. Elaborate: IR modules with shapes checked and train graphs differentiated. */
    elab_output eo = {.carry_state = o.export};
    if (elab_program(&ar, &d, prog, lib, stdlib_n_files, &eo) != 0) goto done;
    if (eo.n_mods == 0) {
        diag_fatal_noloc(&d, "'%s' defines no model", o.input);
        goto done;
    }
    if (o.summary) {
        for (int m = 0; m < eo.n_mods; m++) summary_print(stdout, eo.mods[m], &eo.summaries[m]);
        status = 0;
        goto done;
    }
    if (o.emit && !strcmp(o.emit, "dot")) {
        emit_dot(stdout, eo.mods, eo.summaries, eo.n_mods, o.input);
        status = 0;
        goto done;
    }
    if (o.check_only) {
        status = 0;
        goto done;
    }

    /* `dlnc run` trains one model: the one --model names, or the only one
     * with a train section; several without --model is an error, not a guess. */
    if (o.run) {
        int pick = -1, trainable = 0;
        char names[512] = "";
        for (int m = 0; m < eo.n_mods; m++) {
            /* the steps of a section over several models run as one, named after the section */
            const train_config *tc = eo.mods[m]->train;
            const char *nm = tc && tc->section ? tc->section : eo.mods[m]->name;
            if (tc && tc->section && m > 0 && eo.mods[m - 1]->train && eo.mods[m - 1]->train->section &&
                !strcmp(eo.mods[m - 1]->train->section, tc->section))
                continue;
            if (o.model && !strcmp(nm, o.model)) pick = m;
            if (!tc) continue;
            if (!o.model && pick < 0) pick = m;
            trainable++;
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s'%s'", trainable > 1 ? ", " : "", nm);
        }
        if (o.model && pick < 0) {
            diag_fatal_noloc(&d, "--model %s: '%s' defines no such model", o.model, o.input);
            goto done;
        }
        /* `dlnc sample --model gen`: a model of a several-model section (a GAN's
         * generator) is built alone and loads its `gen.` tensors of the checkpoint */
        const char *in_section = (o.run == 2 || o.run == 4) && o.model && pick >= 0 && !eo.mods[pick]->train
                                     ? sample_section_of(prog, eo.mods[pick]->name) : NULL;
        if (in_section && o.run == 2 && (!o.grid.path || sample_mode_reads_data(o.image_mode))) {
            diag_fatal_noloc(&d, "%s: model '%s' is trained by the section '%s'; dlnc sample draws it as images "
                             "with --grid OUT.png or --interpolate OUT.png", o.input, o.model, in_section);
            goto done;
        }
        if (in_section) o.grid.prefix = arena_printf(&ar, "%s.", eo.mods[pick]->name);
        /* a model with no train section of its own (a VAE's decoder): its tensors
         * by their own names in the checkpoint of the model it is part of */
        if (o.run == 2 && o.grid.path && !sample_mode_reads_data(o.image_mode) && pick >= 0 && !eo.mods[pick]->train &&
            !in_section)
            o.grid.prefix = "";
        ir_module *extra[2] = {NULL, NULL}; /* --encoder: the encoder, the model whose data it reads */
        if (o.encoder && sample_images_encoder(&eo, prog, o.input, o.encoder, &ar, &o.grid, &extra[0], &extra[1], &d))
            goto done;
        if (explained) explain_cmd_modules(&eo, explained, in_section, extra);
        if (pick < 0 || (!eo.mods[pick]->train && !o.grid.prefix)) {
            const char *nm = eo.mods[pick < 0 ? 0 : pick]->name;
            if (sample_mode_reads_data(o.image_mode))
                diag_fatal_noloc(&d, "%s: model '%s' has no train section; %s draws the test images of "
                                 "the model's own train section's data", o.input, nm, sample_mode_flag(o.image_mode));
            else
                diag_fatal_noloc(&d, "%s: model '%s' has no train section; add `train %s { ... }` to run it", o.input,
                                 nm, nm);
            goto done;
        }
        if (!o.model && trainable > 1) {
            diag_fatal_noloc(&d, "%s has %d models with a train section (%s); choose one with --model NAME", o.input,
                             trainable, names);
            goto done;
        }
        const char *section = eo.mods[pick]->train ? eo.mods[pick]->train->section : NULL;
        int kept = 0;
        for (int m = pick; m < eo.n_mods; m++)
            if (m == pick || (section && eo.mods[m]->train && eo.mods[m]->train->section &&
                              !strcmp(eo.mods[m]->train->section, section))) {
                eo.mods[kept] = eo.mods[m];
                eo.summaries[kept++] = eo.summaries[m];
            }
        for (int k = 0; k < 2 && extra[0]; k++) /* after the model drawn: the build's models 1 and 2 */
            if (extra[k] != eo.mods[0] && (k == 0 || extra[1] != extra[0])) eo.mods[kept++] = extra[k];
        eo.n_mods = kept;
    }

    /* 3. Passes on every graph of every module. A --check-numerics build
     * fuses nothing: a fused chain keeps its intermediates in registers,
     * where a relu would hide the NaN of the log before it. */
    int dump_ir = o.emit && !strcmp(o.emit, "ir");
    static const char *const unfused[] = {"fuse", "epilogue", NULL};
    for (int m = 0; m < eo.n_mods; m++) {
        ir_module *mod = eo.mods[m];
        for (int k = 0; k < 3 + mod->n_bodies; k++) {
            /* the three graphs, then the loop bodies (ops_scan.h) */
            ir_graph *gk = k == 0 ? mod->forward : k == 1 ? mod->eval_step : k == 2 ? mod->train_step : mod->bodies[k - 3];
            if (!gk) continue;
            if (dump_ir && o.after) printf("# %s.%s after %s\n", mod->name, gk->name, o.after);
            if (passes_run_skipping(gk, o.check_numerics ? unfused : NULL, dump_ir ? o.after : NULL, stdout,
                                    o.verify) != 0) {
                diag_fatal_noloc(&d, "internal error: the IR verifier failed after a pass (see above)");
                goto done;
            }
        }
        if (dump_ir && !o.after) ir_print_module(stdout, eo.mods[m]);
    }
    if (dump_ir) {
        status = 0;
        goto done;
    }
    if (o.export) {
        o.deploy.model = o.model, o.deploy.checkpoint = o.run_opt.checkpoint, o.deploy.output = o.output;
        status = deploy_run(eo.mods, eo.n_mods, o.input, &o.deploy, &d);
        goto done;
    }
    if (o.run == 3) {
        emit_options so = {.header_name = "model.h", .source_name = o.input, .check_numerics = o.check_numerics};
        status = search_cmd_run(eo.mods, eo.n_mods, &so, &o.jit, &o.run_opt, &o.search, &d);
        goto done;
    }

    /* 4. Emit C, then write it, print it, or build and run it. */
    const char *c_path = o.output ? o.output : default_output(&ar, o.input);
    const char *h_path = header_path(&ar, c_path);
    struct stat out_st;
    size_t c_path_len = strlen(c_path);
    if (!o.run && !o.emit && (c_path_len == 0 || c_path[c_path_len - 1] == '/' ||
                              (stat(c_path, &out_st) == 0 && S_ISDIR(out_st.st_mode)))) {
        /* caught before anything is written: the header would land as DIR/.h beside a failing .c */
        fprintf(stderr, "dlnc: error: -o %s: a directory, not a file\nhint: name the C file, e.g. -o %s%smodel.c\n", c_path,
                c_path, c_path_len && c_path[c_path_len - 1] == '/' ? "" : "/");
        status = 2;
        goto done;
    }
    const char *h_name = o.run ? "model.h" : base_name(h_path);
    char *c_text = NULL, *h_text = NULL;
    size_t c_len = 0, h_len = 0;
    emit_options eopt = {.header_name = h_name, .source_name = o.input, .check_numerics = o.check_numerics,
                         .profile = (o.run == 0 || o.run == 1) && o.jit.profile};
    int rc = emit_to_memory(eo.mods, eo.n_mods, &eopt, &d, &c_text, &c_len, &h_text, &h_len);
    if (rc != 0 || d.n_errors) {
        free(c_text);
        free(h_text);
        goto done;
    }
    if (o.run) {
        jit_module jm;
        if (jit_load(c_text, c_len, h_text, h_len, h_name, &o.jit, &jm) == 0) {
            status = o.run == 4                  ? run_explain(&jm, &o)
                     : o.run == 2                 ? run_sample(&jm, &o)
                     : eo.mods[0]->train->section ? run_steps(&jm, &o, eo.mods, eo.n_mods)
                                                  : run_training(&jm, &o);
            if (o.jit.profile && o.run == 1 && dl_prof_report(stdout) != 0) fprintf(stderr, "dlnc: no kernel ran\n");
            jit_unload(&jm);
        }
    } else if (o.emit) {
        fwrite(c_text, 1, c_len, stdout);
        status = 0;
    } else if (write_atomic(h_path, h_text, h_len, &d) == 0 && write_atomic(c_path, c_text, c_len, &d) == 0) {
        status = 0;
    }
    free(c_text);
    free(h_text);

done:
    arena_free(&ar);
    diag_free(&d);
    return d.n_errors && status == 0 ? 1 : status;
}
