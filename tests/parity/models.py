"""models.py — whole models against PyTorch: MLP, LeNet-5, ResNet-20, and the
recurrent layers of stdlib/recurrent.dln (LSTM, GRU, RNN; bidirectional,
stacked, variable-length sequences as packed sequences, final states).

For each model a .dln file and an nn.Module whose state_dict names are dlnc's
parameter names (dense0.weight, conv0.weight, batch_norm0.running_mean, ...).
PyTorch initializes the weights, writes them as safetensors, and the generated
code loads that file through the runtime (<model>_load), so both start from
the same bits. Then, on the same batches:

  1. eval-mode logits (forward) and loss (eval_step) — tolerance 1e-5; the
     logits again for partial batches (1 and batch-1 samples in a model
     created for batch);
  2. training-mode loss and every parameter gradient of the first
     train_step — tolerance 1e-4 (gradients), 1e-5 (loss);
  3. 20 training steps with the model's optimizer on fresh batches; after the
     last one, every parameter and buffer (batch-norm running statistics) and
     the eval-mode logits — tolerance 1e-4 of each tensor's scale.

The reference runs in float64, so what is measured is dlnc's float32 error.

Why the 20-step tolerance is max(1e-4, 4 x e32), where e32 is how far
PyTorch's own float32 run of the same 20 steps (same weights, batches and
optimizer) ends up from the float64 run: a ReLU network sees ~10^6
pre-activations per step, so every few steps one lies within float32
rounding of zero and flips between the two precisions. A flip changes that
step's gradient by ~1e-3, and training then amplifies the difference
exponentially (ResNet-20 with batch norm over 4 samples reaches O(1) parameter
differences in 20 steps — in PyTorch float32 vs float64 just as in dlnc).
So the exact trajectory is not reproducible by any float32 implementation,
and the meaningful statement is "dlnc stays as close to the exact trajectory
as PyTorch's float32 does" (factor 4 for the randomness of which element
flips first). Where no flip happens (MLP, LeNet-5 here), e32 is ~1e-6 and
the bound is 1e-4: per-step differences of ~1e-7 add up over 20 steps of
SGD with momentum to ~1e-6, far below it, while a real mismatch (a wrong
gradient or update rule) gives 1e-2..1. The first step's gradients, where
no amplification has happened, are held to the strict 1e-4.

Even the 4 x e32 bound is a coin flip for ResNet-20 (batch norm over 4
samples): a change of summation order alone (the flipped-kernel data
gradient) moved its free-running error from 1e-2 to 3.3 against a bound of
2.3. So models in TEACHER_FORCED are checked step by step instead, each step
starting from dlnc's own state (_teacher_forced_steps): every step's loss,
gradients and updated state at the strict tolerances, with nothing to amplify
(and a flip inside one step resolved by retrying that step's reference with
one near-zero ReLU decision reversed: see _teacher_forced_steps).

Models whose ops have not landed in dlnc yet (conv, pooling) are reported as
skipped ("not available yet") when their .dln does not compile for that
reason, and fail for any other compile error.
"""
import copy
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from harness import Model, load_lib, rel_err, st_read, st_write

FWD_TOL, GRAD_TOL, TRAIN_TOL = 1e-5, 1e-4, 1e-4
STEPS = 20
# Models whose free-running 20-step trajectory is chaotic in float32 (batch
# norm over 4 samples): their steps are compared teacher-forced instead.
TEACHER_FORCED = {"resnet20"}


def _train(name, batch, optim):
    return (f"train {name} {{\n    data = csv(\"/dev/null\", batch = {batch}, classify = true)\n"
            f"    loss = cross_entropy(output, label)\n    optim = {optim}\n    epochs = 1\n}}\n")


# ---- MLP (samples/mlp.dln's shape) ------------------------------------------------------
MLP_DLN = """model mlp(x: f32[N, 1, 28, 28]) -> f32[N, 10] {
    h = flatten(x)
    h = dense(h, 512) |> relu
    h = dense(h, 256) |> relu
    return dense(h, 10)
}
""" + _train("mlp", 16, "sgd(lr = 0.05, momentum = 0.9, weight_decay = 1e-4)")


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense0, self.dense1, self.dense2 = nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)

    def forward(self, x):
        h = F.relu(self.dense0(x.flatten(1)))
        return self.dense2(F.relu(self.dense1(h)))


# ---- MLP with batch normalization (train/eval mode, running statistics) ------------------
MLP_BN_DLN = """model mlp_bn(x: f32[N, 1, 28, 28]) -> f32[N, 10] {
    h = flatten(x)
    h = dense(h, 64) |> batch_norm1d |> relu
    h = dense(h, 32) |> batch_norm1d(momentum = 0.3) |> relu
    return dense(h, 10)
}
""" + _train("mlp_bn", 16, "sgd(lr = 0.05, momentum = 0.9)")


class MLPBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense0, self.dense1, self.dense2 = nn.Linear(784, 64), nn.Linear(64, 32), nn.Linear(32, 10)
        self.batch_norm1d0, self.batch_norm1d1 = nn.BatchNorm1d(64), nn.BatchNorm1d(32, momentum=0.3)

    def forward(self, x):
        h = F.relu(self.batch_norm1d0(self.dense0(x.flatten(1))))
        return self.dense2(F.relu(self.batch_norm1d1(self.dense1(h))))


