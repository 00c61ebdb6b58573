"""Experiments that reproduce the source papers' claims; each writes Markdown, CSV and a PNG.

`run(name, out_dir, **options)` dispatches to `reconstruction`, `bitmix` or `methods`.
"""

from pathlib import Path

from ..errors import unknown_choice
from . import bitmix, methods, reconstruction

EXPERIMENTS = {
    "reconstruction": reconstruction.run,
    "bitmix": bitmix.run,
    "methods": methods.run,
}


def run(name: str, out_dir: str | Path = "build/experiments", **options):
    if name not in EXPERIMENTS:
        raise unknown_choice("experiment", name, EXPERIMENTS)
    return EXPERIMENTS[name](Path(out_dir), **options)
