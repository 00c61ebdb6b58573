"""Network configurations and the one `Net` module that builds any of them.

A net is a list of `LayerSpec`s. Every layer but the last is

    [pad] -> weights (dense / conv1d / conv2d) -> BatchNorm -> [max-pool] -> activation quantizer

and the last layer is weights only: its outputs are the class scores (times one learned positive
temperature, which does not change the argmax). The first layer reads `PixelQuantizer` codes.
Padding uses the previous activation's pad value (pixel code 0; for binary activations the code
with every plane +1), because a binary activation has no zero. Max-pool sits after BatchNorm and
before the quantizer; the quantizer is monotone, so this equals pooling the codes, as hardware does.
A dense layer after a conv flattens channel-major (C, H, W), as `torch.flatten`.

Which layers are binarized is the per-layer `binarize` field; `NetConfig.weights == "float"` (with
`act_bits == 0`) gives the float baseline of the same shape.
"""

import math
from dataclasses import asdict, dataclass, field, replace

import torch
from torch import nn
from torch.nn import functional as F

from .activations import FloatActivation, PixelQuantizer, ResidualActivation, check_act_bits, check_pixel_bits
from .allocation import check_allocation
from .bitmix import parse_mix
from .errors import ConfigError, unknown_choice
from .layers import BinaryConv1d, BinaryConv2d, BinaryLinear, WeightQuantizer
from .proxconnect import MethodConfig
from .residual import check_scale

LAYER_KINDS = ("dense", "conv1d", "conv2d")


@dataclass(frozen=True)
class LayerSpec:
    kind: str                # "dense", "conv1d" or "conv2d"
    out: int                 # output features or channels
    kernel: int = 1          # square kernel side (conv only)
    stride: int = 1
    padding: int = 0         # on every side, with the previous activation's pad value
    pool: int = 1            # max-pool window and stride after BatchNorm (1 = none)
    binarize: bool = True    # False keeps this layer's weights float

    def __post_init__(self):
        if self.kind not in LAYER_KINDS:
            raise unknown_choice("layer kind", self.kind, LAYER_KINDS)


@dataclass(frozen=True)
class NetConfig:
    dataset: str
    net: str
    input_shape: tuple[int, ...]          # per image: (C, H, W), (C, L) or (F,)
    num_classes: int
    layers: tuple[LayerSpec, ...]
    weights: str = "1.4"                  # weight mix ("1.4", "70/20/10", "2" ...) or "float"
    act_bits: int = 1                     # hidden activation bits 1..3, 0 = float ReLU
    pixel_bits: int = 4                   # unsigned input precision of the first layer
    method: MethodConfig = field(default_factory=MethodConfig)
    allocation: str = "middle-out"
    scale: str = "tensor"                 # one scale per bit plane per "tensor" or per "channel"
    ratio_bits: int = 6                   # fractional bits of the scale ratios hardware multiplies by
    ratio_digits: int = 0                 # at most this many signed binary digits per weight ratio (0: any)

    def __post_init__(self):
        if self.weights != "float":
            parse_mix(self.weights)
        check_act_bits(self.act_bits)
        check_pixel_bits(self.pixel_bits)
        check_allocation(self.allocation)
        check_scale(self.scale)
        if not isinstance(self.ratio_bits, int) or not 0 <= self.ratio_bits <= 12:
            raise ConfigError(f"ratio bits must be 0..12, not {self.ratio_bits!r}")
        if not isinstance(self.ratio_digits, int) or not 0 <= self.ratio_digits <= 4:
            raise ConfigError(f"ratio digits must be 0..4 (0: unrestricted), not {self.ratio_digits!r}")

    @property
    def is_float(self) -> bool:
        return self.weights == "float"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NetConfig":
        data = dict(data)
        data["input_shape"] = tuple(data["input_shape"])
        data["layers"] = tuple(LayerSpec(**layer) for layer in data["layers"])
        data["method"] = MethodConfig(**data["method"])
        return cls(**data)


def _digits_mlp(width: int) -> tuple[LayerSpec, ...]:
    return (LayerSpec("dense", width), LayerSpec("dense", 10))


def _digits_cnn(width: int) -> tuple[LayerSpec, ...]:
    return (LayerSpec("conv2d", width, kernel=3, padding=1, pool=2),
            LayerSpec("conv2d", 2 * width, kernel=3, padding=1, pool=2),
            LayerSpec("dense", 10))


def _mnist1d_cnn1d(width: int) -> tuple[LayerSpec, ...]:
    return (LayerSpec("conv1d", width, kernel=5, padding=2, pool=2),
            LayerSpec("conv1d", width, kernel=3, padding=1, pool=2),
            LayerSpec("conv1d", width, kernel=3, padding=1, pool=2),
            LayerSpec("dense", 10))


def _mnist1d_mlp(width: int) -> tuple[LayerSpec, ...]:
    return (LayerSpec("dense", width), LayerSpec("dense", width), LayerSpec("dense", 10))


#: (data set, net) -> (builder of the layer list from a width, default width, default pixel bits)
NETS = {
    ("digits", "mlp"): (_digits_mlp, 32, 4),
    ("digits", "cnn"): (_digits_cnn, 16, 4),
    ("mnist1d", "cnn1d"): (_mnist1d_cnn1d, 64, 4),
    ("mnist1d", "mlp"): (_mnist1d_mlp, 128, 4),
}


def net_names(dataset: str) -> list[str]:
    return [net for (ds, net) in NETS if ds == dataset]


