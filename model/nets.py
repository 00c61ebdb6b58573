"""The one `Net` module that builds any `config.NetConfig`.

A net is a list of `LayerSpec`s (`hbnn.model.config`). Every layer but the last is

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

import torch
from torch import nn
from torch.nn import functional as F

from .activations import FloatActivation, PixelQuantizer, ResidualActivation
from .bitmix import parse_mix
from .config import LayerSpec, NetConfig
from .errors import ConfigError
from .layers import BinaryConv1d, BinaryConv2d, BinaryLinear, WeightQuantizer
from .layout import conv_output_size


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
        out_spatial = tuple(conv_output_size(s, spec.kernel, spec.stride, spec.padding) for s in spatial)
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

    def after_step(self, learning_rate: float) -> None:
        """After each optimizer step taken with `learning_rate`: box clips and ProxQuant's prox."""
        for layer in self.binary_layers():
            layer.after_step(learning_rate)
