#!/usr/bin/python3
"""The PyTorch twin of samples/char_lstm.dln, trained for a given wall time.

    OMP_WAIT_POLICY=passive OMP_NUM_THREADS=2 /usr/bin/python3 bench/char_lstm_torch.py SECONDS [CORPUS_DIR]

(OMP_WAIT_POLICY=passive as make bench sets it: with GCC's default spinning,
PyTorch's LSTM ran this loop 5x slower on the 2-core machine: 54 against
269 samples/s. FLUSH_DENORMAL=1 sets torch.set_flush_denormal; it made no
difference here.)

Same corpus reading as dlnc's `text` source (regular files of the directory in
byte-wise name order, hidden files and *.dat/*.u8 skipped, concatenated), same
split (the last 5% is validation), same vocabulary (the sorted bytes of the
training part), same model (nn.Embedding(128, 64), nn.LSTM(64, 256, 2,
batch_first), nn.Linear(256, 128)), same batches (32 random windows of 64),
Adam(2e-3) with the gradient norm clipped at 5, a cosine schedule (over the
time budget, since the number of steps is not known). It trains until SECONDS have
passed, then reports the validation loss over the validation text read in
order (windows of 64, batch 32, as dlnc's evaluation) in nats and bits per
character, so the two can be set side by side for the same training time.
"""
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def corpus(path):
    if os.path.isfile(path):
        return open(path, "rb").read()
    data = b""
    for name in sorted(os.listdir(path)):
        p = os.path.join(path, name)
        if name.startswith(".") or name.endswith(".dat") or name.endswith(".u8") or not os.path.isfile(p):
            continue
        data += open(p, "rb").read()
    return data


def train_step(model, opt, tr, B, T, clip, V=128):
    """One step on B random windows of T ids (and their next ids) from tr,
    the gradient norm clipped at clip, as dlnc's `text` batches and clip_norm."""
    starts = torch.randint(0, len(tr) - T - 1, (B,))
    x = torch.stack([tr[s:s + T] for s in starts])
    y = torch.stack([tr[s + 1:s + T + 1] for s in starts])
    loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()


def val_loss(model, va, B, T, V=128):
    """Mean cross-entropy (nats) over the validation ids read in order, in
    windows of T and batches of B, as dlnc's evaluation of a text source."""
    model.eval()
    tot, cnt = 0.0, 0
    with torch.no_grad():
        w = (len(va) - 1) // T
        for b in range(0, w, B):
            rows = range(b, min(b + B, w))
            x = torch.stack([va[r * T:r * T + T] for r in rows])
            y = torch.stack([va[r * T + 1:r * T + T + 1] for r in rows])
            tot += F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1), reduction="sum").item()
            cnt += y.numel()
    return tot / cnt


class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding0 = nn.Embedding(128, 64)
        self.lstm0 = nn.LSTM(64, 256, 2, batch_first=True)
        self.dense0 = nn.Linear(256, 128)

    def forward(self, t):
        h, _ = self.lstm0(self.embedding0(t))
        return self.dense0(h)


def main():
    seconds = float(sys.argv[1])
    text = corpus(sys.argv[2] if len(sys.argv) > 2 else "/usr/share/games/fortunes")
    n_val = int(len(text) * 0.05)
    train, val = text[:len(text) - n_val], text[len(text) - n_val:]
    vocab = sorted(set(train))
    ids = {b: i for i, b in enumerate(vocab)}
    space = ids.get(32, 0)
    tr = torch.tensor([ids[b] for b in train], dtype=torch.long)
    va = torch.tensor([ids.get(b, space) for b in val], dtype=torch.long)
    torch.manual_seed(1)
    if os.environ.get("FLUSH_DENORMAL"):
        torch.set_flush_denormal(True)
    model = CharLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    B, T = 32, 64
    t0, steps = time.time(), 0
    while time.time() - t0 < seconds:
        # samples/char_lstm.dln's cosine schedule, over the time budget instead of the epochs
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * min(1.0, (time.time() - t0) / seconds)))
        train_step(model, opt, tr, B, T, 5.0)
        steps += 1
    train_s = time.time() - t0
    loss = val_loss(model, va, B, T)
    print(f"torch char_lstm: {steps} steps in {train_s:.0f} s ({steps * B / train_s:.0f} samples/s), "
          f"val_loss {loss:.4f} ({loss / math.log(2):.3f} bits per character), threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
