"""stranger8.py — the eighth round of course models written from docs/language.md alone
(section `stranger`), each one training step's loss and every gradient against a float64
PyTorch twin with the same weights, as stranger6.py's rows. Vision: a DenseNet block with its
transition (`dense_block`, `transition`), GoogLeNet's Inception module (`inception`), CBAM
(channel attention from average and max pooling through one shared MLP, spatial attention from
the channel max and mean), an FPN top-down path (lateral 1x1 convolutions, nearest upsampling,
three heads), SegNet's max-unpooling by the pooling indices with a per-pixel cross-entropy,
CenterNet's heatmap focal loss and YOLOv1's loss (the responsible predictor by IoU; coordinate,
object, no-object and class terms; `/ N`, the run-time batch size, divides a tensor since this
round). Generative: Gated PixelCNN (vertical and horizontal stacks from padded, shifted
convolutions, gated tanh x sigmoid), MADE's masked dense layers with a Gaussian likelihood, an
energy-based model trained on Langevin samples (`grad` of the energy with respect to its input),
denoising score matching with the score as that gradient (second order), MAML (the inner SGD
step from `grad` of the parameters, the outer loss through the adapted weights: second order),
StyleGAN's AdaIN, and the generator steps of Pix2Pix (a frozen PatchGAN and L1), CycleGAN (two
generators, two frozen discriminators, cycle and identity losses) and InfoGAN (the Q head's
categorical mutual-information term). Graphs: a graph autoencoder (GCN encoder, inner-product
decoder, positive and negative edges), GraphSAGE with the mean and the pooling (max)
aggregators, an MPNN with edge features, and DiffPool's soft assignment with its link and
entropy losses."""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from stranger6 import _bn, _check, _conv, _t

D = torch.float64

