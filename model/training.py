"""Training and evaluation of a `Net` on a bundled data set.

Adam with a cosine learning-rate decay to zero, cross-entropy on the class scores, mini-batches
drawn by a torch generator seeded with `TrainConfig.seed`. The same seed and versions give the same
net, bit for bit, on any x86-64 machine and whatever the process's thread count: training runs on
one thread with pinned CPU kernels (`model.reproducible`). Before each step the net's PC++ schedules
get the progress step/total; after each step the latent weights are clipped to their box (and
ProxQuant's proximal step runs). After the last step, BatchNorm and activation statistics are
re-estimated under exact sign (`model.statistics`). Accuracy is measured in evaluation mode, i.e.
with exact-sign quantizers and frozen statistics, which is the network that export freezes;
`TrainResult.training_forward_accuracy` is the test accuracy under the quantizers' training forward
at the end of training, with statistics re-estimated under that forward, so the two accuracies
differ only by the forward. (Re-estimating matters on its own: the running averages training
accumulates cost the 1-bit MNIST-1D CNN about 5 points.)
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from .config import NetConfig, TrainConfig
from .data import Dataset
from .nets import Net
from .reproducible import PINNED_CAPABILITY, kernels_in_use, single_thread
from .statistics import reestimate, training_forward


@dataclass
class TrainResult:
    net: Net
    test_accuracy: float
    train_accuracy: float
    training_forward_accuracy: float  # test accuracy under the training forward (`model.statistics`)
    seconds: float
    kernels: str              # the CPU kernels it ran with (`model.reproducible`)


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


@torch.no_grad()
def predict(net: Net, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class indices in evaluation mode (the lowest index wins ties, as `argmax`)."""
    was_training = net.training
    net.eval()
    images = torch.from_numpy(np.ascontiguousarray(x))
    classes = [net(images[i:i + batch_size]).argmax(dim=1) for i in range(0, len(images), batch_size)]
    net.train(was_training)
    return torch.cat(classes).numpy()


def accuracy(net: Net, x: np.ndarray, y: np.ndarray) -> float:
    return float((predict(net, x) == y).mean())


def train(config: NetConfig, data: Dataset, train_config: TrainConfig = TrainConfig(),
          progress: bool = True, description: str = "train") -> TrainResult:
    """Train a fresh `Net(config)` on `data`; returns the net in evaluation mode and its accuracies."""
    kernels = kernels_in_use()
    if kernels != PINNED_CAPABILITY:
        warnings.warn(f"training runs torch's {kernels} CPU kernels, not the pinned {PINNED_CAPABILITY} "
                      "(torch ran before hbnn was imported, or the environment chose them): the result "
                      "may differ from other machines' (see hbnn.model.reproducible)", stacklevel=2)
    start = time.perf_counter()
    with single_thread():
        net = _train(config, data, train_config, progress, description)
        images = _tensors(data.train_x, data.train_y)[0]
        with training_forward(net):  # each forward with its own statistics: only the forward differs
            reestimate(net, images)
            soft = accuracy(net, data.test_x, data.test_y)
        reestimate(net, images)
        test, train_ = accuracy(net, data.test_x, data.test_y), accuracy(net, data.train_x, data.train_y)
    return TrainResult(net, test, train_, soft, time.perf_counter() - start, kernels)


def _train(config: NetConfig, data: Dataset, train_config: TrainConfig, progress: bool,
           description: str) -> Net:
    torch.manual_seed(train_config.seed)
    net = Net(config, seed=train_config.seed)
    x, y = _tensors(data.train_x, data.train_y)
    generator = torch.Generator().manual_seed(train_config.seed)
    steps_per_epoch = -(-len(x) // train_config.batch_size)
    total = train_config.epochs * steps_per_epoch
    optimizer = torch.optim.Adam(net.parameters(), lr=train_config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
    step = 0
    # disable=None: tqdm shows the bar only on a terminal, so logs and CI stay readable
    bar = tqdm(range(train_config.epochs), desc=description, unit="epoch", leave=False,
               disable=None if progress else True)
    net.train()
    for _ in bar:
        order = torch.randperm(len(x), generator=generator)
        running = 0.0
        for i in range(0, len(x), train_config.batch_size):
            batch = order[i:i + train_config.batch_size]
            net.set_progress(step / max(total - 1, 1))
            loss = F.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            learning_rate = optimizer.param_groups[0]["lr"]
            optimizer.step()
            schedule.step()
            net.after_step(learning_rate)
            running += loss.item() * len(batch)
            step += 1
        bar.set_postfix(loss=f"{running / len(x):.3f}")
    return net.eval()
