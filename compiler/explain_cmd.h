/* explain_cmd.h — `dlnc explain`: attacks on a trained image classifier.
 * The one piece of compiling it needs is the gradient of the loss with
 * respect to the image; explain_input_grad_model adds, before elaboration, a
 * model that computes it (so autodiff derives it like any grad(y, x)), and
 * the runtime (runtime/explain.c) runs the attacks on it. */
#ifndef DLNC_EXPLAIN_CMD_H
#define DLNC_EXPLAIN_CMD_H
#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "dlnrt.h"
#include "elab.h"

/* No attack, eps 0.1, PGD: 10 steps, alpha 2.5 eps / steps, --count 8,
 * occlusion squares of 5 pixels. */
void explain_cmd_defaults(dl_explain_options *o);
/* If argv[*i] is --attack, --eps, --steps, --alpha, --random-start,
 * --curve, --map, --patch or --layer, takes it and its value (advancing *i) and returns 1; 0 for
 * another option; -1 after printing a usage error. */
int explain_cmd_option(int argc, char **argv, int *i, dl_explain_options *o);
/* Which model is attacked: `name` (--model) or the one with a train section
 * of its own; appends to prog the model "<it>_input_grad", the classifier
 * returning (logits, grad(cross_entropy(logits, label), image)) with the
 * same parameter names — with logit, "<it>_logit_grad" returning (logits,
 * grad(sum(pick(logits, label)), image)); with layer (Grad-CAM), "<it>_cam"
 * returning (logits, layer, grad(sum(pick(logits, label)), layer)), layer
 * being a value the body assigns — and returns its name; NULL after a
 * diagnostic. */
const char *explain_input_grad_model(arena *ar, ast_program *prog, const char *name, const char *input, int logit,
                                     const char *layer, diag_ctx *d);
/* The build's extra modules (after the classifier): extra[0] the
 * input-gradient model `ig`; extra[1] a step of `section` (the data of a
 * model trained in a section with steps), else extra[0] again. */
void explain_cmd_modules(const elab_output *eo, const char *ig, const char *section, ir_module *extra[2]);
/* Runs the attack or draws the map (data: the classifier, for its train section's test
 * images; ig: the input-gradient model); prints errors; the exit status. */
int explain_cmd_run(const dl_model_api *data, const dl_model_api *ig, const dl_explain_options *o, int verbose);

#endif