DNET_DLN = """
model dnet(image: f32[N, 4, 8, 8]) -> f32[N, 3] {
    h = conv2d(image, 6, kernel = 3, pad = 1, use_bias = false, name = "stem")
    h = dense_block(h, 2, 4)                 # 6 + 2 * 4 = 14 channels
    h = transition(h, 7)                     # f32[N, 7, 4, 4]
    h = relu(batch_norm(h, name = "final_bn"))
    return dense(global_avg_pool(h), 3)
}
train dnet {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


INCEP_DLN = """
model incep(image: f32[N, 4, 6, 6]) -> f32[N, 3] {
    h = inception(image, 2, 2, 3, 1, 2, 2)      # 2 + 3 + 2 + 2 = 9 channels
    return dense(global_avg_pool(h), 3)
}
train incep {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


CBAM_DLN = """
block channel_gate(x: f32[N, C, H, W], r: int) -> f32[N, C, H, W] {
    a = dense(relu(dense(mean(x, axis = [2, 3]), C / r, name = "fc1")), C, name = "fc2")
    m = dense(relu(dense(max(x, axis = [2, 3]), C / r, name = "fc1")), C, name = "fc2")
    return x * reshape(sigmoid(a + m), [N, C, 1, 1])
}
block spatial_gate(x: f32[N, C, H, W]) -> f32[N, C, H, W] {
    s = concat([max(x, axis = 1, keepdims = true), mean(x, axis = 1, keepdims = true)], axis = 1)
    return x * sigmoid(conv2d(s, 1, kernel = 7, pad = 3, use_bias = false, name = "conv"))
}
model cbam(image: f32[N, 3, 6, 6]) -> f32[N, 3] {
    x = relu(conv2d(image, 8, kernel = 3, pad = 1, name = "stem"))
    x = channel_gate(x, 4, name = "ca")
    x = spatial_gate(x, name = "sa")
    return dense(global_avg_pool(x), 3)
}
train cbam {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


FPN_DLN = """
model fpn(image: f32[N, 3, 16, 16]) -> (p2: f32[N, 6, 8, 8], p3: f32[N, 6, 4, 4], p4: f32[N, 6, 2, 2]) {
    c2 = relu(conv2d(image, 4, kernel = 3, stride = 2, pad = 1, name = "c2"))     # 8x8
    c3 = relu(conv2d(c2, 8, kernel = 3, stride = 2, pad = 1, name = "c3"))        # 4x4
    c4 = relu(conv2d(c3, 8, kernel = 3, stride = 2, pad = 1, name = "c4"))        # 2x2
    l4 = conv2d(c4, 6, kernel = 1, name = "lat4")
    l3 = conv2d(c3, 6, kernel = 1, name = "lat3") + upsample(l4, scale = 2)
    l2 = conv2d(c2, 6, kernel = 1, name = "lat2") + upsample(l3, scale = 2)
    return conv2d(l2, 6, kernel = 3, pad = 1, name = "out2"), conv2d(l3, 6, kernel = 3, pad = 1, name = "out3"),
           conv2d(l4, 6, kernel = 3, pad = 1, name = "out4")
}
train fpn {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mean(p2 ** 2) + mean(p3 ** 2) + mean(abs(p4))
    optim = sgd(lr = 0.1)
}
"""


SEGNET_DLN = """
model segnet(features: f32[N, 256]) -> (logits: f32[N, 8, 8, 4], target: i32[N, 8, 8]) {
    image = reshape(features[:, 0:192], [N, 3, 8, 8])
    h = relu(conv2d(image, 6, kernel = 3, pad = 1, name = "enc"))
    p, idx = max_pool2d_with_indices(h, 2)
    h = relu(conv2d(p, 6, kernel = 3, pad = 1, name = "mid"))
    out = conv2d(max_unpool2d(h, idx, 8), 4, kernel = 3, pad = 1, name = "dec")
    return transpose(out, [0, 2, 3, 1]), cast_i32(reshape(features[:, 192:], [N, 8, 8]))
}
train segnet {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = cross_entropy(logits, target)
    optim = sgd(lr = 0.1)
}
"""


CENTER_DLN = """
block heatmap_focal(logits: f32[N, K, H, W], gt: f32[N, K, H, W]) -> f32[] {
    p = clamp(sigmoid(logits), min = 1e-4, max = 1.0 - 1e-4)
    pos = gt == 1.0
    pos_loss = pos * (1.0 - p) ** 2 * log(p)
    neg_loss = (1.0 - pos) * (1.0 - gt) ** 4 * p ** 2 * log(1.0 - p)
    return -(sum(pos_loss) + sum(neg_loss)) / maximum(sum(pos), 1.0)
}
model center(image: f32[N, 3, 8, 8]) -> f32[N, 2, 8, 8] {
    h = relu(conv2d(image, 8, kernel = 3, pad = 1, name = "backbone"))
    return conv2d(h, 2, kernel = 1, name = "heatmap")
}
train center {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = heatmap_focal(output, label)
    optim = sgd(lr = 0.1)
}
"""


YOLO_DLN = """
block iou_cxcywh(a: f32, b: f32) -> f32 {
    ax1 = a[:, :, :, 0] - a[:, :, :, 2] / 2.0
    ay1 = a[:, :, :, 1] - a[:, :, :, 3] / 2.0
    ax2 = a[:, :, :, 0] + a[:, :, :, 2] / 2.0
    ay2 = a[:, :, :, 1] + a[:, :, :, 3] / 2.0
    bx1 = b[:, :, :, 0] - b[:, :, :, 2] / 2.0
    by1 = b[:, :, :, 1] - b[:, :, :, 3] / 2.0
    bx2 = b[:, :, :, 0] + b[:, :, :, 2] / 2.0
    by2 = b[:, :, :, 1] + b[:, :, :, 3] / 2.0
    iw = relu(minimum(ax2, bx2) - maximum(ax1, bx1))
    ih = relu(minimum(ay2, by2) - maximum(ay1, by1))
    inter = iw * ih
    return inter / (abs((ax2 - ax1) * (ay2 - ay1)) + abs((bx2 - bx1) * (by2 - by1)) - inter + 1e-6)
}
block yolo_v1_loss(out: f32[N, S, S, 20], t: f32[N, S, S, 15]) -> f32[] {
    obj = t[:, :, :, 4]
    box1 = out[:, :, :, 0:4]
    box2 = out[:, :, :, 5:9]
    tbox = t[:, :, :, 0:4]
    r = stop_grad(iou_cxcywh(box2, tbox) > iou_cxcywh(box1, tbox))     # box 2 responsible
    rr = unsqueeze(r, 3)
    box = rr * box2 + (1.0 - rr) * box1
    conf = r * out[:, :, :, 9] + (1.0 - r) * out[:, :, :, 4]
    other = r * out[:, :, :, 4] + (1.0 - r) * out[:, :, :, 9]
    xy = sum((box[:, :, :, 0:2] - tbox[:, :, :, 0:2]) ** 2, axis = 3)
    wh = sum((sign(box[:, :, :, 2:4]) * sqrt(abs(box[:, :, :, 2:4]) + 1e-6) - sqrt(tbox[:, :, :, 2:4])) ** 2, axis = 3)
    coord = 5.0 * sum(obj * (xy + wh))
    objl = sum(obj * (conf - 1.0) ** 2)
    noobj = 0.5 * sum((1.0 - obj) * (out[:, :, :, 4] ** 2 + out[:, :, :, 9] ** 2)) + 0.5 * sum(obj * other ** 2)
    cls = sum(unsqueeze(obj, 3) * (out[:, :, :, 10:] - t[:, :, :, 5:]) ** 2)
    return (coord + objl + noobj + cls) / N
}
model yolo(image: f32[N, 1, 32, 32]) -> f32[N, 2, 2, 20] {
    h = relu(conv2d(image, 8, kernel = 3, stride = 2, pad = 1, name = "c1"))
    h = relu(conv2d(h, 8, kernel = 3, stride = 2, pad = 1, name = "c2"))
    h = maxpool(h, 4)
    return transpose(conv2d(h, 20, kernel = 1, name = "head"), [0, 2, 3, 1])
}
train yolo {
    data  = detection_canvas(canvas = 32, grid = 2, objects = (1, 2), batch = 4)
    loss  = yolo_v1_loss(output, grid_target)
    optim = sgd(lr = 0.1)
}
"""


GPIX_DLN = """
block gate(x: f32[N, C, H, W]) -> f32 {
    a, b = chunk(x, 2, axis = 1)
    return tanh(a) * sigmoid(b)
}
block gated_layer(v: f32[N, C, H, W], h: f32[N, C, H, W], first: bool) -> (f32, f32) {
    vc = conv2d(pad(v, [1, 1, 1, 0]), 2 * C, kernel = (2, 3), name = "vconv")      # rows above and this row
    vs = pad(vc, [0, 0, 1, 0])[:, :, 0:H]                                              # shifted down: strictly above
    if first {
        hc = conv2d(pad(h, [1, 0, 0, 0]), 2 * C, kernel = (1, 1), name = "hconv")    # the left pixel only (mask A)
    } else {
        hc = conv2d(pad(h, [1, 0, 0, 0]), 2 * C, kernel = (1, 2), name = "hconv")     # left pixel and itself
    }
    hc = hc[:, :, :, 0:W] + conv2d(vs, 2 * C, kernel = 1, name = "v2h")
    hout = conv2d(gate(hc), C, kernel = 1, name = "hout")
    if not first {
        hout = hout + h
    }
    return gate(vc[:, :, 0:H]), hout
}
model gpix(image: f32[N, 1, 6, 6]) -> f32[N, 4, 6, 6] {
    x = conv2d(image, 4, kernel = 1, use_bias = false, name = "embed")
    v, h = gated_layer(x, x, true, name = "l0")
    v, h = gated_layer(v, h, false, name = "l1")
    return conv2d(relu(h), 4, kernel = 1, name = "logits")
}
train gpix {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = cross_entropy(transpose(output, [0, 2, 3, 1]), cast_i32(minimum(floor(image[:, 0] * 4.0), 3.0)))
    optim = sgd(lr = 0.1)
}
"""


MADE_DLN = """
model made(x: f32[N, 4]) -> f32[N] {
    D = 4
    din = arange(1, D + 1)                                   # input degrees 1..4
    mh = arange(8) % (D - 1) + 1.0                           # hidden degrees 1..3
    m1 = reshape(mh, [8, 1]) >= reshape(din, [1, D])        # hidden k sees inputs d <= m_k
    m2 = reshape(din, [D, 1]) > reshape(mh, [1, 8])         # output d sees hidden m_k < d
    param w1: f32[8, 4] = he_uniform()
    param b1: f32[8] = zeros
    param wm: f32[4, 8] = he_uniform()
    param bm: f32[4] = zeros
    param ws: f32[4, 8] = he_uniform()
    param bs: f32[4] = zeros
    h = relu(x @ transpose(w1 * m1) + b1)
    mu = h @ transpose(wm * m2) + bm
    logstd = h @ transpose(ws * m2) + bs
    return sum(0.5 * ((x - mu) * exp(-logstd)) ** 2 + logstd + 0.5 * log(2.0 * 3.141592653589793), axis = 1)
}
train made {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = adam(lr = 1e-3)
}
"""


EBM_DLN = """
block energy(x: f32[N, 2]) -> f32[N] {
    return squeeze(dense(softplus(dense(x, 16, name = "l1")), 1, name = "l2"), 1)
}
model ebm(features: f32[N, 6]) -> f32[N] {
    x = features[:, 0:2]                 # data
    x0 = features[:, 2:4]                # where the chain starts
    z = features[:, 4:6]                 # Langevin noise
    e = energy(x0, name = "E")
    x1 = stop_grad(x0 - 0.05 * grad(sum(e), x0) + 0.01 * z)        # one Langevin step
    e1 = energy(x1, name = "E")
    x2 = stop_grad(x1 - 0.05 * grad(sum(e1), x1) + 0.01 * z)
    pos = energy(x, name = "E")
    neg = energy(x2, name = "E")
    return pos - neg + 0.1 * (pos ** 2 + neg ** 2)
}
train ebm {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


DSM_DLN = """
block energy(x: f32[N, 2]) -> f32[N] {
    return squeeze(dense(softplus(dense(x, 16, name = "l1")), 1, name = "l2"), 1)
}
model dsm(features: f32[N, 4]) -> f32[N] {
    sigma = 0.3
    x = features[:, 0:2]
    noise = features[:, 2:4]
    xt = x + sigma * noise
    score = -grad(sum(energy(xt, name = "E")), xt)                  # s(x~) = -dE/dx~
    return 0.5 * sum((sigma * score + noise) ** 2, axis = 1)        # sigma^2 |s + noise / sigma|^2 / 2
}
train dsm {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


MAML_DLN = """
block net(x: f32[N, 1], w1: f32[16, 1], b1: f32[16], w2: f32[1, 16], b2: f32[1]) -> f32[N, 1] {
    return relu(x @ transpose(w1) + b1) @ transpose(w2) + b2
}
model maml(features: f32[N, 4]) -> f32[N] {
    xs = features[:, 0:1]
    ys = features[:, 1:2]
    xq = features[:, 2:3]
    yq = features[:, 3:4]
    param w1: f32[16, 1] = he_uniform()
    param b1: f32[16] = zeros
    param w2: f32[1, 16] = he_uniform()
    param b2: f32[1] = zeros
    inner = mean((net(xs, w1, b1, w2, b2) - ys) ** 2)
    a = 0.1
    f1 = w1 - a * grad(inner, w1)
    f2 = b1 - a * grad(inner, b1)
    f3 = w2 - a * grad(inner, w2)
    f4 = b2 - a * grad(inner, b2)
    return squeeze((net(xq, f1, f2, f3, f4) - yq) ** 2, 1)
}
train maml {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = adam(lr = 1e-3)
}
"""


ADAIN_DLN = """
block adain(x: f32[N, C, H, W], w: f32[N, D]) -> f32[N, C, H, W] {
    s = dense(w, 2 * C, name = "style")
    scale = reshape(s[:, 0:C], [N, C, 1, 1])
    bias = reshape(s[:, C:], [N, C, 1, 1])
    return (1.0 + scale) * instance_norm(x) + bias
}
model adain_gen(z: f32[N, 8]) -> f32[N, 3, 8, 8] {
    w = z |> dense(8, name = "map1") |> leaky_relu(0.2) |> dense(8, name = "map2") |> leaky_relu(0.2)
    param const: f32[1, 4, 4, 4] = ones
    h = adain(expand(const, [N, 4, 4, 4]), w, name = "ada0")
    h = upsample(h, scale = 2)
    h = leaky_relu(conv2d(h, 4, kernel = 3, pad = 1, name = "conv1"), 0.2)
    h = adain(h, w, name = "ada1")
    return conv2d(h, 3, kernel = 1, name = "to_rgb")
}
train adain_gen {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


GAE_DLN = """
model gae(features: f32[N, 68]) -> f32[N] {
    x = reshape(features[:, 0:30], [N, 6, 5])
    src = cast_i32(features[:, 30:42])                        # 12 directed edges (6 undirected)
    dst = cast_i32(features[:, 42:54])
    neg_src = cast_i32(features[:, 54:61])                    # 7 node pairs without an edge
    neg_dst = cast_i32(features[:, 61:68])
    z = relu(gcn_conv(x, src, dst, 8, name = "conv1"))
    z = gcn_conv(z, src, dst, 4, name = "conv2")
    pos = sum(gather_nodes(z, src) * gather_nodes(z, dst), axis = 2)         # inner-product decoder
    neg = sum(gather_nodes(z, neg_src) * gather_nodes(z, neg_dst), axis = 2)
    return mean(softplus(-pos), axis = 1) + mean(softplus(neg), axis = 1)    # BCE with logits: 1 and 0
}
train gae {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


SAGE_DLN = """
block sage_max(x: f32[N, V, F], src: i32[N, E], dst: i32[N, E], out: int) -> f32[N, V, out] {
    m = relu(dense(gather_nodes(x, src), F, name = "pool"))                        # GraphSAGE-pool
    agg = scatter_max(m, expand(unsqueeze(dst, 2), [N, E, F]), V, axis = 1)
    return dense(agg, out, name = "lin_l") + dense(x, out, use_bias = false, name = "lin_r")
}
model sage(features: f32[N, V, 5], src: i32[N, E], dst: i32[N, E]) -> f32[N, V, 3] {
    h = relu(sage_conv(features, src, dst, 8, name = "mean1"))
    h = relu(sage_max(h, src, dst, 8, name = "max2"))
    return dense(h, 3)
}
train sage {
    data  = sbm(nodes = 40, classes = 3, features = 5, train_per_class = 2, val = 4, test = 4)
    loss  = cross_entropy(output, label, mask = mask)
    optim = sgd(lr = 0.1)
}
"""


MPNN_DLN = """
model mpnn(features: f32[N, 70]) -> f32[N, 2] {
    x = reshape(features[:, 0:30], [N, 6, 5])                 # 6 nodes of 5 features
    src = cast_i32(features[:, 30:38])                        # 8 directed edges
    dst = cast_i32(features[:, 38:46])
    edge_attr = reshape(features[:, 46:70], [N, 8, 3])        # 3 features per edge
    h = relu(dense(x, 8, name = "embed"))
    repeat 2 {
        m = relu(dense(concat([gather_nodes(h, src), gather_nodes(h, dst), edge_attr], axis = 2), 8, name = "msg"))
        h = relu(dense(concat([h, scatter_nodes(m, dst, 6)], axis = 2), 8, name = "upd"))
    }
    return dense(mean(h, axis = 1), 2, name = "readout")
}
train mpnn {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


DIFFPOOL_DLN = """
block dense_gcn(x: f32[N, V, F], adj: f32[N, V, V], out: int) -> f32[N, V, out] {
    return dense(adj @ x, out, name = "lin") + dense(x, out, use_bias = false, name = "root")
}
model diffpool(features: f32[N, 66]) -> (logits: f32[N, 3], link: f32[N], ent: f32[N]) {
    x = reshape(features[:, 0:30], [N, 6, 5])
    adj = reshape(features[:, 30:], [N, 6, 6])
    z = relu(dense_gcn(x, adj, 8, name = "embed"))
    s = softmax(dense_gcn(x, adj, 2, name = "assign"), axis = -1)       # f32[N, 6, 2]
    x2 = transpose(s) @ z                                                     # f32[N, 2, 8]
    a2 = transpose(s) @ adj @ s                                               # f32[N, 2, 2]
    h = relu(dense_gcn(x2, a2, 8, name = "gcn2"))
    link = sqrt(sum((adj - s @ transpose(s)) ** 2, axis = [1, 2]))
    ent = mean(sum(-s * log(s + 1e-15), axis = 2), axis = 1)
    return dense(mean(h, axis = 1), 3, name = "cls"), link / 36.0, ent
}
train diffpool {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(logits, label) + mean(link) + mean(ent)
    optim = sgd(lr = 0.1)
}
"""


P2P_DLN = """
block patch_d(x: f32[N, C, H, W]) -> f32 {
    h = leaky_relu(conv2d(x, 8, kernel = 4, stride = 2, pad = 1), 0.2)
    h = leaky_relu(batch_norm(conv2d(h, 16, kernel = 4, stride = 2, pad = 1, use_bias = false)), 0.2)
    return conv2d(h, 1, kernel = 3, pad = 1)                       # one logit per 2x2 patch
}
block gen(x: f32[N, 3, 8, 8]) -> f32[N, 3, 8, 8] {
    skip = leaky_relu(conv2d(x, 8, kernel = 3, pad = 1), 0.2)
    h = relu(conv2d(skip, 8, kernel = 4, stride = 2, pad = 1))
    h = relu(conv_transpose2d(h, 8, kernel = 4, stride = 2, pad = 1))
    return tanh(conv2d(concat([h, skip], axis = 1), 3, kernel = 3, pad = 1))
}
model p2p(features: f32[N, 6, 8, 8]) -> (d: f32[N, 1, 2, 2], err: f32[N, 3, 8, 8]) {
    src = features[:, 0:3]
    fake = gen(src, name = "gen")
    return patch_d(concat([src, fake], axis = 1), name = "disc"), fake - features[:, 3:6]
}
train p2p {
    data   = csv("unused.csv", batch = 4, classify = false)
    loss   = bce_with_logits(d, ones_like(d)) + 100.0 * mean(abs(err))
    optim  = adam(lr = 2e-4, betas = (0.5, 0.999))
    freeze = ["disc."]
}
"""


CYCLE_DLN = """
block gen(x: f32[N, 3, 8, 8]) -> f32[N, 3, 8, 8] {
    h = relu(instance_norm(conv2d(x, 8, kernel = 3, pad = 1)))
    return tanh(conv2d(h, 3, kernel = 3, pad = 1))
}
block disc(x: f32[N, 3, 8, 8]) -> f32 {
    h = leaky_relu(conv2d(x, 8, kernel = 4, stride = 2, pad = 1), 0.2)
    return conv2d(h, 1, kernel = 3, pad = 1)
}
model cycle(features: f32[N, 6, 8, 8]) -> f32[N] {
    a = features[:, 0:3]
    b = features[:, 3:6]
    fake_b = gen(a, name = "g_ab")
    fake_a = gen(b, name = "g_ba")
    adv = mean((disc(fake_b, name = "d_b") - 1.0) ** 2, axis = [1, 2, 3]) + mean((disc(fake_a, name = "d_a") - 1.0) ** 2, axis = [1, 2, 3])
    cyc = mean(abs(gen(fake_b, name = "g_ba") - a), axis = [1, 2, 3]) + mean(abs(gen(fake_a, name = "g_ab") - b), axis = [1, 2, 3])
    idt = mean(abs(gen(b, name = "g_ab") - b), axis = [1, 2, 3]) + mean(abs(gen(a, name = "g_ba") - a), axis = [1, 2, 3])
    return adv + 10.0 * cyc + 5.0 * idt
}
train cycle {
    data   = csv("unused.csv", batch = 4, classify = false)
    loss   = mean(output)
    optim  = adam(lr = 2e-4, betas = (0.5, 0.999))
    freeze = ["d_a.", "d_b."]
}
"""


INFO_DLN = """
block trunk(x: f32[N, 16]) -> f32[N, 8] {
    return leaky_relu(dense(x, 8), 0.2)
}
model info(features: f32[N, 5]) -> (d: f32[N, 1], q: f32[N, 3], code: i32[N]) {
    code = cast_i32(features[:, 4])
    g = tanh(dense(relu(dense(concat([features[:, 0:4], one_hot(code, 3)], axis = 1), 16, name = "g1")), 16, name = "g2"))
    t = trunk(g, name = "disc")
    return dense(t, 1, name = "disc_head"), dense(t, 3, name = "q_head"), code
}
train info {
    data   = csv("unused.csv", batch = 8, classify = false)
    loss   = bce_with_logits(d, ones_like(d)) + cross_entropy(q, code)
    optim  = adam(lr = 2e-4, betas = (0.5, 0.999))
    freeze = ["disc.", "disc_head."]
}
"""



def _lin(x, p, k, bias=True):
    return F.linear(x, p[k + ".weight"], p[k + ".bias"] if bias else None)


def _cbr(x, p, pre, **kw):
    """stdlib conv_bn_relu: a conv without bias, batch norm, ReLU."""
    return F.relu(_bn(F.conv2d(x, p[pre + ".conv2d0.weight"], **kw), p, pre + ".batch_norm0"))


def dnet_loss(p, x, y):
    h = F.conv2d(x, p["stem.weight"], padding=1)
    for i in range(2):                                           # torch.cat([h, layer(h)], 1), DenseNet's growth
        new = F.conv2d(F.relu(_bn(h, p, f"dense_block0.batch_norm{i}")), p[f"dense_block0.conv2d{i}.weight"], padding=1)
        h = torch.cat([h, new], 1)
    h = F.conv2d(F.relu(_bn(h, p, "transition0.batch_norm0")), p["transition0.conv2d0.weight"])
    h = F.relu(_bn(F.avg_pool2d(h, 2), p, "final_bn"))
    return F.cross_entropy(_lin(h.mean((2, 3)), p, "dense0"), y)


def incep_loss(p, x, y):
    i = "inception0.conv_bn_relu"
    b1 = _cbr(x, p, i + "0")
    b2 = _cbr(_cbr(x, p, i + "1"), p, i + "2", padding=1)
    b3 = _cbr(_cbr(x, p, i + "3"), p, i + "4", padding=2)
    b4 = _cbr(F.max_pool2d(x, 3, 1, 1), p, i + "5")
    return F.cross_entropy(_lin(torch.cat([b1, b2, b3, b4], 1).mean((2, 3)), p, "dense0"), y)


def cbam_loss(p, x, y):
    x = F.relu(_conv(x, p, "stem", padding=1))

    def fc(v):                                                   # the MLP shared by both poolings
        return _lin(F.relu(_lin(v, p, "ca.fc1")), p, "ca.fc2")
    x = x * torch.sigmoid(fc(x.mean((2, 3))) + fc(x.amax((2, 3))))[:, :, None, None]
    s = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
    x = x * torch.sigmoid(F.conv2d(s, p["sa.conv.weight"], padding=3))
    return F.cross_entropy(_lin(x.mean((2, 3)), p, "dense0"), y)


def _fpn_batch():
    x = np.random.default_rng(90).standard_normal((4, 3, 16, 16)).astype(np.float32)

    def loss(p):
        c2 = F.relu(_conv(_t(x), p, "c2", stride=2, padding=1))
        c3 = F.relu(_conv(c2, p, "c3", stride=2, padding=1))
        c4 = F.relu(_conv(c3, p, "c4", stride=2, padding=1))
        l4 = _conv(c4, p, "lat4")
        l3 = _conv(c3, p, "lat3") + F.interpolate(l4, scale_factor=2, mode="nearest")
        l2 = _conv(c2, p, "lat2") + F.interpolate(l3, scale_factor=2, mode="nearest")
        o2, o3, o4 = (_conv(v, p, f"out{k}", padding=1) for v, k in ((l2, 2), (l3, 3), (l4, 4)))
        return (o2 ** 2).mean() + (o3 ** 2).mean() + o4.abs().mean()
    return [x], 4, (), loss


def _segnet_batch():
    rng = np.random.default_rng(91)
    f = np.concatenate([rng.standard_normal((4, 192)), rng.integers(0, 4, size=(4, 64))], 1).astype(np.float32)

    def loss(p):
        img, t = _t(f[:, :192]).reshape(4, 3, 8, 8), torch.from_numpy(f[:, 192:]).long().reshape(4, 8, 8)
        h = F.relu(_conv(img, p, "enc", padding=1))
        h, idx = F.max_pool2d(h, 2, return_indices=True)
        h = F.relu(_conv(h, p, "mid", padding=1))
        out = _conv(F.max_unpool2d(h, idx, 2, output_size=(8, 8)), p, "dec", padding=1)
        return F.cross_entropy(out, t)                           # classes on axis 1 in torch
    return [f], 4, (), loss


def _center_batch():
    rng = np.random.default_rng(92)
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    yy, xx = np.mgrid[0:8, 0:8]
    gt = np.zeros((4, 2, 8, 8), np.float32)
    for n, k, cy, cx in ((0, 0, 2, 3), (0, 1, 5, 5), (1, 0, 6, 1), (2, 1, 3, 3), (2, 1, 1, 6), (3, 0, 4, 4)):
        gt[n, k] = np.maximum(gt[n, k], np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 2.0))   # a Gaussian, 1 at the centre

    def loss(p):
        out = _conv(F.relu(_conv(_t(x), p, "backbone", padding=1)), p, "heatmap")
        g = _t(gt)
        q = torch.sigmoid(out).clamp(1e-4, 1 - 1e-4)
        pos = (g == 1).double()
        pos_loss = pos * (1 - q) ** 2 * torch.log(q)
        neg_loss = (1 - pos) * (1 - g) ** 4 * q ** 2 * torch.log(1 - q)
        return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1)
    return [x, gt], 4, (), loss


def _iou(a, b):
    a1, a2 = a[..., :2] - a[..., 2:4] / 2, a[..., :2] + a[..., 2:4] / 2
    b1, b2 = b[..., :2] - b[..., 2:4] / 2, b[..., :2] + b[..., 2:4] / 2
    wh = F.relu(torch.minimum(a2, b2) - torch.maximum(a1, b1))
    inter = wh[..., 0] * wh[..., 1]
    area = lambda u, v: ((v - u)[..., 0] * (v - u)[..., 1]).abs()   # noqa: E731
    return inter / (area(a1, a2) + area(b1, b2) - inter + 1e-6)


def _yolo_batch():
    rng = np.random.default_rng(93)
    x = rng.random((4, 1, 32, 32)).astype(np.float32)
    t = np.zeros((4, 2, 2, 15), np.float32)
    for n, r, c in ((0, 0, 0), (0, 1, 1), (1, 0, 1), (2, 1, 0), (3, 0, 0), (3, 1, 1), (3, 0, 1)):
        t[n, r, c, :4] = [rng.random(), rng.random(), 0.2 + 0.6 * rng.random(), 0.2 + 0.6 * rng.random()]
        t[n, r, c, 4] = 1.0
        t[n, r, c, 5 + rng.integers(0, 10)] = 1.0

    def loss(p):
        h = F.relu(_conv(_t(x), p, "c1", stride=2, padding=1))
        h = F.max_pool2d(F.relu(_conv(h, p, "c2", stride=2, padding=1)), 4)
        out = _conv(h, p, "head").permute(0, 2, 3, 1)
        tt = _t(t)
        obj, tbox = tt[..., 4], tt[..., :4]
        r = (_iou(out[..., 5:9], tbox) > _iou(out[..., 0:4], tbox)).double()      # the responsible predictor
        box = r[..., None] * out[..., 5:9] + (1 - r[..., None]) * out[..., 0:4]
        conf = r * out[..., 9] + (1 - r) * out[..., 4]
        other = r * out[..., 4] + (1 - r) * out[..., 9]
        xy = ((box[..., :2] - tbox[..., :2]) ** 2).sum(-1)
        wh = ((torch.sign(box[..., 2:4]) * torch.sqrt(box[..., 2:4].abs() + 1e-6) - torch.sqrt(tbox[..., 2:4])) ** 2).sum(-1)
        total = (5.0 * (obj * (xy + wh)).sum() + (obj * (conf - 1) ** 2).sum()
                 + 0.5 * ((1 - obj) * (out[..., 4] ** 2 + out[..., 9] ** 2)).sum() + 0.5 * (obj * other ** 2).sum()
                 + (obj[..., None] * (out[..., 10:] - tt[..., 5:]) ** 2).sum())
        return total / out.shape[0]
    return [x, t], 4, (), loss


def _gate(v):
    a, b = v.chunk(2, 1)
    return torch.tanh(a) * torch.sigmoid(b)


def _gated_layer(p, v, h, pre, first):
    """Gated PixelCNN (van den Oord et al. 2016): the vertical stack sees the rows above (shifted
    down before it feeds the horizontal one), the horizontal stack the pixels to the left."""
    H, W = v.shape[2:]
    vc = _conv(F.pad(v, (1, 1, 1, 0)), p, pre + "vconv")                  # kernel (2, 3)
    vs = F.pad(vc, (0, 0, 1, 0))[:, :, :H]
    hc = _conv(F.pad(h, (1, 0, 0, 0)), p, pre + "hconv")[..., :W]          # (1, 1) shifted or (1, 2)
    hc = hc + _conv(vs, p, pre + "v2h")
    hout = _conv(_gate(hc), p, pre + "hout")
    return _gate(vc), hout if first else hout + h


def _gpix_batch():
    x = np.random.default_rng(94).random((4, 1, 6, 6)).astype(np.float32)

    def loss(p):
        img = _t(x)
        e = F.conv2d(img, p["embed.weight"])
        v, h = _gated_layer(p, e, e, "l0.", True)
        v, h = _gated_layer(p, v, h, "l1.", False)
        out = _conv(F.relu(h), p, "logits")
        target = torch.floor(img[:, 0] * 4).clamp(max=3).long()
        return F.cross_entropy(out, target)
    return [x, np.zeros((4, 4, 6, 6), np.float32)], 4, (), loss      # y: the simple API's, unused


def _made_batch():
    x = np.random.default_rng(95).standard_normal((8, 4)).astype(np.float32)

    def loss(p):
        din, mh = torch.arange(1, 5, dtype=D), torch.arange(8, dtype=D) % 3 + 1
        m1, m2 = (mh[:, None] >= din[None]).double(), (din[:, None] > mh[None]).double()
        xt = _t(x)
        h = F.relu(F.linear(xt, p["w1"] * m1, p["b1"]))
        mu, logstd = F.linear(h, p["wm"] * m2, p["bm"]), F.linear(h, p["ws"] * m2, p["bs"])
        return -torch.distributions.Normal(mu, logstd.exp()).log_prob(xt).sum(1).mean()
    return [x, np.zeros(8, np.float32)], 8, (), loss


def _energy(p, x):
    return F.linear(F.softplus(_lin(x, p, "E.l1")), p["E.l2.weight"], p["E.l2.bias"]).squeeze(1)


def _ebm_batch():
    f = np.random.default_rng(96).standard_normal((8, 6)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        x, z = ft[:, :2], ft[:, 4:6]
        xk = ft[:, 2:4]
        for _ in range(2):                                            # Langevin, the chain not differentiated
            xk = xk.clone().requires_grad_(True)
            g, = torch.autograd.grad(_energy(p, xk).sum(), xk, create_graph=True)
            xk = (xk - 0.05 * g + 0.01 * z).detach()
        pos, neg = _energy(p, x), _energy(p, xk)
        return (pos - neg + 0.1 * (pos ** 2 + neg ** 2)).mean()
    return [f, np.zeros(8, np.float32)], 8, (), loss


def _dsm_batch():
    f = np.random.default_rng(97).standard_normal((8, 4)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        noise = ft[:, 2:4]
        xt = (ft[:, :2] + 0.3 * noise).requires_grad_(True)
        g, = torch.autograd.grad(_energy(p, xt).sum(), xt, create_graph=True)
        return (0.5 * ((0.3 * -g + noise) ** 2).sum(1)).mean()
    return [f, np.zeros(8, np.float32)], 8, (), loss


def _maml_batch():
    rng = np.random.default_rng(98)
    xs, xq = rng.uniform(-3, 3, (8, 1)), rng.uniform(-3, 3, (8, 1))
    f = np.concatenate([xs, np.sin(xs + 0.5), xq, np.sin(xq + 0.5)], 1).astype(np.float32)

    def loss(p):
        ft = _t(f)
        w = [p["w1"], p["b1"], p["w2"], p["b2"]]

        def net(x, w1, b1, w2, b2):
            return F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)
        inner = ((net(ft[:, 0:1], *w) - ft[:, 1:2]) ** 2).mean()
        g = torch.autograd.grad(inner, w, create_graph=True)            # second order, as MAML
        fast = [wi - 0.1 * gi for wi, gi in zip(w, g)]
        return ((net(ft[:, 2:3], *fast) - ft[:, 3:4]) ** 2).mean()
    return [f, np.zeros(8, np.float32)], 8, (), loss


def _adain_batch():
    rng = np.random.default_rng(99)
    z = rng.standard_normal((4, 8)).astype(np.float32)
    target = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)

    def loss(p):
        def adain(x, w, pre):                                      # StyleGAN's AdaIN: a scale and bias per channel
            C, s = x.shape[1], _lin(w, p, pre + ".style")
            return (1 + s[:, :C, None, None]) * F.instance_norm(x, eps=1e-5) + s[:, C:, None, None]
        w = F.leaky_relu(_lin(F.leaky_relu(_lin(_t(z), p, "map1"), 0.2), p, "map2"), 0.2)
        h = adain(p["const"].expand(4, 4, 4, 4), w, "ada0")
        h = F.leaky_relu(_conv(F.interpolate(h, scale_factor=2), p, "conv1", padding=1), 0.2)
        return F.mse_loss(_conv(adain(h, w, "ada1"), p, "to_rgb"), _t(target))
    return [z, target], 4, (), loss


def _gather_nodes(x, idx):
    return x.gather(1, idx[:, :, None].expand(-1, -1, x.shape[2]))


def _scatter_nodes(m, idx, V):
    return torch.zeros(m.shape[0], V, m.shape[2], dtype=D).scatter_add(1, idx[:, :, None].expand_as(m), m)


def _gcn(x, src, dst, W, b):
    """GCNConv on a batch of graphs (the docs' `gcn`, per graph)."""
    deg = torch.zeros(x.shape[:2], dtype=D).scatter_add(1, dst, torch.ones(dst.shape, dtype=D)) + 1
    dis = deg.pow(-0.5)
    h = x @ W.t()
    msg = _gather_nodes(h, src) * (dis.gather(1, src) * dis.gather(1, dst))[:, :, None]
    return _scatter_nodes(msg, dst, x.shape[1]) + h * (dis * dis)[:, :, None] + b


def _gae_batch():
    rng = np.random.default_rng(100)
    rows = []
    for _ in range(4):
        perm = rng.permutation(6)
        und = [(perm[i], perm[(i + 1) % 6]) for i in range(6)]               # a ring of 6 nodes, relabelled
        src = [a for a, b in und] + [b for a, b in und]
        dst = [b for a, b in und] + [a for a, b in und]
        edges = set(zip(src, dst))
        non = [(a, b) for a in range(6) for b in range(6) if a != b and (a, b) not in edges]
        neg = [non[i] for i in rng.choice(len(non), 7, replace=False)]
        rows.append(np.concatenate([rng.standard_normal(30), src, dst, [a for a, b in neg], [b for a, b in neg]]))
    f = np.array(rows, np.float32)

    def loss(p):
        ft = _t(f)
        x = ft[:, :30].reshape(4, 6, 5)
        src, dst, ns, nd = (torch.from_numpy(f[:, a:b]).long() for a, b in ((30, 42), (42, 54), (54, 61), (61, 68)))
        z = F.relu(_gcn(x, src, dst, p["conv1.lin.weight"], p["conv1.bias"]))
        z = _gcn(z, src, dst, p["conv2.lin.weight"], p["conv2.bias"])
        pos = (_gather_nodes(z, src) * _gather_nodes(z, dst)).sum(2)
        neg = (_gather_nodes(z, ns) * _gather_nodes(z, nd)).sum(2)
        return (F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos), reduction="none").mean(1)
                + F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg), reduction="none").mean(1)).mean()
    return [f, np.zeros(4, np.float32)], 4, (), loss