def make_config(dataset: str, net: str, *, input_shape: tuple[int, ...], num_classes: int,
                width: int | None = None, pixel_bits: int | None = None, **options) -> NetConfig:
    """The registered net `net` for `dataset`, with `options` overriding NetConfig fields."""
    key = (dataset, net)
    if key not in NETS:
        raise unknown_choice(f"net for data set {dataset!r}:", net, net_names(dataset))
    builder, default_width, default_pixel_bits = NETS[key]
    width = default_width if width is None else width
    if not isinstance(width, int) or width < 1:
        raise ConfigError(f"width must be a positive integer, not {width!r}")
    layers = builder(width)
    layers = layers[:-1] + (replace(layers[-1], out=num_classes),)
    if options.get("weights") == "float":
        layers = tuple(replace(layer, binarize=False) for layer in layers)
    return NetConfig(dataset=dataset, net=net, input_shape=tuple(input_shape), num_classes=num_classes,
                     layers=layers, pixel_bits=default_pixel_bits if pixel_bits is None else pixel_bits,
                     **options)


class Block(nn.Module):
    """weights -> BatchNorm -> max-pool -> activation (the last block: weights only)."""

    def __init__(self, spec: LayerSpec, weights: nn.Module, norm: nn.Module | None,
                 act: nn.Module | None):
        super().__init__()
        self.spec = spec
        self.weights = weights
        self.norm = norm
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.weights(x)
        if self.norm is None:
            return x
        x = self.norm(x)
        if self.spec.pool > 1:
            pool = F.max_pool2d if self.spec.kind == "conv2d" else F.max_pool1d
            x = pool(x, self.spec.pool)
        return self.act(x)


class Net(nn.Module):
    """Any `NetConfig`; input images in [0, 1] shaped (N, *input_shape), output class scores."""

    def __init__(self, config: NetConfig, seed: int = 0):
        super().__init__()
        self.config = config
        self.pixels = PixelQuantizer(config.pixel_bits)
        mix = None if config.is_float else parse_mix(config.weights)
        shape = tuple(config.input_shape)
        blocks = []
        for index, spec in enumerate(config.layers):
            last = index == len(config.layers) - 1
            weights, shape = self._weights(spec, shape, mix, seed + index)
            if last:
                blocks.append(Block(spec, weights, None, None))
                break
            norm = nn.BatchNorm2d(spec.out) if spec.kind == "conv2d" else nn.BatchNorm1d(spec.out)
            if spec.pool > 1:
                shape = (shape[0],) + tuple(s // spec.pool for s in shape[1:])
            act = (ResidualActivation(config.act_bits, ratio_bits=config.ratio_bits) if config.act_bits
                   else FloatActivation())
            blocks.append(Block(spec, weights, norm, act))
        self.blocks = nn.ModuleList(blocks)
        # Scores are integer-like sums over the last fan-in; start the softmax near unit scale.
        fan_in = blocks[-1].weights.weight[0].numel()
        self.score_log_scale = nn.Parameter(torch.tensor(-0.5 * math.log(fan_in)))

    def _weights(self, spec: LayerSpec, shape: tuple[int, ...], mix, seed: int):
        """The weight layer for `spec` on inputs of `shape`, and its output shape."""
        binary = spec.binarize and mix is not None
        quantizer = None
        if binary:
            quantizer = WeightQuantizer(mix=mix, allocation=self.config.allocation,
                                        method=self.config.method, scale=self.config.scale, seed=seed,
                                        ratio_bits=self.config.ratio_bits,
                                        ratio_digits=self.config.ratio_digits)
        if spec.kind == "dense":
            fan_in = 1
            for s in shape:
                fan_in *= s
            layer = BinaryLinear(fan_in, spec.out, quantizer) if binary else nn.Linear(fan_in, spec.out, bias=False)
            return layer, (spec.out,)
        dims = 1 if spec.kind == "conv1d" else 2
        if len(shape) != dims + 1:
            raise ConfigError(f"{spec.kind} layer needs {dims}-D feature maps, got shape {shape}")
        channels, spatial = shape[0], shape[1:]
        out_spatial = tuple((s + 2 * spec.padding - spec.kernel) // spec.stride + 1 for s in spatial)
        if min(out_spatial) < 1:
            raise ConfigError(f"{spec.kind} kernel {spec.kernel} does not fit input {shape}")
        if binary:
            cls = BinaryConv1d if dims == 1 else BinaryConv2d
            layer = cls(channels, spec.out, spec.kernel, spec.stride, quantizer)
        else:
            cls = nn.Conv1d if dims == 1 else nn.Conv2d
            layer = cls(channels, spec.out, spec.kernel, stride=spec.stride, bias=False)
        return layer, (spec.out,) + out_spatial

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.pixels(images)
        previous = self.pixels
        for block in self.blocks:
            spec = block.spec
            if spec.padding:
                spatial = x.dim() - 2
                x = F.pad(x, (spec.padding,) * (2 * spatial), value=previous.pad_value())
            if spec.kind == "dense" and x.dim() > 2:
                x = x.flatten(1)
            x = block(x)
            previous = block.act
        return x * self.score_log_scale.exp()

    def binary_layers(self) -> list[nn.Module]:
        return [b.weights for b in self.blocks if hasattr(b.weights, "quantizer")]

    def set_progress(self, progress: float) -> None:
        """Training progress 0..1 for the PC++ annealing schedules."""
        for layer in self.binary_layers():
            layer.quantizer.progress = progress

    def after_step(self) -> None:
        for layer in self.binary_layers():
            layer.after_step()
