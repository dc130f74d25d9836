/* deploy_int8.c — `dlnc export --int8 --calibrate N`: post-training
 * quantization of the matrix products and convolutions.
 *
 * Each conv2d or matmul whose weight is a parameter used by it alone gets:
 *   - int8 weights, symmetric per output channel (a conv's output channel, a
 *     dense layer's output unit): scale_c = max |w_c| / 127, q = round(w / scale_c);
 *   - a per-tensor activation scale for its input, calibrated on the first N
 *     training images of the model's train section: xscale = max |x| / 127
 *     over them (the reference interpreter runs the forward, 100 at a time);
 * and the exported kernel computes sum(q_x * q_w) in int32 and multiplies by
 * xscale * scale_c (the .int8.c pieces of compiler/deploy_rt). Everything else (bias,
 * batch norm's shift, activations, pooling) stays float. The weight's float
 * copy is replaced by a NaN placeholder of one float, so the int8 data is
 * all that is stored, and a read of the placeholder by any other path would
 * show as NaN in the output instead of as a quietly wrong number. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "dlnrt.h"
#include "interp.h"
#include "train.h"

#define CHUNK 100 /* images per interpreter run */

static int64_t numel(const ir_shape *s) { return ir_shape_numel(s).k; }

/* The product or convolution at node n, if its weight can be quantized; fills t. */
static int candidate(const ir_node *n, deploy_qtensor *t)
{
    const ir_node *w = n->nin > 1 ? n->in[1] : NULL;
    if (!w || w->op != OP_param || w->n_uses != 1 || w->dtype != IR_F32) return 0;
    if (n->op == OP_conv2d) {
        t->channels = w->shape.d[0].k, t->rows = 1;
    } else if (n->op == OP_matmul && w->shape.rank == 2 && n->in[0]->shape.rank == 2) {
        t->rows = n->a.i[1] != 0; /* W^T: a unit is a row of W; W: a column */
        t->channels = w->shape.d[t->rows ? 0 : 1].k;
    } else {
        return 0;
    }
    t->param = (int)w->a.i[0];
    t->node = n->id;
    return 1;
}

/* The first n training images of m's train section (an MNIST-format source). */
static float *calibration_images(const ir_module *m, int64_t n, int64_t per, diag_ctx *d)
{
    const dl_data_config *dc = m->train ? &m->train->cfg.data : NULL;
    if (!dc || !dc->kind || (strcmp(dc->kind, "fashion_mnist") && strcmp(dc->kind, "mnist"))) {
        diag_fatal_noloc(d, "%s: --calibrate reads the training images of a fashion_mnist or mnist train section, "
                         "which this model has not", m->name);
        return NULL;
    }
    dl_dataset ds;
    if (dl_load_mnist_dir(dc->path, "train", &ds) != 0) {
        diag_fatal_noloc(d, "%s", dl_last_error());
        return NULL;
    }
    float *x = NULL;
    if (ds.x_numel != per || ds.n < n)
        diag_fatal_noloc(d, "%s: --calibrate %lld: the training set has %lld images of %lld values; the model takes %lld",
                         m->name, (long long)n, (long long)ds.n, (long long)ds.x_numel, (long long)per);
    else if ((x = malloc(sizeof(float) * (size_t)(n * per))) != NULL)
        memcpy(x, ds.x, sizeof(float) * (size_t)(n * per));
    dl_dataset_free(&ds);
    return x;
}

