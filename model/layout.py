"""The layout file: the one contract between training, hardware and verification (numpy only).

A `Network` is an input description and a list of layers, each a `WeightLayer` (dense, conv1d,
conv2d) or a `MaxPool`. Everything is integer; nothing here imports torch or amaranth.

Conventions, fixed once:

- **Sign bits**: a stored bit 1 means -1, 0 means +1; sign(0) = +1.
- **Fan-in order**: weight (o, j) with j running over (channel, kernel row, kernel column) in
  that order, channel slowest, exactly `torch_weight.reshape(O, -1)`; a dense layer after a conv
  reads the feature map flattened channel-major (C, H, W).
- **Levels**: every activation is an unsigned level L. Pixels: L = c in 0 .. 2^b - 1, value c
  (b = `pixel_bits`, 1..8). Residual n-bit activations (n = 1..3): L in 0 .. 2^n - 1 whose bit
  n-k (MSB first) is 1 where plane k is +1, value V(L) = sum_k Q_k (2 bit_k - 1), with integer
  plane weights Q_1 > Q_2 > ... > Q_n >= 1 (each residual scale below the one before).
- **Max-pool** takes the largest level of each window. A level counts the thresholds its
  pre-activation reaches, so it never decreases as the pre-activation grows: the largest level is
  the level of the largest pre-activation, which is what the trained net computes (it pools before
  its activation quantizer). It is the level of the largest *value* only where V grows with L,
  that is where every Q_k >= Q_{k+1} + ... + Q_n: always for 1 and 2 bits, not always for 3
  (the MNIST-1D CNN trained with 3-bit activations exports Q = (64, 48, 29)).
- **Weights**: weight (o, j) has `bits[o, j]` planes; plane i holds the sign bit `planes[i, o, j]`
  (0 where bits <= i). Its integer value is W[o, j] = sum_{i < bits} R[o, i] s_{i,o,j} with
  R = `plane_weights` (R[o, 0] = 2^F for per-tensor scales; F = `frac_bits`).
- **Pre-activation** of output o: Y_o = sum_j W[o, j] V(L_j), i.e.
  Y_o = sum_i R[o, i] sum_k Q_k D_{o,i,k} with D the +-1 dot product of weight plane i and
  activation plane k over the weights with bits > i (pixels: Q_t = 2^t and {0, 1} planes).
- **Outputs**: hidden layers compare Y_o with ascending integer `thresholds[o, m]`; the output
  level is the number of thresholds with Y_o >= T (every comparison is >=). The last layer emits
  the scores Y_o; the class is the argmax, lowest index winning ties.

The file is one `.npz` written without pickle, holding the arrays and a JSON manifest (format
name and version, provenance, per-layer scalar fields) with a SHA-256 `content_hash` of the
manifest and the arrays, so a file changed after it was written is refused. `load` checks every
field the contract states, its type (no number is converted) and its range, and raises
`LayoutError` naming the layer, the field and the bad value.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hbnn.files import atomic_output, kind_of_file

from .errors import ConfigError

FORMAT = "hbnn-layout"
FORMAT_VERSION = 2         # 2: the content hash covers the manifest too
MAX_WEIGHT_BITS = 3         # bit planes a weight may have (the bit limit of every mix)
MAX_ACTIVATION_BITS = 3     # planes of a hidden layer's residual activation code
MAX_PIXEL_BITS = 8          # unsigned input precision of the first layer
WEIGHT_KINDS = ("dense", "conv1d", "conv2d")
INPUT_KINDS = ("pixels", "residual")


class LayoutError(ConfigError):
    """A layout that is malformed: names the layer, the field and the bad value."""


def _error(where: str, field_name: str, message: str) -> LayoutError:
    return LayoutError(f"{where}: field '{field_name}' {message}")


@dataclass(frozen=True)
class InputCode:
    """How a weight layer's input levels map to integer values (see the module docstring)."""

    kind: str                       # "pixels" (unsigned) or "residual" (+-1 planes)
    bits: int                       # pixel bits or activation bits
    plane_weights: tuple[int, ...]  # pixels: 2^t for t = 0 .. b-1; residual: Q_1 .. Q_n

    @property
    def levels(self) -> int:
        return 1 << self.bits

    def values(self) -> np.ndarray:
        """V(L) for L = 0 .. 2^bits - 1, as int64."""
        levels = np.arange(self.levels, dtype=np.int64)
        if self.kind == "pixels":
            return levels
        values = np.zeros(self.levels, dtype=np.int64)
        for k, q in enumerate(self.plane_weights):
            bit = (levels >> (self.bits - 1 - k)) & 1
            values += q * (2 * bit - 1)
        return values

    @property
    def pad_level(self) -> int:
        """Padding level: pixel 0, or the residual code with every plane +1 (the top level)."""
        return 0 if self.kind == "pixels" else self.levels - 1