def _sage_batch():
    rng = np.random.default_rng(101)
    V, pairs = 9, [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 4), (7, 8), (1, 7), (2, 5)]
    src = np.array([[a for u, v in pairs for a in (u, v)] + [3]], dtype=np.int32)       # node 8 has two edges in,
    dst = np.array([[b for u, v in pairs for b in (v, u)] + [8]], dtype=np.int32)       # one of them one-way
    feat = rng.standard_normal((1, V, 5)).astype(np.float32)
    label = rng.integers(0, 3, size=(1, V)).astype(np.int32)
    mask = (rng.random((1, V)) < 0.6).astype(np.float32)
    mask[0, 0] = 1.0

    def loss(p):
        x, s, d = _t(feat), torch.from_numpy(src).long(), torch.from_numpy(dst).long()
        deg = torch.zeros(1, V, dtype=D).scatter_add(1, d, torch.ones(d.shape, dtype=D)).clamp(min=1)
        mean_nb = _scatter_nodes(_gather_nodes(x, s), d, V) / deg[:, :, None]
        h = F.relu(_lin(mean_nb, p, "mean1.lin_l") + F.linear(x, p["mean1.lin_r.weight"]))
        m = F.relu(_lin(_gather_nodes(h, s), p, "max2.pool"))
        agg = torch.zeros(1, V, m.shape[2], dtype=D).scatter_reduce(1, d[:, :, None].expand_as(m), m, "amax",
                                                                     include_self=False)
        h = F.relu(_lin(agg, p, "max2.lin_l") + F.linear(h, p["max2.lin_r.weight"]))
        logits = _lin(h, p, "dense0")
        lm = _t(mask)[0]
        nll = F.cross_entropy(logits[0], torch.from_numpy(label[0]).long(), reduction="none")
        return (nll * lm).sum() / lm.sum()
    return [feat, src, dst, label, mask], 1, (V, src.shape[1]), loss