/* xscale of every tensor: max |input| over the images, by the interpreter. */
static int calibrate(ir_module *m, float **params, deploy_quant *q, int64_t count, diag_ctx *d)
{
    const ir_graph *g = m->forward;
    const int64_t per = numel(&g->inputs[0].shape);
    float *img = calibration_images(m, count, per, d);
    if (!img) return -1;
    double **pd = calloc((size_t)m->n_params + 1, sizeof *pd), *x = malloc(sizeof(double) * (size_t)(CHUNK * per));
    double *amax = calloc((size_t)q->n + 1, sizeof *amax);
    int rc = pd && x && amax ? 0 : -1;
    for (int i = 0; rc == 0 && i < m->n_params; i++) {
        int64_t n = numel(&m->params[i].shape);
        if (!(pd[i] = malloc(sizeof(double) * (size_t)(n + 1)))) rc = -1;
        for (int64_t j = 0; rc == 0 && j < n; j++) pd[i][j] = params[i][j];
    }
    for (int64_t at = 0; rc == 0 && at < count; at += CHUNK) {
        int64_t nb = count - at < CHUNK ? count - at : CHUNK, syms[IR_MAX_SYMS] = {nb};
        for (int64_t j = 0; j < nb * per; j++) x[j] = img[at * per + j];
        interp_state s;
        double *const inputs[1] = {x};
        if (interp_run(&s, g, syms, inputs, pd, 0) != 0) {
            diag_fatal_noloc(d, "%s: internal error: the reference interpreter cannot run the forward", m->name);
            rc = -1;
            break;
        }
        for (int k = 0; k < q->n; k++) {
            const ir_node *n = NULL;
            for (int i = 0; i < g->n_nodes && !n; i++)
                if (g->nodes[i]->id == q->t[k].node) n = g->nodes[i];
            const double *v = s.value[n->in[0]->id];
            for (int64_t j = 0; j < interp_numel(&s, n->in[0]); j++)
                if (fabs(v[j]) > amax[k]) amax[k] = fabs(v[j]);
        }
        interp_free(&s);
    }
    for (int k = 0; rc == 0 && k < q->n; k++) q->t[k].xscale = amax[k] > 0 ? (float)(amax[k] / 127.0) : 1.0f;
    for (int i = 0; pd && i < m->n_params; i++) free(pd[i]);
    free(pd), free(x), free(amax), free(img);
    return rc;
}

int deploy_int8(ir_module *m, float **params, int64_t calibrate_n, deploy_quant *q, diag_ctx *d)
{
    ir_graph *g = m->forward;
    ir_count_uses(g);
    q->t = ARENA_NEW_ARRAY(m->ar, deploy_qtensor, g->n_nodes + 1);
    q->n = 0;
    for (int i = 0; i < g->n_nodes; i++) q->n += candidate(g->nodes[i], &q->t[q->n]);
    if (q->n == 0) {
        diag_fatal_noloc(d, "%s: --int8: the forward has no dense layer or convolution to quantize", m->name);
        return -1;
    }
    if (calibrate(m, params, q, calibrate_n, d) != 0) return -1;
    for (int k = 0; k < q->n; k++) {
        deploy_qtensor *t = &q->t[k];
        ir_param *p = &m->params[t->param];
        const int64_t n = numel(&p->shape), per = n / t->channels;
        const float *w = params[t->param];
        t->numel = n;
        t->q = ARENA_NEW_ARRAY(m->ar, int8_t, n);
        t->scale = ARENA_NEW_ARRAY(m->ar, float, t->channels);
        for (int64_t c = 0; c < t->channels; c++) {
            float mx = 0;
            for (int64_t j = 0; j < per; j++) {
                float v = fabsf(w[t->rows ? c * per + j : j * t->channels + c]);
                mx = v > mx ? v : mx;
            }
            t->scale[c] = mx > 0 ? mx / 127.0f : 1.0f;
        }
        for (int64_t j = 0; j < n; j++) {
            const int64_t c = t->rows ? j / per : j % t->channels;
            t->q[j] = (int8_t)lrintf(fmaxf(-127.0f, fminf(127.0f, w[j] / t->scale[c])));
        }
        /* the float copy: one NaN (see the header) */
        p->shape = (ir_shape){.rank = 1, .d = {{1, 0}}};
        params[t->param] = ARENA_NEW_ARRAY(m->ar, float, 1);
        params[t->param][0] = NAN;
    }
    return 0;
}
