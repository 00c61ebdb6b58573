"""Run a whole layout through `network.Top` in the Amaranth simulator and compare with the golden model.

`check(network, pixels)` streams the images in (one beat per image for MLPs, one per pixel position
for CNNs, in `hw.packing` order) with random idle and backpressure, and returns a `Check` with the
classes and scores from the hardware, the golden ones, and every mismatch (image, what, expected,
actual). It is the pure-Python tier of verification; the cocotb benches run the Verilog itself.
"""

from dataclasses import dataclass, field, replace

import numpy as np

from hbnn.hw import network as network_module
from hbnn.hw.packing import pack, position_beats
from hbnn.hw.popcount_strategy import GENERIC, Strategy
from hbnn.hw.popcount_library import Inline
from hbnn.model import golden
from hbnn.model.layout import Network

from .amaranth_stream import run_stream


@dataclass
class Check:
    images: int
    classes: list
    expected_classes: list
    mismatches: list = field(default_factory=list)   # (image, "class" or "score c", expected, actual)

    @property
    def bit_exact(self) -> bool:
        return not self.mismatches


def input_beats(network: Network, pixels: np.ndarray) -> list[int]:
    """`network.Top`'s input beats: whole images for an MLP, pixel positions for a CNN."""
    if network.layers[0].kind == "dense":
        return [pack(image, network.pixel_bits) for image in pixels]
    return position_beats(pixels, network.pixel_bits)


def check(network: Network, pixels: np.ndarray, *, pipeline: int = 0, seed: int = 0,
          reference: Network | None = None, popcount: Strategy = GENERIC, fold=None) -> Check:
    """Hardware built from `network` against the golden model of `reference` (default: the same).
    A mapped `popcount` strategy runs with behavioural models of the family's cells; `fold` folds
    weight layers (`network.Top`)."""
    expected = golden.run(network if reference is None else reference, pixels)
    library = Inline(replace(popcount, behavioural=True) if popcount.name == "mapped" else popcount)
    top = network_module.Top(network, pipeline=pipeline, library=library, fold=fold)
    payloads = run_stream(top, input_beats(network, pixels), results_expected=len(pixels), seed=seed)
    result = Check(len(pixels), [], expected.classes.tolist())
    for n, payload in enumerate(payloads):
        beat = top.result_layout.from_bits(payload)
        cls, scores = int(beat.cls), [int(score) for score in beat.scores]
        result.classes.append(cls)
        if cls != result.expected_classes[n]:
            result.mismatches.append((n, "class", result.expected_classes[n], int(cls)))
        for c, (want, got) in enumerate(zip(expected.scores[n].tolist(), scores)):
            if want != got:
                result.mismatches.append((n, f"score {c}", want, got))
    return result
