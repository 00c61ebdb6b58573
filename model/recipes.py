"""The jobs behind the CLI, as plain functions that tests call too.

- `net_config(...)`: a registered net for a bundled data set, every option checked.
- `train_checkpoint(...)`: train it and save a checkpoint; returns the result and the path.
- `evaluate_checkpoint(path)`: reload a checkpoint and measure its test accuracy again.
- `export_checkpoint(path)`: freeze a checkpoint into a layout and measure golden-vs-float agreement.
"""

from pathlib import Path

from . import checkpoint, data
from .nets import NetConfig, make_config
from .proxconnect import MethodConfig
from .training import TrainConfig, TrainResult, accuracy, train

#: Epochs and Adam learning rates that train each bundled data set's nets in seconds (digits) to
#: about half a minute (MNIST-1D) on 2 cores. From short sweeps at 1.4 bits: on digits 5e-3, 1e-2
#: and 2e-2 were within seed noise; on the MNIST-1D CNN 2e-2 beat 1e-2 and 5e-3 by 3-4 points.
DEFAULT_EPOCHS = {"digits": 60, "mnist1d": 30}
DEFAULT_LR = {"digits": 1e-2, "mnist1d": 2e-2}
DEFAULT_NET = {"digits": "mlp", "mnist1d": "cnn1d"}


def net_config(dataset: str = "digits", net: str | None = None, *, weights: str = "1.4",
               act_bits: int = 1, pixel_bits: int | None = None, method: str = "bc",
               allocation: str = "middle-out", scale: str = "tensor",
               width: int | None = None, ratio_bits: int = 6, ratio_digits: int = 0) -> NetConfig:
    """The NetConfig for a registered (data set, net); `ConfigError` names any bad value."""
    ds = data.load(dataset)
    net = DEFAULT_NET[dataset] if net is None else net
    return make_config(dataset, net, input_shape=ds.input_shape, num_classes=ds.num_classes,
                       width=width, pixel_bits=pixel_bits, weights=weights, act_bits=act_bits,
                       method=MethodConfig(method), allocation=allocation, scale=scale,
                       ratio_bits=ratio_bits, ratio_digits=ratio_digits)


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


def export_checkpoint(checkpoint_path: str | Path, output: str | Path | None = None):
    """Export a checkpoint to a layout file and measure golden-vs-float agreement on its test set.

    Returns (layout path, Network, Agreement). The default output is build/layouts/<checkpoint>.npz.
    """
    from . import layout
    from .agreement import measure
    from .export import export

    net, payload = checkpoint.load(checkpoint_path)
    config = net.config
    provenance = {"hbnn_version": _hbnn_version(), "checkpoint": Path(checkpoint_path).name,
                  "dataset": config.dataset, "net": config.net, "weights": config.weights,
                  "act_bits": config.act_bits, "method": config.method.name,
                  "allocation": config.allocation, "scale": config.scale,
                  "ratio_bits": config.ratio_bits, "ratio_digits": config.ratio_digits, "seed": payload["train_config"]["seed"]}
    network = export(net, provenance)
    agreement = measure(net, network, data.load(config.dataset))
    network.provenance.update({"float_accuracy": agreement.float_accuracy,
                               "golden_accuracy": agreement.golden_accuracy,
                               "class_agreement": agreement.same_class})
    path = Path(output) if output else Path("build") / "layouts" / (Path(checkpoint_path).stem + ".npz")
    layout.save(network, path)
    return path, network, agreement


def _hbnn_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hbnn")
    except PackageNotFoundError:
        return "0+unknown"