# ---- LeNet-5 (samples/lenet5.dln, plus batch norm and an average pool) ----------------------
LENET_DLN = """model lenet(x: f32[N, 1, 28, 28]) -> f32[N, 10] {
    h = conv2d(x, 6, kernel = 5, pad = 2) |> batch_norm |> relu |> maxpool(2)
    h = conv2d(h, 16, kernel = 5) |> relu |> avgpool(2)
    h = flatten(h) |> dense(120) |> relu |> dense(84) |> relu
    return dense(h, 10)
}
""" + _train("lenet", 8, "sgd(lr = 0.05, momentum = 0.9)")


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv2d0 = nn.Conv2d(1, 6, 5, padding=2)
        self.batch_norm0 = nn.BatchNorm2d(6)
        self.conv2d1 = nn.Conv2d(6, 16, 5)
        self.dense0, self.dense1, self.dense2 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.batch_norm0(self.conv2d0(x))), 2)
        h = F.avg_pool2d(F.relu(self.conv2d1(h)), 2).flatten(1)
        return self.dense2(F.relu(self.dense1(F.relu(self.dense0(h)))))


# ---- ResNet-20 (samples/resnet20.dln; 3 channels, 16x16 to keep the suite fast —
# ---- MobileNetV2's inverted residuals, small: every batch norm's input is a
# convolution's output (a 1x1, a depthwise 3x3, the stem's 3x3), so its
# statistics come from the convolution's kernel (pass_bstats); odd channel
# counts and planes (9x9, 5x5) that are no multiple of a vector ----------------
MBV2_DLN = """block inverted_residual(x: f32[N, C, H, W], out: int, stride: int = 1) -> f32 {
    h = conv2d(x, C * 6, 1, use_bias = false) |> batch_norm |> relu6
    h = conv2d(h, C * 6, 3, stride = stride, pad = 1, groups = C * 6, use_bias = false) |> batch_norm |> relu6
    h = conv2d(h, out, 1, use_bias = false) |> batch_norm
    if stride == 1 and out == C {
        h = h + x
    }
    return h
}

model mbv2(x: f32[N, 3, 9, 9]) -> f32[N, 10] {
    h = conv2d(x, 5, 3, pad = 1, use_bias = false) |> batch_norm |> relu6
    h = h |> inverted_residual(5) |> inverted_residual(7, stride = 2)
    return global_avg_pool(h) |> dense(10)
}
""" + _train("mbv2", 6, "sgd(lr = 0.05, momentum = 0.9)")


class InvertedResidual(nn.Module):
    def __init__(self, cin, out, stride):
        super().__init__()
        e = cin * 6
        self.conv2d0, self.batch_norm0 = nn.Conv2d(cin, e, 1, bias=False), nn.BatchNorm2d(e)
        self.conv2d1 = nn.Conv2d(e, e, 3, stride, 1, groups=e, bias=False)
        self.batch_norm1 = nn.BatchNorm2d(e)
        self.conv2d2, self.batch_norm2 = nn.Conv2d(e, out, 1, bias=False), nn.BatchNorm2d(out)
        self.res = stride == 1 and out == cin

    def forward(self, x):
        h = F.relu6(self.batch_norm0(self.conv2d0(x)))
        h = F.relu6(self.batch_norm1(self.conv2d1(h)))
        h = self.batch_norm2(self.conv2d2(h))
        return h + x if self.res else h


class MBV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv2d0, self.batch_norm0 = nn.Conv2d(3, 5, 3, 1, 1, bias=False), nn.BatchNorm2d(5)
        self.inverted_residual0, self.inverted_residual1 = InvertedResidual(5, 5, 1), InvertedResidual(5, 7, 2)
        self.dense0 = nn.Linear(7, 10)

    def forward(self, x):
        h = F.relu6(self.batch_norm0(self.conv2d0(x)))
        h = self.inverted_residual1(self.inverted_residual0(h))
        return self.dense0(h.mean(dim=(2, 3)))


# the architecture and every parameter shape are CIFAR ResNet-20's, global
# average pooling makes the spatial size irrelevant to the weights) ------------
RESNET_DLN = """block stage(x: f32[N, C, H, W], out: int, stride: int) -> f32 {
    h = basic_block(x, out, stride = stride)
    repeat 2 { h = basic_block(h, out) }
    return h
}

model resnet20(x: f32[N, 3, 16, 16]) -> f32[N, 10] {
    h = conv2d(x, 16, 3, pad = 1, use_bias = false) |> batch_norm |> relu
    h = h |> stage(16, 1) |> stage(32, 2) |> stage(64, 2)
    return global_avg_pool(h) |> dense(10)
}
""" + _train("resnet20", 4, "sgd(lr = 0.02, momentum = 0.9, weight_decay = 5e-4)")


