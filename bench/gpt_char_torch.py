#!/usr/bin/python3
"""The PyTorch twin of samples/gpt_char.dln, trained for a given wall time.

    OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1 /usr/bin/python3 bench/gpt_char_torch.py SECONDS WARMUP_SECONDS [CORPUS_DIR]

The same corpus, split and vocabulary as dlnc's `text` source (see
char_lstm_torch.py, whose reader this uses), the same model — nn.Embedding(128,
128), learned positions nn.Embedding(64, 128), four
nn.TransformerEncoderLayer(128, 4, 512, dropout 0, GELU, batch_first,
norm_first) with the causal mask, a final LayerNorm and nn.Linear(128, 128) —
the same batches (16 random windows of 64), AdamW(1e-3, weight decay 0.01)
with the gradient norm clipped at 1, and the sample's schedule (linear
warm-up, then cosine) laid over the time budget instead of the epochs. It
trains until SECONDS have passed, then reports the validation loss over the
validation text read in order (windows of 64, batch 16, as dlnc's evaluation)
in nats and bits per character, and a 300-character sample at temperature
0.8 from the prompt "The ", so the two can be set side by side.
"""
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from char_lstm_torch import corpus, train_step, val_loss  # noqa: E402


class GPT(nn.Module):
    def __init__(self, V=128, D=128, T=64, layers=4, heads=4):
        super().__init__()
        self.tok = nn.Embedding(V, D)
        self.pos = nn.Embedding(T, D)
        nn.init.normal_(self.pos.weight, std=0.02)
        self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(D, heads, 4 * D, dropout=0.0, activation="gelu",
                                                               batch_first=True, norm_first=True) for _ in range(layers))
        self.norm = nn.LayerNorm(D)
        self.head = nn.Linear(D, V)

    def forward(self, t):
        T = t.shape[1]
        mask = torch.triu(torch.full((T, T), float("-inf")), 1)
        h = self.tok(t) + self.pos(torch.arange(T))
        for b in self.blocks:
            h = b(h, src_mask=mask)
        return self.head(self.norm(h))


def main():
    seconds, warm = float(sys.argv[1]), float(sys.argv[2])
    text = corpus(sys.argv[3] if len(sys.argv) > 3 else "/usr/share/games/fortunes")
    n_val = int(len(text) * 0.05)
    train, val = text[:len(text) - n_val], text[len(text) - n_val:]
    vocab = sorted(set(train))
    ids = {b: i for i, b in enumerate(vocab)}
    space = ids.get(32, 0)
    tr = torch.tensor([ids[b] for b in train], dtype=torch.long)
    va = torch.tensor([ids.get(b, space) for b in val], dtype=torch.long)
    torch.manual_seed(1)
    model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    B, T = 16, 64
    t0, steps = time.time(), 0
    while time.time() - t0 < seconds:
        el = time.time() - t0
        f = el / warm if el < warm else 0.5 * (1 + math.cos(math.pi * min(1.0, (el - warm) / (seconds - warm))))
        for g in opt.param_groups:
            g["lr"] = 1e-3 * f
        train_step(model, opt, tr, B, T, 1.0)
        steps += 1
    train_s = time.time() - t0
    loss = val_loss(model, va, B, T)
    with torch.no_grad():
        print(f"torch gpt_char: {steps} steps in {train_s:.0f} s ({steps * B / train_s:.0f} samples/s), "
              f"val_loss {loss:.4f} ({loss / math.log(2):.3f} bits per character), threads {torch.get_num_threads()}")
        g = torch.Generator().manual_seed(1)
        out = [ids[b] for b in b"The "]
        for _ in range(300):
            logits = model(torch.tensor([out[-T:]]))[0, -1] / 0.8
            out.append(int(torch.multinomial(F.softmax(logits, -1), 1, generator=g)))
        print(bytes(vocab[i] for i in out).decode("latin-1"))


if __name__ == "__main__":
    main()
