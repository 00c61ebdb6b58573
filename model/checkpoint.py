"""Checkpoints: a trained net's configuration, weights and measured accuracy in one torch file.

The file holds only plain types and tensors, so it loads with `torch.load(weights_only=True)` (no
pickled code runs). It is written whole or not at all (`hbnn.files`), and the same net gives the
same bytes. `check_file` tells a checkpoint from anything else without importing torch (the
command line's validation pass runs it); torch is imported only to read or write one.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from hbnn.files import atomic_output, kind_of_file

from .config import NetConfig, TrainConfig
from .errors import ConfigError

if TYPE_CHECKING:
    from .nets import Net

FORMAT = "hbnn-checkpoint"
#: 2: latent weights trained in the box [-1, 1], statistics re-estimated under exact sign; a
#: version-1 net would load but is trained differently, so it is refused (and `compare` retrains)
VERSION = 2


def save(path: str | os.PathLike, net: Net, train_config: TrainConfig, metrics: dict) -> Path:
    path = Path(path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "net_config": net.config.to_dict(),
        "train_config": asdict(train_config),
        "metrics": dict(metrics),
        "state_dict": net.state_dict(),
    }
    import torch

    # torch names the archive's folder after a file name (here the temporary's random one); a file
    # object gets the fixed name "archive", so the same net always gives the same bytes
    with atomic_output(path) as temporary, open(temporary, "wb") as file:
        torch.save(payload, file)
    return path


def load(path: str | os.PathLike) -> tuple[Net, dict]:
    """The net (in evaluation mode) and the checkpoint's other fields; `ConfigError` if unreadable."""
    import torch

    from .nets import Net

    path = check_file(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"checkpoint {str(path)!r} is not a readable hbnn checkpoint ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConfigError(f"checkpoint {str(path)!r} is not an hbnn checkpoint")
    if payload.get("version") != VERSION:
        raise ConfigError(
            f"checkpoint {str(path)!r} has version {payload.get('version')!r}; this hbnn reads "
            f"{VERSION} (train it again with hbnn train)")
    try:
        config = NetConfig.from_dict(payload["net_config"])
        net = Net(config, seed=payload["train_config"]["seed"])
        net.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(f"checkpoint {str(path)!r} is damaged ({reason})") from None
    net.eval()
    return net, payload


def check_file(path: str | os.PathLike) -> Path:
    """`path` if it holds a checkpoint (by content); a `ConfigError` saying what it is otherwise."""
    path = Path(path)
    kind = kind_of_file(path)
    if kind == "checkpoint":
        return path
    name = repr(str(path))
    raise ConfigError({
        "missing": f"checkpoint {name} does not exist",
        "folder": f"checkpoint {name} is a folder, not a file (hbnn train writes checkpoints, .pt)",
        "layout": f"{name} is a layout, not a checkpoint (hbnn train writes checkpoints; hbnn export "
                  "turns them into layouts)",
    }.get(kind, f"{name} is not an hbnn checkpoint (hbnn train writes checkpoints: torch archives, .pt)"))
