"""PyTorch twins of the benchmark workloads in bench/workloads/*.dln.

Each entry of WORKLOADS maps a workload name (the .dln file's stem) to a
function returning (model, input shape per sample, number of classes,
make_optimizer). Same layer sizes, same initialization scheme, same optimizer
and hyper-parameters as the .dln file. Adding a workload = one .dln file plus
one function here.
"""
import math

import torch
import torch.nn as nn


def _he_uniform_zero_bias(model):
    # dlnc's dense/conv default: He-uniform weights (kaiming_uniform_, relu gain), zero biases.
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def mlp():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    return _he_uniform_zero_bias(model), (1, 28, 28), 10, lambda p: torch.optim.Adam(p, lr=1e-3)


def lenet5():
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    return _he_uniform_zero_bias(model), (1, 28, 28), 10, lambda p: torch.optim.Adam(p, lr=2e-3)


class _Basic(nn.Module):
    """stdlib/blocks.dln basic_block: conv-bn-relu, conv-bn, 1x1 projection when the shape changes."""

    def __init__(self, cin, out, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, out, 3, stride, 1, bias=False), nn.BatchNorm2d(out)
        self.c2, self.b2 = nn.Conv2d(out, out, 3, 1, 1, bias=False), nn.BatchNorm2d(out)
        self.short = None
        if stride != 1 or cin != out:
            self.short = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        h = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu(h + (self.short(x) if self.short is not None else x))


def resnet20():
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for out, stride in ((16, 1), (32, 2), (64, 2)):
        for k in range(3):
            layers.append(_Basic(cin, out, stride if k == 0 else 1))
            cin = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    model = _he_uniform_zero_bias(nn.Sequential(*layers))
    return model, (3, 32, 32), 10, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                                             weight_decay=5e-4)


class _LSTMRows(nn.Module):
    """samples/lstm_rows.dln: the 28 rows of an image as steps of nn.LSTM(28, 128), dense on the last step."""

    def __init__(self):
        super().__init__()
        self.lstm, self.fc = nn.LSTM(28, 128, batch_first=True), nn.Linear(128, 10)

    def forward(self, x):
        y, _ = self.lstm(x.reshape(x.shape[0], 28, 28))
        return self.fc(y[:, 27])


def lstm_rows():
    model = _LSTMRows()
    nn.init.kaiming_uniform_(model.fc.weight, nonlinearity="relu")
    nn.init.zeros_(model.fc.bias)
    return model, (1, 28, 28), 10, lambda p: torch.optim.Adam(p, lr=2e-3)


class _CharLSTM(nn.Module):
    """samples/char_lstm.dln: nn.Embedding(128, 64), a 2-layer nn.LSTM(64, 256), logits at every position."""

    def __init__(self):
        super().__init__()
        self.emb, self.lstm, self.fc = nn.Embedding(128, 64), nn.LSTM(64, 256, 2, batch_first=True), nn.Linear(256, 128)

    def forward(self, t):
        y, _ = self.lstm(self.emb(t))
        return self.fc(y)


def char_lstm():
    # the performance brief's char-LSTM: 2 layers, hidden 256, batch 32, 64 steps
    model = _CharLSTM()
    nn.init.kaiming_uniform_(model.fc.weight, nonlinearity="relu")
    nn.init.zeros_(model.fc.bias)
    return model, ("tokens", 64), 128, lambda p: torch.optim.Adam(p, lr=2e-3)


class _Attention(nn.Module):
    """Causal self-attention written out as in bench/workloads/gpt.dln (torch 1.13 has no
    F.scaled_dot_product_attention): fused qkv, scores masked with -1e9, softmax, @ v."""

    def __init__(self, d, heads, T):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.reshape(n, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        s = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        s = s.masked_fill(~self.mask, -1e9)
        y = torch.softmax(s, dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(n, t, d))


class _Block(nn.Module):
    def __init__(self, d, heads, T):
        super().__init__()
        self.ln1, self.attn, self.ln2 = nn.LayerNorm(d), _Attention(d, heads, T), nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class _GPT(nn.Module):
    """bench/workloads/gpt.dln: token and learned position embeddings, pre-LayerNorm blocks,
    final LayerNorm, a dense head; weights N(0, 0.02), biases zero."""

    def __init__(self, vocab=128, d=128, heads=4, layers=4, T=64):
        super().__init__()
        self.wte, self.wpe = nn.Parameter(torch.empty(vocab, d)), nn.Parameter(torch.empty(T, d))
        self.blocks = nn.Sequential(*[_Block(d, heads, T) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)
        for p in (self.wte, self.wpe):
            nn.init.normal_(p, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, t):
        return self.head(self.ln(self.blocks(self.wte[t] + self.wpe)))


def gpt():
    # the performance brief's GPT: 4 layers, d = 128, 4 heads, context 64, batch 16, vocabulary 128
    return _GPT(), ("tokens", 64), 128, lambda p: torch.optim.AdamW(p, lr=3e-4, weight_decay=0.1)


class _InvertedResidual(nn.Module):
    """bench/workloads/mobilenetv2.dln inverted_residual: 1x1 expand (x6), depthwise 3x3, linear 1x1,
    each with batch norm, ReLU6 after the first two; identity shortcut when the shape is kept."""

    def __init__(self, cin, out, stride=1, expansion=6):
        super().__init__()
        e = cin * expansion
        self.body = nn.Sequential(nn.Conv2d(cin, e, 1, bias=False), nn.BatchNorm2d(e), nn.ReLU6(),
                                  nn.Conv2d(e, e, 3, stride, 1, groups=e, bias=False), nn.BatchNorm2d(e), nn.ReLU6(),
                                  nn.Conv2d(e, out, 1, bias=False), nn.BatchNorm2d(out))
        self.residual = stride == 1 and cin == out

    def forward(self, x):
        h = self.body(x)
        return h + x if self.residual else h


def mobilenetv2():
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6()]
    cin = 16
    for out, stride in ((16, 1), (24, 2), (24, 1), (32, 2), (32, 1), (64, 2), (64, 1)):
        layers.append(_InvertedResidual(cin, out, stride))
        cin = out
    layers += [nn.Conv2d(64, 256, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU6(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10)]
    model = _he_uniform_zero_bias(nn.Sequential(*layers))
    return model, (3, 32, 32), 10, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=4e-5)


WORKLOADS = {
    "mlp": mlp,
    "lenet5": lenet5,
    "resnet20": resnet20,
    "mobilenetv2": mobilenetv2,
    "lstm_rows": lstm_rows,
    "char_lstm": char_lstm,
    "gpt": gpt,
    "gpt_composed": gpt,  # the same model; ours writes its attention out of primitive ops
}
