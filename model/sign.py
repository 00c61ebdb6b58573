"""The one sign function hbnn uses: sign(x) = +1 for x >= 0, else -1 (never 0).

`torch.sign(0)` is 0, which no binary weight or activation can represent; hardware stores +1 as
bit 0 and -1 as bit 1 (the layout contract, `model/layout.py`), so sign(0) must be +1 everywhere: training, export, golden.
"""

import torch


def sign(x: torch.Tensor) -> torch.Tensor:
    """+1 where x >= 0, -1 elsewhere, in x's dtype. No gradient flows through it."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
