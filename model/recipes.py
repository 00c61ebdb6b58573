"""The jobs behind the CLI, as plain functions that tests call too.

- `train_checkpoint(config)`: train a `config.NetConfig` and save a checkpoint; returns the result and the path.
- `evaluate_checkpoint(path)`: reload a checkpoint and measure its test accuracy again.
- `export_checkpoint(path)`: freeze a checkpoint into a layout and measure golden-vs-float agreement.
"""

from pathlib import Path

import hbnn

from . import checkpoint, data
from .config import NetConfig, checkpoint_name, train_config_for
from .training import TrainResult, accuracy, train


def default_checkpoint_path(config: NetConfig, seed: int, root: str | Path = "build") -> Path:
    return Path(root) / "checkpoints" / checkpoint_name(config, seed)


def train_checkpoint(config: NetConfig, *, epochs: int | None = None, seed: int = 0,
                     output: str | Path | None = None, progress: bool = True
                     ) -> tuple[TrainResult, Path]:
    """Train `config` on its data set and save the checkpoint (default under build/checkpoints)."""
    train_config = train_config_for(config, epochs, seed)
    result = train(config, data.load(config.dataset), train_config, progress=progress,
                   description=f"train {config.dataset}/{config.net} {config.weights}")
    path = Path(output) if output else default_checkpoint_path(config, seed)
    # no wall time here: the same seed and versions give the same checkpoint bytes
    metrics = {"test_accuracy": result.test_accuracy, "train_accuracy": result.train_accuracy,
               "training_forward_accuracy": result.training_forward_accuracy,
               "cpu_kernels": result.kernels}
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
    provenance = {"hbnn_version": hbnn.__version__, "checkpoint": Path(checkpoint_path).name,
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
