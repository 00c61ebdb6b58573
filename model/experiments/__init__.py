"""Experiments that reproduce the source papers' claims; each writes Markdown, CSV and a PNG.

`run(name, out_dir, **options)` runs one of `EXPERIMENTS` (the training ones take `runner`:
`model.experiments.sweep`);
the modules, which import torch, load only when one runs, so the names can be checked without it.
"""

from importlib import import_module
from pathlib import Path

from ..errors import unknown_choice

#: experiment -> whether it trains nets (and so takes epochs and data sets)
EXPERIMENTS = {"reconstruction": False, "recipes": True, "bitmix": True, "methods": True, "gradient": True,
               "masks": True}


def check_name(name: str) -> str:
    if name not in EXPERIMENTS:
        raise unknown_choice("experiment", name, EXPERIMENTS)
    return name


def run(name: str, out_dir: str | Path = "build/experiments", **options):
    check_name(name)
    return import_module(f"{__name__}.{name}").run(Path(out_dir), **options)