@dataclass(frozen=True, eq=False)
class WeightLayer:
    """A dense or convolution layer with per-weight bit counts and integer thresholds."""

    kind: str                        # "dense", "conv1d" or "conv2d"
    in_shape: tuple[int, ...]        # (K,) dense; (C, L) conv1d; (C, H, W) conv2d
    out_channels: int
    kernel: int                      # kernel side (1 for dense)
    stride: int
    padding: int                     # each side, with `input.pad_level`
    input: InputCode
    bits: np.ndarray                 # (O, K) uint8, 1 .. 3
    planes: np.ndarray               # (P, O, K) uint8 sign bits, P = bits.max()
    plane_weights: np.ndarray        # (O, P) int64 R[o, i] >= 0
    frac_bits: int                   # F
    thresholds: np.ndarray | None    # (O, 2^n - 1) int64 ascending, or None on the last layer
    output_code: InputCode | None    # the code the thresholds produce (None: scores)

    ARRAYS = ("bits", "planes", "plane_weights", "thresholds")

    @property
    def fan_in(self) -> int:
        if self.kind == "dense":
            return int(np.prod(self.in_shape))
        spatial = self.kernel ** (2 if self.kind == "conv2d" else 1)
        return self.in_shape[0] * spatial

    @property
    def out_shape(self) -> tuple[int, ...]:
        if self.kind == "dense":
            return (self.out_channels,)
        return (self.out_channels,) + tuple(conv_output_size(s, self.kernel, self.stride, self.padding)
                                            for s in self.in_shape[1:])

    @property
    def is_last(self) -> bool:
        return self.thresholds is None

    def plane_signs(self) -> np.ndarray:
        """S[i, o, j] = 1 - 2 planes[i, o, j] where bits[o, j] > i, else 0; int64 (P, O, K)."""
        active = np.arange(self.planes.shape[0])[:, None, None] < self.bits[None]
        return (1 - 2 * self.planes.astype(np.int64)) * active

    def integer_weights(self) -> np.ndarray:
        """W[o, j] = sum_i R[o, i] S[i, o, j] (`plane_signs`), int64 (O, K)."""
        return (self.plane_weights.T[:, :, None] * self.plane_signs()).sum(axis=0)

    def plane_members(self, plane: int, output: int) -> np.ndarray:
        """Fan-in indices j of the weights taking part in plane `plane` of output `output`."""
        return np.flatnonzero(self.bits[output] > plane)

    def accumulator_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-output lowest and highest reachable Y_o over all input levels, int64 (O,)."""
        values = self.input.values()
        w = self.integer_weights()
        low = np.minimum(w * values.min(), w * values.max()).sum(axis=1)
        high = np.maximum(w * values.min(), w * values.max()).sum(axis=1)
        return low, high

    def accumulator_width(self) -> int:
        """Two's-complement bits that hold every reachable Y_o (and every threshold)."""
        low, high = self.accumulator_bounds()
        return signed_width(int(low.min()), int(high.max()) + 1)

    def popcount_widths(self) -> np.ndarray:
        """(P, O): bits of each plane's popcount, ceil(log2(members + 1))."""
        members = np.stack([(self.bits > i).sum(axis=1) for i in range(self.planes.shape[0])])
        return np.ceil(np.log2(members + 1)).astype(np.int64)