def _mpnn_batch():
    rng = np.random.default_rng(102)
    f = np.concatenate([rng.standard_normal((4, 30)), rng.integers(0, 6, size=(4, 16)),
                        rng.standard_normal((4, 24))], 1).astype(np.float32)
    y = rng.standard_normal((4, 2)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        x, e = ft[:, :30].reshape(4, 6, 5), ft[:, 46:].reshape(4, 8, 3)
        src, dst = torch.from_numpy(f[:, 30:38]).long(), torch.from_numpy(f[:, 38:46]).long()
        h = F.relu(_lin(x, p, "embed"))
        for _ in range(2):
            m = F.relu(_lin(torch.cat([_gather_nodes(h, src), _gather_nodes(h, dst), e], 2), p, "msg"))
            h = F.relu(_lin(torch.cat([h, _scatter_nodes(m, dst, 6)], 2), p, "upd"))
        return F.mse_loss(_lin(h.mean(1), p, "readout"), _t(y))
    return [f, y], 4, (), loss


def _diffpool_batch():
    rng = np.random.default_rng(103)
    a = np.triu((rng.random((8, 6, 6)) < 0.4).astype(np.float32), 1)
    f = np.concatenate([rng.standard_normal((8, 30)), (a + a.transpose(0, 2, 1)).reshape(8, 36)], 1).astype(np.float32)
    y = rng.integers(0, 3, size=8).astype(np.int32)

    def loss(p):
        ft = _t(f)
        x, adj = ft[:, :30].reshape(8, 6, 5), ft[:, 30:].reshape(8, 6, 6)

        def gcn(v, a_, pre):
            return _lin(a_ @ v, p, pre + ".lin") + F.linear(v, p[pre + ".root.weight"])
        z = F.relu(gcn(x, adj, "embed"))
        s = torch.softmax(gcn(x, adj, "assign"), -1)
        x2, a2 = s.transpose(1, 2) @ z, s.transpose(1, 2) @ adj @ s
        h = F.relu(gcn(x2, a2, "gcn2"))
        link = torch.sqrt(((adj - s @ s.transpose(1, 2)) ** 2).sum((1, 2))) / 36.0
        ent = (-s * torch.log(s + 1e-15)).sum(2).mean(1)
        return F.cross_entropy(_lin(h.mean(1), p, "cls"), torch.from_numpy(y).long()) + link.mean() + ent.mean()
    return [f, y], 8, (), loss


def _p2p_batch():
    f = np.random.default_rng(104).standard_normal((4, 6, 8, 8)).astype(np.float32)

    def loss(q):
        ft = _t(f)
        src = ft[:, :3]
        skip = F.leaky_relu(_conv(src, q, "gen.conv2d0", padding=1), 0.2)
        h = F.relu(_conv(skip, q, "gen.conv2d1", stride=2, padding=1))
        h = F.relu(F.conv_transpose2d(h, q["gen.conv_transpose2d0.weight"], q["gen.conv_transpose2d0.bias"], stride=2, padding=1))
        fake = torch.tanh(_conv(torch.cat([h, skip], 1), q, "gen.conv2d2", padding=1))
        d = F.leaky_relu(_conv(torch.cat([src, fake], 1), q, "disc.conv2d0", stride=2, padding=1), 0.2)
        d = F.leaky_relu(_bn(F.conv2d(d, q["disc.conv2d1.weight"], stride=2, padding=1), q, "disc.batch_norm0"), 0.2)
        d = _conv(d, q, "disc.conv2d2", padding=1)                        # PatchGAN: a logit per patch
        return F.binary_cross_entropy_with_logits(d, torch.ones_like(d)) + 100.0 * (fake - ft[:, 3:]).abs().mean()
    return [f], 4, (), loss


def _cycle_batch():
    f = np.random.default_rng(105).standard_normal((4, 6, 8, 8)).astype(np.float32)

    def loss(q):
        ft = _t(f)
        a, b = ft[:, :3], ft[:, 3:]

        def gen(x, pre):
            h = F.relu(F.instance_norm(_conv(x, q, pre + ".conv2d0", padding=1), eps=1e-5))
            return torch.tanh(_conv(h, q, pre + ".conv2d1", padding=1))

        def disc(x, pre):
            return _conv(F.leaky_relu(_conv(x, q, pre + ".conv2d0", stride=2, padding=1), 0.2), q, pre + ".conv2d1", padding=1)
        fake_b, fake_a = gen(a, "g_ab"), gen(b, "g_ba")
        m = lambda v: v.mean((1, 2, 3))                                   # noqa: E731
        adv = m((disc(fake_b, "d_b") - 1) ** 2) + m((disc(fake_a, "d_a") - 1) ** 2)
        cyc = m((gen(fake_b, "g_ba") - a).abs()) + m((gen(fake_a, "g_ab") - b).abs())
        idt = m((gen(b, "g_ab") - b).abs()) + m((gen(a, "g_ba") - a).abs())
        return (adv + 10.0 * cyc + 5.0 * idt).mean()
    return [f, np.zeros(4, np.float32)], 4, (), loss


def _info_batch():
    rng = np.random.default_rng(106)
    f = np.concatenate([rng.standard_normal((8, 4)), rng.integers(0, 3, size=(8, 1))], 1).astype(np.float32)

    def loss(q):
        ft = _t(f)
        code = torch.from_numpy(f[:, 4]).long()
        g = torch.cat([ft[:, :4], F.one_hot(code, 3).double()], 1)
        g = torch.tanh(_lin(F.relu(_lin(g, q, "g1")), q, "g2"))
        t = F.leaky_relu(_lin(g, q, "disc.dense0"), 0.2)
        d, qlog = _lin(t, q, "disc_head"), _lin(t, q, "q_head")
        return F.binary_cross_entropy_with_logits(d, torch.ones_like(d)) + F.cross_entropy(qlog, code)
    return [f], 8, (), loss


NEG_DLN = """
model neg(features: f32[N, V, 2], src: i32[N, E], dst: i32[N, E]) -> (neg: i32[N, E], shifted: i32[N, E], frac: f32[N, E]) {
    return randint(src, V), randint(dst, 3, V), cast_f32(src) / V      # negative nodes: a run-time bound
}
"""


def _randint_dim(build):
    """randint(like, V) with V a graph's run-time node count (GAE's negative sampling) draws every
    node in [0, V), randint(like, 3, V) in [3, V), and a tensor divided by V is src / V."""
    import ctypes
    so, err = build.compile_dln(NEG_DLN, "neg")
    if so is None:
        return dict(case=S.Desc("neg: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
    lib = S.load_lib(so)
    lib.neg_create.restype, lib.neg_create.argtypes = ctypes.c_void_p, [ctypes.c_int64] * 3
    lib.neg_forward.restype, lib.neg_forward.argtypes = None, [ctypes.c_void_p] * 7 + [ctypes.c_int64] * 3
    lib.neg_free.argtypes = [ctypes.c_void_p]
    V, E = 7, 4000
    m = lib.neg_create(1, 16, E)
    feat = np.zeros((1, V, 2), np.float32)
    src = np.random.default_rng(107).integers(0, V, size=(1, E)).astype(np.int32)
    neg, shifted, frac = np.zeros((1, E), np.int32), np.zeros((1, E), np.int32), np.zeros((1, E), np.float32)
    lib.neg_forward(m, feat.ctypes.data, src.ctypes.data, src.ctypes.data, neg.ctypes.data, shifted.ctypes.data,
                    frac.ctypes.data, 1, V, E)
    lib.neg_free(m)
    counts, counts3 = np.bincount(neg[0], minlength=V), np.bincount(shifted[0], minlength=V)
    bad = (int(neg.min() < 0 or neg.max() >= V or shifted.min() < 3 or shifted.max() >= V)
           + int(counts.min() < 0.8 * E / V or counts3[3:].min() < 0.8 * E / (V - 3))
           + int(np.sum(frac != src.astype(np.float32) / np.float32(V))))
    return dict(case=S.Desc("neg: randint(x, V) and randint(x, 3, V) at a run-time V, x / V"), fwd=float(bad),
                grad=None, ok=bad == 0, detail=None if bad == 0 else f"{counts} {counts3} {frac[0, :8]}")


LANG_DLN = """
block energy(x: f32[N, 2]) -> f32[N] {
    return squeeze(dense(softplus(dense(x, 16, name = "l1")), 1, name = "l2"), 1)
}
model lang(x0: f32[N, 2]) -> f32[N, 2] {
    x = x0
    repeat 5 {
        x = x - 0.1 * grad(sum(energy(x, name = "E")), x)        # Langevin without its noise: comparable
    }
    return x
}
"""


def _langevin(build):
    """Langevin sampling in the forward (inference, no train section): five steps down the
    energy's input gradient, against the same steps in torch."""
    import ctypes
    so, err = build.compile_dln(LANG_DLN, "lang")
    if so is None:
        return dict(case=S.Desc("lang: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
    lib = S.load_lib(so)
    m = S.General(lib, "lang", (8,))
    p = S.draw_params(m, 140)
    lib.lang_forward.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int64]
    x0 = np.random.default_rng(108).standard_normal((8, 2)).astype(np.float32)
    out = np.zeros((8, 2), np.float32)
    lib.lang_forward(m.m, x0.ctypes.data, out.ctypes.data, 8)
    m.close()
    x = _t(x0)
    for _ in range(5):
        x = x.detach().requires_grad_(True)
        g, = torch.autograd.grad(_energy(p, x).sum(), x)
        x = x - 0.1 * g
    e = S.rel_err(out, x.detach().numpy())
    return dict(case=S.Desc("lang: five Langevin steps (grad of the energy) in the forward"), fwd=e, grad=None,
                ok=e <= S.LOSS_TOL, detail=None if e <= S.LOSS_TOL else f"{out[:2]} vs {x[:2]}")


PERN_DLN = """
model pern(x: f32[N, 4]) -> f32[N, 2] {
    return dense(tanh(dense(x, 6)), 2)
}
train pern {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = sum((output - label) ** 2) / N                  # per sample: N is the batch's size at run time
    optim = sgd(lr = 0.1)
}
"""


def _pern_batch():
    rng = np.random.default_rng(109)
    x, y = rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((5, 2)).astype(np.float32)

    def loss(p):
        out = _lin(torch.tanh(_lin(_t(x), p, "dense0")), p, "dense1")
        return ((out - _t(y)) ** 2).sum() / 5                  # a batch of 5 below the bound 8
    return [x, y], 5, (), loss


def run(build):
    return [_randint_dim(build), _langevin(build), _check(build, "dnet", DNET_DLN, 110, lambda: S.classes_batch(120, (8, 4, 8, 8), 3, dnet_loss)),
            _check(build, "incep", INCEP_DLN, 111, lambda: S.classes_batch(121, (8, 4, 6, 6), 3, incep_loss)),
            _check(build, "cbam", CBAM_DLN, 112, lambda: S.classes_batch(122, (8, 3, 6, 6), 3, cbam_loss)),
            _check(build, "fpn", FPN_DLN, 113, _fpn_batch),
            _check(build, "segnet", SEGNET_DLN, 114, _segnet_batch),
            _check(build, "center", CENTER_DLN, 115, _center_batch),
            _check(build, "yolo", YOLO_DLN, 116, _yolo_batch),
            _check(build, "pern", PERN_DLN, 141, _pern_batch),
            _check(build, "gpix", GPIX_DLN, 117, _gpix_batch),
            _check(build, "made", MADE_DLN, 118, _made_batch),
            _check(build, "ebm", EBM_DLN, 119, _ebm_batch),
            _check(build, "dsm", DSM_DLN, 130, _dsm_batch),
            _check(build, "maml", MAML_DLN, 131, _maml_batch),
            _check(build, "adain_gen", ADAIN_DLN, 132, _adain_batch),
            _check(build, "gae", GAE_DLN, 133, _gae_batch),
            S._check(build, "sage", SAGE_DLN, (1, 9, 21), 134, _sage_batch),
            _check(build, "mpnn", MPNN_DLN, 135, _mpnn_batch),
            _check(build, "diffpool", DIFFPOOL_DLN, 136, _diffpool_batch),
            _check(build, "p2p", P2P_DLN, 137, _p2p_batch, frozen=True),
            _check(build, "cycle", CYCLE_DLN, 138, _cycle_batch, frozen=True),
            _check(build, "info", INFO_DLN, 139, _info_batch, frozen=True)]


if __name__ == "__main__":                         # one file alone: python3 stranger8.py BUILD [NAME...]
    import sys
    import harness
    b = harness.Build(sys.argv[1] if len(sys.argv) > 1 else "build")
    torch.set_num_threads(2)
    for r in run(b):
        print(("ok  " if r["ok"] else "FAIL"), r["case"].text, r["fwd"], r["grad"], r["detail"] or "")
