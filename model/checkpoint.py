"""Checkpoints: a trained net's configuration, weights and measured accuracy in one torch file.

The file holds only plain types and tensors, so it loads with `torch.load(weights_only=True)` (no
pickled code runs). It is written to a temporary file in the same folder and renamed into place,
so an interrupted save never leaves a half-written checkpoint.
"""

import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from .errors import ConfigError
from .nets import Net, NetConfig
from .training import TrainConfig

FORMAT = "hbnn-checkpoint"
VERSION = 1


def save(path: str | os.PathLike, net: Net, train_config: TrainConfig, metrics: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "net_config": net.config.to_dict(),
        "train_config": asdict(train_config),
        "metrics": dict(metrics),
        "state_dict": net.state_dict(),
    }
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load(path: str | os.PathLike) -> tuple[Net, dict]:
    """The net (in evaluation mode) and the checkpoint's other fields; `ConfigError` if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"checkpoint {str(path)!r} is not a readable hbnn checkpoint ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConfigError(f"checkpoint {str(path)!r} is not an hbnn checkpoint")
    if payload.get("version") != VERSION:
        raise ConfigError(
            f"checkpoint {str(path)!r} has version {payload.get('version')!r}; this hbnn reads {VERSION}")
    try:
        config = NetConfig.from_dict(payload["net_config"])
        net = Net(config, seed=payload["train_config"]["seed"])
        net.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(f"checkpoint {str(path)!r} is damaged ({reason})") from None
    net.eval()
    return net, payload