@dataclass(frozen=True)
class MaxPool:
    """Max-pool of levels, window = stride = `size`, on (C, H, W) or (C, L); no padding."""

    in_shape: tuple[int, ...]
    size: int
    kind: str = "maxpool"

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.in_shape[0],) + tuple(s // self.size for s in self.in_shape[1:])


@dataclass(frozen=True, eq=False)
class Network:
    input_shape: tuple[int, ...]
    pixel_bits: int
    num_classes: int
    layers: tuple
    provenance: dict = field(default_factory=dict)  # data set, net, mix, method, hbnn version ...
    content_hash: str | None = None                 # set by `load`: the file's SHA-256 of the arrays

    def weight_layers(self) -> list[WeightLayer]:
        return [layer for layer in self.layers if isinstance(layer, WeightLayer)]


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output positions along one axis of a convolution: floor((size + 2 padding - kernel) / stride)
    + 1, PyTorch's rule (below 1: the kernel does not fit)."""
    return (size + 2 * padding - kernel) // stride + 1


def signed_width(low: int, high: int) -> int:
    """Smallest two's-complement width holding every integer in [low, high]."""
    width = 1
    while not (-(1 << (width - 1)) <= low and high <= (1 << (width - 1)) - 1):
        width += 1
    return width


# ---------------------------------------------------------------------------------------------
# Validation


def validate(network: Network) -> Network:
    """Raise `LayoutError` for the first field that breaks the contract (its type, its range, or
    its agreement with the layers around it); return the network unchanged otherwise."""
    _check_shape("network", "input_shape", network.input_shape, dims=(1, 2, 3))
    _check_integer("network", "pixel_bits", network.pixel_bits, 1, MAX_PIXEL_BITS)
    _check_integer("network", "num_classes", network.num_classes, 2)   # an argmax needs two
    if not network.layers:
        raise _error("network", "layers", "is empty")
    shape = tuple(network.input_shape)
    code = InputCode("pixels", network.pixel_bits, tuple(1 << t for t in range(network.pixel_bits)))
    for index, layer in enumerate(network.layers):
        where = f"layer {index} ({layer.kind})"
        if isinstance(layer, MaxPool):
            _check_pool(where, layer, shape, code)
            shape = layer.out_shape
            continue
        _check_scalars(where, layer)
        expected_shape = shape if layer.kind != "dense" else (int(np.prod(shape)),)
        if tuple(layer.in_shape) != expected_shape:
            raise _error(where, "in_shape", f"is {tuple(layer.in_shape)}, but the previous layer gives {expected_shape}")
        if layer.input != code:
            raise _error(where, "input", f"is {layer.input}, but the previous layer gives {code}")
        _check_weight_layer(where, layer, last=index == len(network.layers) - 1)
        shape = layer.out_shape
        code = layer.output_code
    if shape != (network.num_classes,):
        raise _error("network", "num_classes", f"is {network.num_classes}, but the last layer gives {shape}")
    return network


def _check_integer(where: str, name: str, value, low: int, high: int | None = None) -> None:
    """`value` is an int (not a bool, not a float) in [low, high]."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise _error(where, name, f"must be an integer, not {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f"at least {low}"
        raise _error(where, name, f"is {value}, expected {bounds}")


def _check_shape(where: str, name: str, shape, *, dims) -> None:
    if not isinstance(shape, (tuple, list)) or len(shape) not in dims:
        raise _error(where, name, f"is {shape!r}, expected {' or '.join(map(str, dims))} positive integers")
    for size in shape:
        _check_integer(where, name, size, 1)


def _check_scalars(where: str, layer: WeightLayer) -> None:
    """Types and ranges of a weight layer's scalar fields (shapes, kernel, stride, padding, F)."""
    if layer.kind not in WEIGHT_KINDS:
        raise _error(where, "kind", f"is {layer.kind!r}, expected one of {', '.join(WEIGHT_KINDS)}")
    _check_shape(where, "in_shape", layer.in_shape, dims=({"dense": 1, "conv1d": 2, "conv2d": 3}[layer.kind],))
    for name in ("out_channels", "kernel", "stride"):
        _check_integer(where, name, getattr(layer, name), 1)
    _check_integer(where, "padding", layer.padding, 0)
    _check_integer(where, "frac_bits", layer.frac_bits, 0, 16)
    if layer.kind == "dense" and (layer.kernel, layer.stride, layer.padding) != (1, 1, 0):
        raise _error(where, "kernel", f"a dense layer has kernel 1, stride 1, padding 0, not "
                                      f"{layer.kernel}, {layer.stride}, {layer.padding}")


def check_residual_code(where: str, name: str, code: InputCode) -> None:
    """A hidden layer's activation code: 1..MAX_ACTIVATION_BITS planes with integer weights
    Q_1 > Q_2 > ... > Q_n >= 1 (each plane's scale below the one before, as residual binarization
    makes them; `export` refuses scales that do not shrink)."""
    if not isinstance(code, InputCode) or code.kind != "residual":
        raise _error(where, name, f"is {code}; hidden layers emit residual codes")
    _check_integer(where, f"{name}.bits", code.bits, 1, MAX_ACTIVATION_BITS)
    weights = code.plane_weights
    if len(weights) != code.bits:
        raise _error(where, name, f"has plane weights {weights} for {code.bits} bits")
    for q in weights:
        _check_integer(where, f"{name}.plane_weights", q, 1)
    if any(a <= b for a, b in zip(weights, weights[1:])):
        raise _error(where, name, f"plane weights {weights} must decrease strictly (Q_1 > Q_2 > ...)")


def _check_pool(where, layer, shape, code):
    if code is None or code.kind != "residual":
        raise _error(where, "kind", "must follow a hidden weight layer (it pools activation levels)")
    _check_integer(where, "size", layer.size, 2)
    if tuple(layer.in_shape) != shape or len(shape) < 2:
        raise _error(where, "in_shape", f"is {tuple(layer.in_shape)}, but the previous layer gives {shape}")
    if min(shape[1:]) < layer.size:
        raise _error(where, "size", f"{layer.size} does not fit feature map {shape}")


def _check_array(where, name, array, dtype_kind, shape):
    if not isinstance(array, np.ndarray):
        raise _error(where, name, f"must be an array, not {type(array).__name__}")
    if array.dtype.kind != dtype_kind:
        raise _error(where, name, f"has dtype {array.dtype}, expected {'unsigned' if dtype_kind == 'u' else 'signed'} integers")
    if array.shape != shape:
        raise _error(where, name, f"has shape {array.shape}, expected {shape}")


def _check_weight_layer(where: str, layer: WeightLayer, last: bool) -> None:
    if layer.kind != "dense" and min(layer.out_shape[1:]) < 1:
        raise _error(where, "kernel", f"{layer.kernel} does not fit input {tuple(layer.in_shape)}")
    o, k = layer.out_channels, layer.fan_in
    _check_array(where, "bits", layer.bits, "u", (o, k))
    if layer.bits.min() < 1 or layer.bits.max() > MAX_WEIGHT_BITS:
        bad = layer.bits.max() if layer.bits.max() > MAX_WEIGHT_BITS else layer.bits.min()
        raise _error(where, "bits", f"holds {bad}; bit counts must be 1..{MAX_WEIGHT_BITS}")
    planes = int(layer.bits.max())
    _check_array(where, "planes", layer.planes, "u", (planes, o, k))
    if layer.planes.max() > 1:
        raise _error(where, "planes", f"holds {layer.planes.max()}; sign bits must be 0 or 1")
    inactive = np.arange(planes)[:, None, None] >= layer.bits[None]
    if (layer.planes.astype(bool) & inactive).any():
        raise _error(where, "planes", "has a sign bit set on a plane the weight does not have")
    _check_array(where, "plane_weights", layer.plane_weights, "i", (o, planes))
    if layer.plane_weights.min() < 0:
        raise _error(where, "plane_weights", f"holds {layer.plane_weights.min()}; plane weights must not be negative")
    if last:
        if layer.thresholds is not None or layer.output_code is not None:
            raise _error(where, "thresholds", "must be absent on the last layer, which emits scores")
        return
    code = layer.output_code
    check_residual_code(where, "output_code", code)
    _check_array(where, "thresholds", layer.thresholds, "i", (o, code.levels - 1))
    if (np.diff(layer.thresholds, axis=1) < 0).any():
        raise _error(where, "thresholds", "must ascend along each output")
    low, high = layer.accumulator_bounds()
    outside = (layer.thresholds < low[:, None]) | (layer.thresholds > high[:, None] + 1)
    if outside.any():
        o_bad, m_bad = map(int, np.argwhere(outside)[0])
        raise _error(where, "thresholds", f"[{o_bad}, {m_bad}] = {int(layer.thresholds[o_bad, m_bad])} lies "
                     f"outside the accumulator range [{int(low[o_bad])}, {int(high[o_bad]) + 1}]")


# ---------------------------------------------------------------------------------------------
# File format


def _code_to_json(code: InputCode | None):
    return None if code is None else {"kind": code.kind, "bits": code.bits,
                                      "plane_weights": list(code.plane_weights)}


def _code_from_json(data, where: str, name: str) -> InputCode | None:
    if data is None:
        return None
    if not isinstance(data, dict) or data.get("kind") not in INPUT_KINDS:
        raise _error(where, name, f"is {data!r}; a code has a kind ({', '.join(INPUT_KINDS)}), bits and "
                                  "plane weights")
    weights = data.get("plane_weights")
    if not isinstance(weights, list):
        raise _error(where, f"{name}.plane_weights", f"must be a list, not {weights!r}")
    return InputCode(data["kind"], data.get("bits"), tuple(weights))


def content_hash(manifest: dict, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of everything in the file but the hash itself: the manifest as canonical JSON
    (sorted keys), then every array with its name, dtype and shape."""
    digest = hashlib.sha256()
    fields = {key: value for key, value in manifest.items() if key != "content_hash"}
    digest.update(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def to_arrays(network: Network) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON manifest and the named arrays of `network`."""
    arrays, layers = {}, []
    for index, layer in enumerate(network.layers):
        if isinstance(layer, MaxPool):
            layers.append({"kind": "maxpool", "in_shape": list(layer.in_shape), "size": layer.size})
            continue
        layers.append({"kind": layer.kind, "in_shape": list(layer.in_shape),
                       "out_channels": layer.out_channels, "kernel": layer.kernel,
                       "stride": layer.stride, "padding": layer.padding,
                       "input": _code_to_json(layer.input), "frac_bits": layer.frac_bits,
                       "output_code": _code_to_json(layer.output_code)})
        for name in WeightLayer.ARRAYS:
            value = getattr(layer, name)
            if value is not None:
                arrays[f"layer{index}.{name}"] = value
    manifest = {"format": FORMAT, "version": FORMAT_VERSION,
                "input_shape": list(network.input_shape), "pixel_bits": network.pixel_bits,
                "num_classes": network.num_classes, "provenance": network.provenance, "layers": layers}
    manifest["content_hash"] = content_hash(manifest, arrays)
    return manifest, arrays


def save(network: Network, path: str | os.PathLike) -> Path:
    """Validate and write `network` to `path` (.npz) atomically; returns the path.

    The archive is deterministic: members in a fixed order with a fixed timestamp, so the same
    network always gives the same bytes (np.savez stamps members with the time of writing)."""
    validate(network)
    manifest, arrays = to_arrays(network)
    members = {"manifest": np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8), **arrays}
    with atomic_output(path) as temporary, zipfile.ZipFile(temporary, "w") as archive:
        for name, array in members.items():
            member = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_TIMESTAMP)
            with archive.open(member, "w", force_zip64=True) as file:
                np.lib.format.write_array(file, np.asanyarray(array), allow_pickle=False)
    return Path(path)