class BasicBlock(nn.Module):
    """stdlib/blocks.dln's basic_block, with its parameter names."""

    def __init__(self, cin, out, stride):
        super().__init__()
        self.conv2d0 = nn.Conv2d(cin, out, 3, stride, 1, bias=False)
        self.batch_norm0 = nn.BatchNorm2d(out)
        self.conv2d1 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.batch_norm1 = nn.BatchNorm2d(out)
        self.proj = stride != 1 or cin != out
        if self.proj:
            self.shortcut = nn.Conv2d(cin, out, 1, stride, bias=False)
            self.shortcut_bn = nn.BatchNorm2d(out)

    def forward(self, x):
        h = F.relu(self.batch_norm0(self.conv2d0(x)))
        h = self.batch_norm1(self.conv2d1(h))
        s = self.shortcut_bn(self.shortcut(x)) if self.proj else x
        return F.relu(h + s)


class Stage(nn.Module):
    def __init__(self, cin, out, stride):
        super().__init__()
        self.basic_block0 = BasicBlock(cin, out, stride)
        self.basic_block1 = BasicBlock(out, out, 1)
        self.basic_block2 = BasicBlock(out, out, 1)

    def forward(self, x):
        return self.basic_block2(self.basic_block1(self.basic_block0(x)))


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv2d0 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.batch_norm0 = nn.BatchNorm2d(16)
        self.stage0, self.stage1, self.stage2 = Stage(16, 16, 1), Stage(16, 32, 2), Stage(32, 64, 2)
        self.dense0 = nn.Linear(64, 10)

    def forward(self, x):
        h = F.relu(self.batch_norm0(self.conv2d0(x)))
        h = self.stage2(self.stage1(self.stage0(h)))
        return self.dense0(h.mean(dim=(2, 3)))


# ---- recurrent layers (stdlib/recurrent.dln: rnn, lstm, gru, *_scan) --------------------
# Models take one f32[N, 1, T, F] input (an image's rows as the time steps),
# reshaped to [N, T, F] (batch_first). nn.RNN/nn.LSTM/nn.GRU held in an
# attribute named like dlnc's block instance (lstm0, gru0, ...) have dlnc's
# parameter names: lstm0.weight_ih_l0, ..., gru0.bias_hh_l0_reverse.

def _seq(x):
    return x.flatten(1, 2)  # [N, 1, T, F] -> [N, T, F]


LSTM2_DLN = """model lstm2(x: f32[N, 1, 6, 5]) -> f32[N, 10] {
    h = reshape(x, [-1, 6, 5]) |> lstm(8, layers = 2)
    return dense(h[:, 5, :], 10)
}
""" + _train("lstm2", 4, "sgd(lr = 0.1, momentum = 0.9)")


class LSTM2(nn.Module):
    """2-layer LSTM over the rows, classifier on the last step's output."""

    def __init__(self):
        super().__init__()
        self.lstm0 = nn.LSTM(5, 8, num_layers=2, batch_first=True)
        self.dense0 = nn.Linear(8, 10)

    def forward(self, x):
        y, _ = self.lstm0(_seq(x))
        return self.dense0(y[:, -1])


BIGRU_DLN = """model bigru(x: f32[N, 1, 7, 4]) -> f32[N, 10] {
    h = reshape(x, [-1, 7, 4]) |> gru(6, bidirectional = true)
    return dense(mean(h, axis = 1), 10)
}
""" + _train("bigru", 4, "adam(lr = 0.01)")


class BiGRU(nn.Module):
    """Bidirectional GRU, classifier on the mean of the outputs over time."""

    def __init__(self):
        super().__init__()
        self.gru0 = nn.GRU(4, 6, batch_first=True, bidirectional=True)
        self.dense0 = nn.Linear(12, 10)

    def forward(self, x):
        y, _ = self.gru0(_seq(x))
        return self.dense0(y.mean(dim=1))


RNN_RELU_DLN = """model rnn_relu(x: f32[N, 1, 5, 6]) -> f32[N, 10] {
    h = reshape(x, [-1, 5, 6]) |> rnn(8, layers = 2, bidirectional = true, dropout = 0.0, nonlinearity = "relu")
    return dense(flatten(h), 10)
}
""" + _train("rnn_relu", 4, "sgd(lr = 0.05, momentum = 0.9)")


class RNNReLU(nn.Module):
    """2-layer bidirectional Elman RNN with ReLU, classifier on all outputs."""

    def __init__(self):
        super().__init__()
        self.rnn0 = nn.RNN(6, 8, num_layers=2, nonlinearity="relu", batch_first=True, bidirectional=True, dropout=0.0)
        self.dense0 = nn.Linear(5 * 16, 10)

    def forward(self, x):
        y, _ = self.rnn0(_seq(x))
        return self.dense0(y.flatten(1))


