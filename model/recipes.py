"""The jobs behind the CLI, as plain functions that tests call too.

- `net_config(...)`: a registered net for a bundled data set, every option checked.
- `train_checkpoint(...)`: train it and save a checkpoint; returns the result and the path.
- `evaluate_checkpoint(path)`: reload a checkpoint and measure its test accuracy again.
- `demo(...)`: the README's main job on the embedded defaults.
"""

from dataclasses import dataclass
from pathlib import Path

from . import checkpoint, data
from .nets import NetConfig, make_config
from .proxconnect import MethodConfig
from .training import TrainConfig, TrainResult, accuracy, train

#: Epochs and Adam learning rates that train each bundled data set's nets in seconds (digits) to
#: about half a minute (MNIST-1D) on 2 cores; chosen by the sweeps noted in the README.
DEFAULT_EPOCHS = {"digits": 60, "mnist1d": 30}
DEFAULT_LR = {"digits": 1e-2, "mnist1d": 2e-2}
DEFAULT_NET = {"digits": "mlp", "mnist1d": "cnn1d"}


def net_config(dataset: str = "digits", net: str | None = None, *, weights: str = "1.4",
               act_bits: int = 1, pixel_bits: int | None = None, method: str = "bc",
               allocation: str = "middle-out", scale: str = "tensor",
               width: int | None = None) -> NetConfig:
    """The NetConfig for a registered (data set, net); `ConfigError` names any bad value."""
    ds = data.load(dataset)
    net = DEFAULT_NET[dataset] if net is None else net
    return make_config(dataset, net, input_shape=ds.input_shape, num_classes=ds.num_classes,
                       width=width, pixel_bits=pixel_bits, weights=weights, act_bits=act_bits,
                       method=MethodConfig(method), allocation=allocation, scale=scale)


def default_checkpoint_path(config: NetConfig, seed: int, root: str | Path = "build") -> Path:
    weights = config.weights.replace("/", "-")
    name = (f"{config.dataset}-{config.net}-w{weights}-a{config.act_bits}-{config.method.name}"
            f"-{config.allocation}-s{seed}.pt")
    return Path(root) / "checkpoints" / name


def train_config_for(dataset: str, epochs: int | None = None, seed: int = 0) -> TrainConfig:
    """The data set's default epochs and learning rate, with `epochs` overriding."""
    return TrainConfig(epochs=DEFAULT_EPOCHS[dataset] if epochs is None else epochs,
                       lr=DEFAULT_LR[dataset], seed=seed)


def train_checkpoint(config: NetConfig, *, epochs: int | None = None, seed: int = 0,
                     output: str | Path | None = None, progress: bool = True
                     ) -> tuple[TrainResult, Path]:
    """Train `config` on its data set and save the checkpoint (default under build/checkpoints)."""
    train_config = train_config_for(config.dataset, epochs, seed)
    result = train(config, data.load(config.dataset), train_config, progress=progress,
                   description=f"train {config.dataset}/{config.net} {config.weights}")
    path = Path(output) if output else default_checkpoint_path(config, seed)
    metrics = {"test_accuracy": result.test_accuracy, "train_accuracy": result.train_accuracy,
               "seconds": result.seconds}
    checkpoint.save(path, result.net, train_config, metrics)
    return result, path


def evaluate_checkpoint(path: str | Path) -> tuple[NetConfig, float]:
    net, _ = checkpoint.load(path)
    ds = data.load(net.config.dataset)
    return net.config, accuracy(net, ds.test_x, ds.test_y)


@dataclass
class DemoRow:
    label: str
    config: NetConfig
    result: TrainResult
    path: Path


def demo(*, seed: int = 0, progress: bool = True, root: str | Path = "build") -> list[DemoRow]:
    """The main job as it stands: train the default digits net at 1.4 bits and its float baseline."""
    rows = []
    for label, weights, act_bits in (("1.4-bit weights, 1-bit activations", "1.4", 1),
                                     ("float baseline", "float", 0)):
        config = net_config("digits", weights=weights, act_bits=act_bits)
        result, path = train_checkpoint(config, seed=seed, progress=progress,
                                        output=default_checkpoint_path(config, seed, root))
        rows.append(DemoRow(label, config, result, path))
    return rows