_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)   # the earliest a zip file can state


def load(path: str | os.PathLike) -> Network:
    """Read and validate a layout file; every problem is a `LayoutError` naming what is wrong."""
    path = Path(path)
    kind = kind_of_file(path)
    if kind != "layout":
        name = repr(str(path))
        raise LayoutError({
            "missing": f"layout {name} does not exist",
            "folder": f"layout {name} is a folder, not a file (hbnn export writes layouts, .npz)",
            "checkpoint": f"{name} is a checkpoint, not a layout; export it first: hbnn export {path}",
        }.get(kind, f"{name} is not a layout file (hbnn export writes layouts: .npz archives with a "
                    "manifest)"))
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise LayoutError(f"layout {str(path)!r} is not a readable .npz file ({error})") from None
    if "manifest" not in contents:
        raise LayoutError(f"layout {str(path)!r} has no manifest")
    try:
        manifest = json.loads(contents.pop("manifest").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LayoutError(f"layout {str(path)!r} has a manifest that is not JSON ({error})") from None
    return from_arrays(manifest, contents)


def from_arrays(manifest: dict, arrays: dict[str, np.ndarray]) -> Network:
    """The validated `Network` of a manifest and its arrays. Values are taken as they are (no
    number is converted: a 2.5 where an integer belongs is an error, not a 2)."""
    if not isinstance(manifest, dict):
        raise LayoutError(f"manifest: must be a JSON object, not {type(manifest).__name__}")
    if manifest.get("format") != FORMAT:
        raise LayoutError(f"manifest: field 'format' is {manifest.get('format')!r}, expected {FORMAT!r}")
    version = manifest.get("version")
    if version != FORMAT_VERSION:
        older = (" (written by an older hbnn, whose content hash left out the manifest: export the "
                 "checkpoint again to get a version-2 layout)" if version == 1 else "")
        raise LayoutError(f"manifest: field 'version' is {version!r}; this hbnn reads version "
                          f"{FORMAT_VERSION}{older}")
    for name in ("input_shape", "pixel_bits", "num_classes", "provenance", "layers", "content_hash"):
        if name not in manifest:
            raise LayoutError(f"manifest: field {name!r} is missing")
    if content_hash(manifest, arrays) != manifest["content_hash"]:
        raise LayoutError("manifest: field 'content_hash' does not match the manifest and arrays "
                          "(the file was changed or is corrupted)")
    if not isinstance(manifest["layers"], list) or not isinstance(manifest["provenance"], dict):
        raise LayoutError("manifest: fields 'layers' and 'provenance' must be a list and an object")
    layers = []
    for index, entry in enumerate(manifest["layers"]):
        kind = entry.get("kind") if isinstance(entry, dict) else None
        where = f"layer {index} ({kind})"
        try:
            if kind == "maxpool":
                layers.append(MaxPool(tuple(entry["in_shape"]), entry["size"]))
                continue
            if kind not in WEIGHT_KINDS:
                raise _error(f"layer {index}", "kind", f"is {kind!r}, expected one of {', '.join(WEIGHT_KINDS + ('maxpool',))}")
            layers.append(WeightLayer(
                kind=kind, in_shape=tuple(entry["in_shape"]), out_channels=entry["out_channels"],
                kernel=entry["kernel"], stride=entry["stride"], padding=entry["padding"],
                input=_code_from_json(entry["input"], where, "input"), frac_bits=entry["frac_bits"],
                output_code=_code_from_json(entry["output_code"], where, "output_code"),
                bits=_array(arrays, index, "bits", where), planes=_array(arrays, index, "planes", where),
                plane_weights=_array(arrays, index, "plane_weights", where),
                thresholds=arrays.get(f"layer{index}.thresholds")))
        except KeyError as missing:
            raise _error(where, missing.args[0], "is missing") from None
        except TypeError:        # in_shape that is not a list
            raise _error(where, "in_shape", f"must be a list of integers, not {entry.get('in_shape')!r}") from None
    shape = manifest["input_shape"]
    network = Network(tuple(shape) if isinstance(shape, list) else shape, manifest["pixel_bits"],
                      manifest["num_classes"], tuple(layers), manifest["provenance"], manifest["content_hash"])
    return validate(network)


def _array(arrays, index, name, where):
    key = f"layer{index}.{name}"
    if key not in arrays:
        raise _error(where, name, "is missing")
    return arrays[key]
