"""PyTorch twins of the benchmark workloads in bench/workloads/*.dln.

Each entry of WORKLOADS maps a workload name (the .dln file's stem) to a
function returning (model, input shape per sample, number of classes,
make_optimizer). Same layer sizes, same initialization scheme, same optimizer
and hyper-parameters as the .dln file. Adding a workload = one .dln file plus
one function here.
"""
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


WORKLOADS = {
    "mlp": mlp,
}
