"""Packing level vectors into stream payload integers and back: the one place the bit order lives.

Element j of a vector of b-bit levels sits at bits [j b, (j+1) b) of the payload (element 0 in
the least significant bits), in the layout's element order: (C, H, W) for images and feature
maps, output channel order for layer outputs. Used by the hardware tests and by the cocotb benches.
"""

import numpy as np


def pack(levels, bits: int) -> int:
    """One payload integer from a vector (any shape, flattened C-order) of levels in 0 .. 2^bits - 1."""
    flat = np.asarray(levels, dtype=np.int64).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= (1 << bits)):
        raise ValueError(f"Levels must lie in 0..{(1 << bits) - 1}, found {flat.min()}..{flat.max()}")
    value = 0
    for j, level in enumerate(flat.tolist()):
        value |= level << (j * bits)
    return value


def position_beats(maps, bits: int) -> list[int]:
    """Stream beats of per-image maps (N, C, *spatial): one beat per position in raster order,
    holding that position's C levels. This is how convolutional stages exchange feature maps."""
    beats = []
    for fmap in np.asarray(maps, dtype=np.int64):
        for index in np.ndindex(*fmap.shape[1:]):
            beats.append(pack(fmap[(slice(None),) + index], bits))
    return beats


def unpack(value: int, count: int, bits: int) -> np.ndarray:
    """The `count` levels of a payload integer, as int64."""
    mask = (1 << bits) - 1
    return np.array([(value >> (j * bits)) & mask for j in range(count)], dtype=np.int64)


def unpack_signed(value: int, count: int, bits: int) -> np.ndarray:
    """`count` two's-complement fields of `bits` each (accumulators, scores)."""
    raw = unpack(value, count, bits)
    return np.where(raw >= (1 << (bits - 1)), raw - (1 << bits), raw)


def pack_signed(values, bits: int) -> int:
    """One payload integer from signed values, each as a `bits`-wide two's-complement field."""
    mask = (1 << bits) - 1
    value = 0
    for j, v in enumerate(np.asarray(values, dtype=np.int64).reshape(-1).tolist()):
        if not -(1 << (bits - 1)) <= v < (1 << (bits - 1)):
            raise ValueError(f"{v} does not fit a signed {bits}-bit field")
        value |= (v & mask) << (j * bits)
    return value


def pack_result(fields: dict, cls: int, scores) -> int:
    """One result beat of a whole network from its class and scores, at the offsets `fields` gives
    (the design JSON's `output.fields`, from `hw.network.result_layout`)."""
    spec = fields["scores"]
    return ((int(cls) << fields["cls"]["offset"])
            | (pack_signed(scores, spec["bits"]) << spec["offset"]))


def unpack_result(fields: dict, value: int) -> tuple[int, np.ndarray]:
    """(class, scores) of one result beat; the inverse of `pack_result`."""
    cls = (value >> fields["cls"]["offset"]) & ((1 << fields["cls"]["bits"]) - 1)
    spec = fields["scores"]
    return cls, unpack_signed(value >> spec["offset"], spec["count"], spec["bits"])