# Variable lengths: column 0 of every step is 1.0 for a real step and 0.0 for
# padding (padding only at the end); the other columns of padded steps hold
# noise that must not matter. dlnc passes that column as `mask`; PyTorch packs
# the sequences with pack_padded_sequence and pads the outputs back with zeros.
def _masked_input(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    n, t = shape[0], shape[2]
    lengths = rng.integers(1, t + 1, size=n)
    lengths[0] = t  # one full-length sequence in every batch
    x[:, 0, :, 0] = (np.arange(t)[None, :] < lengths[:, None]).astype(np.float32)
    return x


def _packed(x):
    s = _seq(x)
    lengths = s[:, :, 0].sum(dim=1).round().long()
    return nn.utils.rnn.pack_padded_sequence(s, lengths, batch_first=True, enforce_sorted=False), s.shape[1]


LSTM_MASKED_DLN = """model lstm_masked(x: f32[N, 1, 7, 4]) -> f32[N, 10] {
    s = reshape(x, [-1, 7, 4])
    h = lstm(s, 5, layers = 2, bidirectional = true, mask = s[:, :, 0])
    return dense(flatten(h), 10)
}
""" + _train("lstm_masked", 4, "sgd(lr = 0.1, momentum = 0.9)")


class LSTMMasked(nn.Module):
    """2-layer bidirectional LSTM over packed variable-length sequences; the
    classifier sees every step's output, so padded outputs must be exact zeros."""

    def __init__(self):
        super().__init__()
        self.lstm0 = nn.LSTM(4, 5, num_layers=2, batch_first=True, bidirectional=True)
        self.dense0 = nn.Linear(7 * 10, 10)

    def forward(self, x):
        packed, t = _packed(x)
        y, _ = self.lstm0(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=t)
        return self.dense0(y.flatten(1))


# Final states: user blocks declaring nn.LSTM/GRU/RNN's parameters and calling
# lstm_scan / gru_scan / rnn_scan for (outputs, final states); the output is
# [h, c] of the LSTM, [h forward, h reverse] of a bidirectional GRU and h of an
# RNN, against PyTorch's h_n / c_n of packed sequences (the state after each
# sample's last real step).
STATES_DLN = """block lstm_state(x: f32[N, T, I], hidden: int, mask = 1.0) -> f32 {
    k = hidden ** -0.5
    param weight_ih_l0: f32[4 * hidden, I] = uniform(low = -k, high = k)
    param weight_hh_l0: f32[4 * hidden, hidden] = uniform(low = -k, high = k)
    param bias_ih_l0: f32[4 * hidden] = uniform(low = -k, high = k)
    param bias_hh_l0: f32[4 * hidden] = uniform(low = -k, high = k)
    _, h, c = lstm_scan(x, weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, mask = mask)
    return concat([h, c], axis = 1)
}

block bigru_state(x: f32[N, T, I], hidden: int, mask = 1.0) -> f32 {
    k = hidden ** -0.5
    param weight_ih_l0: f32[3 * hidden, I] = uniform(low = -k, high = k)
    param weight_hh_l0: f32[3 * hidden, hidden] = uniform(low = -k, high = k)
    param bias_ih_l0: f32[3 * hidden] = uniform(low = -k, high = k)
    param bias_hh_l0: f32[3 * hidden] = uniform(low = -k, high = k)
    param weight_ih_l0_reverse: f32[3 * hidden, I] = uniform(low = -k, high = k)
    param weight_hh_l0_reverse: f32[3 * hidden, hidden] = uniform(low = -k, high = k)
    param bias_ih_l0_reverse: f32[3 * hidden] = uniform(low = -k, high = k)
    param bias_hh_l0_reverse: f32[3 * hidden] = uniform(low = -k, high = k)
    _, hf = gru_scan(x, weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, mask = mask)
    _, hr = gru_scan(x, weight_ih_l0_reverse, weight_hh_l0_reverse, bias_ih_l0_reverse, bias_hh_l0_reverse,
                     mask = mask, reverse = true)
    return concat([hf, hr], axis = 1)
}

block rnn_state(x: f32[N, T, I], hidden: int, mask = 1.0) -> f32 {
    k = hidden ** -0.5
    param weight_ih_l0: f32[hidden, I] = uniform(low = -k, high = k)
    param weight_hh_l0: f32[hidden, hidden] = uniform(low = -k, high = k)
    param bias_ih_l0: f32[hidden] = uniform(low = -k, high = k)
    param bias_hh_l0: f32[hidden] = uniform(low = -k, high = k)
    _, h = rnn_scan(x, weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, mask = mask)
    return h
}

model rnn_states(x: f32[N, 1, 6, 3]) -> f32[N, 10] {
    s = reshape(x, [-1, 6, 3])
    m = s[:, :, 0]
    return concat([lstm_state(s, 2, mask = m), bigru_state(s, 2, mask = m), rnn_state(s, 2, mask = m)], axis = 1)
}
""" + _train("rnn_states", 4, "sgd(lr = 0.1, momentum = 0.9)")


class RNNStates(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm_state0 = nn.LSTM(3, 2, batch_first=True)
        self.bigru_state0 = nn.GRU(3, 2, batch_first=True, bidirectional=True)
        self.rnn_state0 = nn.RNN(3, 2, batch_first=True)

    def forward(self, x):
        packed, _ = _packed(x)
        _, (h, c) = self.lstm_state0(packed)
        _, g = self.bigru_state0(packed)
        _, r = self.rnn_state0(packed)
        return torch.cat([h[0], c[0], g[0], g[1], r[0]], dim=1)


# ---- transformers (stdlib/transformer.dln, stdlib/attention.dln) ---------------------------
# The PyTorch side is built from PyTorch's own modules (nn.TransformerEncoderLayer, ...) and the
# reference implementations of tests/parity/transformer.py, each an attribute named like the
# dlnc block instance, so its state_dict is dlnc's checkpoint (interchange.py loads it both ways).
# SGD, not Adam: the key projection's bias has a gradient of exactly zero (softmax ignores a
# constant added to every score), i.e. rounding noise, which Adam would scale up to full steps.
TFM_DLN = """model tfm(x: f32[N, 1, 6, 8]) -> f32[N, 10] {
    s = reshape(x, [-1, 6, 8])
    h = positional_encoding(s, max_len = 32)
    h = transformer_encoder_layer(h, 2, ff = 16, dropout = 0.0)
    h = transformer_decoder_layer(h, s, 4, ff = 12, dropout = 0.0, activation = "gelu", norm_first = true)
    return dense(mean(h, axis = 1), 10)
}
""" + _train("tfm", 4, "sgd(lr = 0.05, momentum = 0.9)")


class TFM(nn.Module):
    def __init__(self):
        super().__init__()
        import transformer as t
        self.pe = t.TutorialPE(8, 32)
        self.transformer_encoder_layer0 = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        self.transformer_decoder_layer0 = nn.TransformerDecoderLayer(8, 4, 12, dropout=0.0, activation="gelu",
                                                                     batch_first=True, norm_first=True)
        self.dense0 = nn.Linear(8, 10)

    def forward(self, x):
        import transformer as t
        s = x.reshape(-1, 6, 8)
        h = self.transformer_encoder_layer0(self.pe(s))
        h = self.transformer_decoder_layer0(h, s, tgt_mask=t.causal_mask(6, 6).to(x.dtype))
        return self.dense0(h.mean(1))


VISION_DLN = """model vision(x: f32[N, 1, 8, 8]) -> f32[N, 10] {
    p = patch_embed(x, 2, 6)
    h = swin_block(reshape(p, [-1, 4, 4, 6]), 2, window = 2, shift = 1, mlp_ratio = 2.0)
    h = reshape(h, [-1, 16, 6]) |> mixer_block(8, 12) |> class_token |> learned_positions(17)
    h = transformer_encoder_layer(h, 3, ff = 12, dropout = 0.0, norm_first = true)
    return dense(h[:, 0], 10)
}
""" + _train("vision", 4, "sgd(lr = 0.05, momentum = 0.9)")


class Vision(nn.Module):
    def __init__(self):
        super().__init__()
        import transformer as t
        self.patch_embed0 = t.PatchEmbed(1, 2, 6)
        self.swin_block0 = t.SwinBlock(6, (4, 4), 2, 2, 1, 2.0)
        self.mixer_block0 = t.MixerBlock(16, 6, 8, 12)
        self.class_token0 = t.ClassToken(6)
        self.learned_positions0 = nn.Embedding(17, 6)
        self.transformer_encoder_layer0 = nn.TransformerEncoderLayer(6, 3, 12, dropout=0.0, batch_first=True,
                                                                     norm_first=True)
        self.dense0 = nn.Linear(6, 10)

    def forward(self, x):
        h = self.swin_block0(self.patch_embed0(x).reshape(-1, 4, 4, 6))
        h = self.class_token0(self.mixer_block0(h.reshape(-1, 16, 6))) + self.learned_positions0.weight
        return self.dense0(self.transformer_encoder_layer0(h)[:, 0])


def _sgd(lr, momentum=0.0, wd=0.0):
    return lambda params: torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)


def _adam(lr):
    return lambda params: torch.optim.Adam(params, lr=lr)


# name, .dln, module, input shape, batch, torch optimizer (same as the train section)
MODELS = [
    ("mlp", MLP_DLN, MLP, (1, 28, 28), 16, _sgd(0.05, 0.9, 1e-4)),
    ("mlp_bn", MLP_BN_DLN, MLPBN, (1, 28, 28), 16, _sgd(0.05, 0.9)),
    ("lenet", LENET_DLN, LeNet, (1, 28, 28), 8, _sgd(0.05, 0.9)),
    ("resnet20", RESNET_DLN, ResNet20, (3, 16, 16), 4, _sgd(0.02, 0.9, 5e-4)),
    ("mbv2", MBV2_DLN, MBV2, (3, 9, 9), 6, _sgd(0.05, 0.9)),
    ("lstm2", LSTM2_DLN, LSTM2, (1, 6, 5), 4, _sgd(0.1, 0.9)),
    ("bigru", BIGRU_DLN, BiGRU, (1, 7, 4), 4, _adam(0.01)),
    ("rnn_relu", RNN_RELU_DLN, RNNReLU, (1, 5, 6), 4, _sgd(0.05, 0.9)),
    ("lstm_masked", LSTM_MASKED_DLN, LSTMMasked, (1, 7, 4), 4, _sgd(0.1, 0.9)),
    ("rnn_states", STATES_DLN, RNNStates, (1, 6, 3), 4, _sgd(0.1, 0.9)),
    ("tfm", TFM_DLN, TFM, (1, 6, 8), 4, _sgd(0.05, 0.9)),
    ("vision", VISION_DLN, Vision, (1, 8, 8), 4, _sgd(0.05, 0.9)),
]
# Models whose input is not plain N(0, 1) noise: name -> f(rng, shape) -> float32 array.
INPUTS = {"lstm_masked": _masked_input, "rnn_states": _masked_input}


def make_input(name, rng, shape):
    """A batch of inputs for model `name` (shape includes the batch)."""
    f = INPUTS.get(name)
    return f(rng, shape) if f else rng.standard_normal(shape).astype(np.float32)

from ops import NOT_YET  # noqa: E402


class _Desc:
    def __init__(self, text):
        self.text, self.fwd_tol, self.grad_tol = text, FWD_TOL, GRAD_TOL

    def describe(self):
        return self.text


def state_for_dlnc(module):
    """state_dict without PyTorch-only entries (num_batches_tracked)."""
    return {k: v for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}


COMPILED = {}  # name -> (.so path, error): interchange.py reuses the builds


def compile_model(build, name):
    if name not in COMPILED:
        dln = next(m[1] for m in MODELS if m[0] == name)
        COMPILED[name] = build.compile_dln(dln, name)
    return COMPILED[name]


def not_yet(err):
    return any(s in err for s in NOT_YET)


class _ReluFlips:
    """F.relu for the float64 reference that records each call's input and can
    take the other decision at chosen elements, given as (call, flat index)."""

    def __init__(self, flips=()):
        self.flips, self.inputs, self.orig = set(flips), [], None

    def __enter__(self):
        self.orig = torch.nn.functional.relu

        def relu(x, inplace=False):
            call = len(self.inputs)
            self.inputs.append(x.detach())
            mask = (x > 0).to(x.dtype).contiguous()
            for c, j in self.flips:
                if c == call:
                    mask.view(-1)[j] = 1 - mask.view(-1)[j]
            return x * mask  # relu's value and gradient where nothing is flipped

        torch.nn.functional.relu = relu
        return self

    def __exit__(self, *exc):
        torch.nn.functional.relu = self.orig


# A pre-activation this close to zero (relative to its tensor's largest) may
# fall on either side in float32; the step is retried with one such decision
# taken the other way, the closest FLIP_TRIES of them.
FLIP_MARGIN, FLIP_TRIES = 1e-4, 12


def _flip_candidates(inputs):
    cands = []
    for call, x in enumerate(inputs):
        a = x.abs().reshape(-1)
        top = a.max().item()
        if top == 0:
            continue
        r, idx = torch.topk(a / top, min(FLIP_TRIES, a.numel()), largest=False)
        cands += [(v, call, j) for v, j in zip(r.tolist(), idx.tolist()) if v < FLIP_MARGIN]
    return sorted(cands)[:FLIP_TRIES]


def _teacher_forced_steps(name, m, ref, opt, batches, T):
    """Steps 2..STEPS of a chaotic model, each started from dlnc's own state.

    Before every step the float64 reference takes dlnc's parameters and
    buffers; both then take the step on the same batch and are compared: loss,
    every gradient, and every parameter and buffer after the update. So each
    comparison holds one step's float32 error (strict tolerances) and no flip
    amplifies. The optimizer states are not copied: each side accumulates its
    own gradients, which agree per step, so they stay within rounding too.
    Last, the eval-mode logits from the synchronized state.

    One flip can still happen inside a step: ~10^6 pre-activations a step, and
    now and then one lies within float32 rounding of zero, so dlnc's ReLU
    takes the other decision than float64 and that step's gradient of the
    weights before it moves by ~1e-3..1e-2 (any change of summation order
    moves which step and which element). A step that misses the strict
    tolerances is therefore taken again by the reference with one ReLU
    decision reversed, for each of the FLIP_TRIES pre-activations closest to
    zero (within FLIP_MARGIN of their tensor's largest); it passes only if
    then every loss, gradient and state of the step is within the strict
    tolerances — a wrong kernel or gradient is not made right by one element's
    decision. The reference keeps the step it matched (its optimizer state
    follows dlnc's), and the report names each such step."""
    worst, where = {"loss": 0.0, "grad": 0.0, "state": 0.0}, {}
    flips = []

    def errors(k, loss_dl, lt):
        e = {"loss": [(rel_err(loss_dl, lt), f"loss of step {k}")], "grad": [], "state": []}
        for pname, p in ref.named_parameters():
            e["grad"].append((rel_err(m.get(pname, grad=True), p.grad.numpy()), f"{pname} gradient, step {k}"))
        for pname, v in state_for_dlnc(ref).items():
            e["state"].append((rel_err(m.get(pname), v.numpy()), f"{pname} after step {k}"))
        return e

    def within(e):
        tol = {"loss": FWD_TOL, "grad": GRAD_TOL, "state": TRAIN_TOL}
        return all(err <= tol[kind] for kind, lst in e.items() for err, _ in lst)

    def note(e):
        for kind, lst in e.items():
            for err, what in lst:
                if err > worst[kind] or kind not in where:
                    worst[kind], where[kind] = max(err, worst[kind]), what if err >= worst[kind] else where.get(kind, what)

    def ref_step(x, y, pre, opt_state, flip=()):
        with torch.no_grad():
            for pname, v in state_for_dlnc(ref).items():  # shares storage with the module
                v.copy_(pre[pname])
        opt.load_state_dict(copy.deepcopy(opt_state))
        opt.zero_grad()
        with _ReluFlips(flip) as rf:
            lt = F.cross_entropy(ref(T(x)), T(y).long())
        lt.backward()
        opt.step()
        return lt.item(), rf.inputs

    def sync():
        with torch.no_grad():
            for pname, v in state_for_dlnc(ref).items():
                v.copy_(torch.from_numpy(np.asarray(m.get(pname), dtype=np.float64).reshape(v.shape)))

    note({"loss": [], "grad": [],
          "state": [(rel_err(m.get(pn), v.numpy()), f"{pn} after step 1") for pn, v in state_for_dlnc(ref).items()]})
    for k, (x, y) in enumerate(batches[1:STEPS], start=2):
        sync()
        pre = {pn: v.clone() for pn, v in state_for_dlnc(ref).items()}
        opt_state = copy.deepcopy(opt.state_dict())
        lt, inputs = ref_step(x, y, pre, opt_state)
        loss_dl = np.float64(m.train_step(x, y))
        e = errors(k, loss_dl, lt)
        if not within(e):
            for r, call, j in _flip_candidates(inputs):
                e_flip = errors(k, loss_dl, ref_step(x, y, pre, opt_state, [(call, j)])[0])
                if within(e_flip):
                    e = e_flip
                    flips.append(f"step {k}: ReLU call {call}, element {j}, |x| = {r:.1e} of its tensor's largest")
                    break
            else:
                ref_step(x, y, pre, opt_state)  # back to the reference's own step: report its errors
        note(e)
    sync()
    ref.eval()
    xl, _ = batches[STEPS]
    with torch.no_grad():
        logits = ref(T(xl))
    e_out = rel_err(m.forward(xl, (xl.shape[0], 10)), logits.numpy())
    fwd = max(worst["loss"], e_out)
    ok = fwd <= FWD_TOL and worst["grad"] <= GRAD_TOL and worst["state"] <= TRAIN_TOL
    flipped = f"; one ReLU decision within rounding of zero taken as dlnc took it at {'; '.join(flips)}" if flips else ""
    return dict(case=_Desc(f"{name}: {STEPS} training steps, each from dlnc's state: losses, gradients, "
                           f"parameters and buffers after each update, then eval logits"),
                fwd=fwd, grad=max(worst["grad"], worst["state"]), ok=ok,
                remark=f"{name}: matched with one ReLU decision reversed at " + "; ".join(flips) if flips else None,
                detail=f"worst: {where.get('loss')} {worst['loss']:.1e}; {where.get('grad')} {worst['grad']:.1e}; "
                       f"{where.get('state')} {worst['state']:.1e}; eval logits {e_out:.1e}{flipped}",
                note=f"per step: loss {worst['loss']:.1e}, grad {worst['grad']:.1e}, state {worst['state']:.1e}"
                     f"{', ' + str(len(flips)) + ' step(s) matched with one ReLU decision reversed' if flips else ''}")


def run_model(build, name, dln, make, in_shape, batch, make_opt, seed=0):
    """Returns (rows, (reference module, Model, lib) or None) — rows are result dicts."""
    so, err = compile_model(build, name)
    if so is None:
        if not_yet(err):
            return [dict(case=_Desc(f"{name}: {err.splitlines()[0]}"), fwd=None, grad=None, ok=False, skip=True,
                         detail=err)], None
        return [dict(case=_Desc(f"{name}: compile"), fwd=float("nan"), grad=float("nan"), ok=False,
                     detail=err)], None
    lib = load_lib(so)
    torch.manual_seed(seed)
    ref = make().double()
    m = Model(lib, name, max_batch=batch, class_labels=True)
    rows = []
    try:
        # names and shapes must agree before anything else makes sense
        ours = {k: s for k, (s, _) in m.params.items()}
        theirs = {k: tuple(v.shape) for k, v in state_for_dlnc(ref).items()}
        if ours != theirs:
            diff = sorted(set(ours.items()) ^ set(theirs.items()))[:8]
            return [dict(case=_Desc(f"{name}: parameter names/shapes"), fwd=float("nan"), grad=float("nan"),
                         ok=False, detail=f"dlnc vs torch differ: {diff}")], None
        path = os.path.join(build.work, f"{name}_torch_init.safetensors")
        st_write(path, state_for_dlnc(ref))
        if m.load(path) != 0:
            return [dict(case=_Desc(f"{name}: load torch weights"), fwd=float("nan"), grad=float("nan"),
                         ok=False, detail="load failed")], None
        rng = np.random.default_rng(seed)
        batches = [(make_input(name, rng, (batch,) + in_shape),
                    rng.integers(0, 10, size=(batch,)).astype(np.int32)) for _ in range(STEPS + 1)]
        T = lambda a: torch.tensor(a, dtype=torch.float64)
        x0, y0 = batches[0]
        # 1. eval mode: logits and loss
        ref.eval()
        with torch.no_grad():
            logits = ref(T(x0))
            loss_eval = F.cross_entropy(logits, T(y0).long())
        out = m.forward(x0, (batch, 10))
        loss_e, out_e = m.eval_step(x0, y0, (batch, 10))
        e_logits = max(rel_err(out, logits.numpy()), rel_err(out_e, logits.numpy()))
        e_loss = rel_err(np.float64(loss_e), loss_eval.item())
        rows.append(dict(case=_Desc(f"{name}: eval-mode logits, batch {batch}"), fwd=e_logits, grad=None,
                         ok=e_logits <= FWD_TOL))
        rows.append(dict(case=_Desc(f"{name}: eval-mode loss"), fwd=e_loss, grad=None, ok=e_loss <= FWD_TOL))
        # a partial batch (fewer samples than the model was created for): loops
        # and buffers must follow the actual batch size, not the maximum
        e_part = 0.0
        for n in (1, batch - 1):
            with torch.no_grad():
                lp = ref(T(x0[:n]))
            e_part = max(e_part, rel_err(m.forward(x0[:n], (n, 10)), lp.numpy()))
        rows.append(dict(case=_Desc(f"{name}: eval-mode logits of partial batches (1 and {batch - 1} of {batch})"),
                         fwd=e_part, grad=None, ok=e_part <= FWD_TOL))
        # 2. first training step: loss and every gradient
        ref.train()
        ref32 = copy.deepcopy(ref).float()  # PyTorch's own float32 run, for the 20-step bound
        opt = make_opt(ref.parameters())
        opt32 = make_opt(ref32.parameters())
        opt.zero_grad()
        loss_t = F.cross_entropy(ref(T(x0)), T(y0).long())
        loss_t.backward()
        loss_ours = m.train_step(x0, y0)
        e_tl = rel_err(np.float64(loss_ours), loss_t.item())
        rows.append(dict(case=_Desc(f"{name}: training-mode loss (step 1)"), fwd=e_tl, grad=None, ok=e_tl <= FWD_TOL))
        worst, worst_name = 0.0, None
        for pname, p in ref.named_parameters():
            e = rel_err(m.get(pname, grad=True), p.grad.numpy())
            if e > worst:
                worst, worst_name = e, pname
        rows.append(dict(case=_Desc(f"{name}: gradients of all {sum(1 for _ in ref.parameters())} parameters"),
                         fwd=None, grad=worst, ok=worst <= GRAD_TOL, detail=f"worst: {worst_name}"))
        opt.step()
        if name in TEACHER_FORCED:
            rows.append(_teacher_forced_steps(name, m, ref, opt, batches, T))
            return rows, (ref, m, lib)
        # 3. 19 more steps on fresh batches; then parameters, buffers, eval logits
        worst_loss = e_tl
        e32_loss = 0.0
        for k, (x, y) in enumerate(batches[:STEPS]):
            opt32.zero_grad()
            l32 = F.cross_entropy(ref32(torch.tensor(x)), torch.tensor(y).long())
            l32.backward()
            opt32.step()
            if k == 0:
                e32_loss = rel_err(np.float64(l32.item()), loss_t.item())
                continue
            opt.zero_grad()
            lt = F.cross_entropy(ref(T(x)), T(y).long())
            lt.backward()
            opt.step()
            worst_loss = max(worst_loss, rel_err(np.float64(m.train_step(x, y)), lt.item()))
            e32_loss = max(e32_loss, rel_err(np.float64(l32.item()), lt.item()))
        worst, worst_name, e32 = 0.0, None, 0.0
        sd32 = state_for_dlnc(ref32)
        for pname, v in state_for_dlnc(ref).items():
            e = rel_err(m.get(pname), v.numpy())
            e32 = max(e32, rel_err(sd32[pname].numpy(), v.numpy()))
            if e > worst:
                worst, worst_name = e, pname
        ref.eval()
        ref32.eval()
        xl, yl = batches[STEPS]
        with torch.no_grad():
            logits = ref(T(xl))
            e32 = max(e32, e32_loss, rel_err(ref32(torch.tensor(xl)).numpy(), logits.numpy()))
        e_out = rel_err(m.forward(xl, (batch, 10)), logits.numpy())
        e20 = max(worst, e_out, worst_loss)
        tol = max(TRAIN_TOL, 4 * e32)
        rows.append(dict(case=_Desc(f"{name}: {STEPS} training steps: losses, parameters and buffers, "
                                    f"then eval logits (bound {tol:.1e}; torch float32 itself is {e32:.1e} off)"),
                         fwd=max(e_out, worst_loss), grad=worst, ok=e20 <= tol,
                         detail=f"worst tensor: {worst_name}; torch float32 vs float64: {e32:.1e}",
                         note=f"20 steps: {e20:.1e} vs bound {tol:.1e}"))
        return rows, (ref, m, lib)
    except Exception as e:
        m.close()
        rows.append(dict(case=_Desc(f"{name}: {type(e).__name__}"), fwd=float("nan"), grad=float("nan"), ok=False,
                         detail=str(e)))
        return rows, None


def run(build):
    out = []
    only = os.environ.get("PARITY_MODELS")  # e.g. PARITY_MODELS=mbv2,lenet: only those
    for name, dln, make, in_shape, batch, make_opt in MODELS:
        if only and name not in only.split(","):
            continue
        rows, keep = run_model(build, name, dln, make, in_shape, batch, make_opt)
        if keep:
            keep[1].close()
        out.append(("model " + name, rows))
    return out
