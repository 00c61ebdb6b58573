"""BatchNorm and activation statistics re-estimated under the exact forward, and the training forward.

During training, BatchNorm's running mean and variance and the activation quantizers' running
scales average over batches computed with the training forward (soft quantizers early on, weights
that kept changing). Evaluation, export and hardware use exact sign. `reestimate(net, x)` runs the
training images once through the net with exact-sign weights (or, inside `training_forward`, with
the training forward) and sets every statistic to the value of that pass: BatchNorm's running mean and (unbiased) variance, and each
`ResidualActivation`'s scales gamma_k. It is one pass over the whole set as one batch, so the
result does not depend on a batch order or a momentum.

`training_forward(net)` is the opposite view: evaluation-mode statistics (as `training.predict`
uses), but the weights through the quantizers' training forward at the net's current progress. Comparing accuracies in both
views shows what switching to exact sign costs (`training.TrainResult`).
"""

from contextlib import contextmanager

import torch
from torch import nn

from .activations import ResidualActivation
from .layers import WeightQuantizer


@torch.no_grad()
def reestimate(net: nn.Module, x: torch.Tensor) -> None:
    """Set every BatchNorm and activation statistic from one exact-sign pass over `x`."""
    net.eval()
    statistics = [m for m in net.modules()
                  if isinstance(m, (nn.modules.batchnorm._BatchNorm, ResidualActivation))]
    momenta = []
    for module in statistics:
        if isinstance(module, ResidualActivation):
            module.tracked.fill_(False)  # the next batch's scales are copied, not averaged
        else:
            module.reset_running_stats()
            momenta.append(module.momentum)
            module.momentum = None  # cumulative average: one batch gives exactly its statistics
        module.train()
    try:
        net(x)
    finally:
        for module in statistics:
            if not isinstance(module, ResidualActivation):
                module.momentum = momenta.pop(0)
        net.eval()


@contextmanager
def training_forward(net: nn.Module):
    """Inside: the weight quantizers use their training forward even in evaluation mode."""
    quantizers = [m for m in net.modules() if isinstance(m, WeightQuantizer)]
    for quantizer in quantizers:
        quantizer.training_forward = True
    try:
        yield net
    finally:
        for quantizer in quantizers:
            quantizer.training_forward = False
