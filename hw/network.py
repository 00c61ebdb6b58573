"""`network.Top`: a whole layout as one streaming component, pixels in, class and scores out.

Input stream: for a net that starts with a dense layer, one image per beat, its pixel codes packed
in the layout's order (C, H, W); for a net that starts with a convolution, one pixel position per
beat in raster order, its C channels packed (`hw.packing`). Output stream:
`{"cls": class index, "scores": signed scores}`, one beat per image.

Stages: a convolution is `window.Generator` then `dense.Layer` (one window per beat); max-pool is
`pool.Unit`; a dense layer after a feature map first gathers it with `flatten.Collector`.
Every stage advances while its output slot is free or being taken, so backpressure holds data in
place and images flow back to back: an MLP takes one image per cycle; a CNN one every
`initiation_interval` cycles (the padded positions of its first map).

A layout the generator cannot build is refused by `check_buildable`, naming the layer and the
reason, before anything is elaborated.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hbnn.model.errors import ConfigError
from hbnn.model.layout import MaxPool, Network

from . import argmax, dense, flatten, mvu, pool, window


class UnsupportedLayout(ConfigError):
    """The generator cannot build this layout; the message names the layer and the reason."""


def check_buildable(network: Network) -> None:
    """Raise `UnsupportedLayout` naming the first layer this generator cannot build."""
    for index, layer in enumerate(network.layers):
        if isinstance(layer, MaxPool):
            continue
        if layer.kind != "dense" and layer.stride > layer.kernel:
            raise UnsupportedLayout(f"layer {index} ({layer.kind}): stride {layer.stride} is larger "
                                    f"than kernel {layer.kernel}; the line buffer would skip input")


def layer_stages(network: Network, index: int, *, pipeline: int = 0, library=None) -> list:
    """The stream stages that implement layout layer `index`, in order."""
    layer = network.layers[index]
    previous_shape = tuple(network.input_shape) if index == 0 else network.layers[index - 1].out_shape
    if isinstance(layer, MaxPool):
        code = next(l.output_code for l in reversed(network.layers[:index]) if not isinstance(l, MaxPool))
        return [pool.Unit(in_shape=tuple(layer.in_shape), size=layer.size, level_bits=code.bits)]
    if layer.kind != "dense":
        return [window.Generator(in_shape=tuple(layer.in_shape), kernel=layer.kernel, stride=layer.stride,
                                 padding=layer.padding, level_bits=layer.input.bits,
                                 pad_level=layer.input.pad_level),
                dense.Layer(layer, pipeline=pipeline, library=library)]
    if index > 0 and len(previous_shape) > 1:   # a feature map arrives one position per beat
        return [flatten.Collector(in_shape=previous_shape, level_bits=layer.input.bits),
                dense.Layer(layer, pipeline=pipeline, library=library)]
    return [dense.Layer(layer, pipeline=pipeline, library=library)]


class Chain(wiring.Component):
    """Stream stages connected in order, as one component (the first's input, the last's output)."""

    def __init__(self, stages: list):
        self.stages = list(stages)
        super().__init__({"i": In(self.stages[0].i.signature.flip()),
                          "o": Out(self.stages[-1].o.signature)})

    @property
    def latency(self) -> int:
        return sum(stage.latency for stage in self.stages)

    @property
    def cycles_per_image(self) -> int:
        return max(getattr(stage, "cycles_per_image", 1) for stage in self.stages)

    def elaborate(self, platform):
        m = Module()
        upstream = wiring.flipped(self.i)
        for index, stage in enumerate(self.stages):
            m.submodules[f"stage{index}"] = stage
            wiring.connect(m, upstream, stage.i)
            upstream = stage.o
        wiring.connect(m, upstream, wiring.flipped(self.o))
        return m


class Top(wiring.Component):
    def __init__(self, network: Network, *, pipeline: int = 0, library=None):
        check_buildable(network)
        self.network = network
        self.layer_stages = [layer_stages(network, index, pipeline=pipeline, library=library)
                             for index in range(len(network.layers))]
        self.stages = [stage for stages in self.layer_stages for stage in stages]
        last = network.weight_layers()[-1]
        self.score_width = last.accumulator_width()
        first = network.layers[0]
        per_beat = 1
        for s in (network.input_shape if first.kind == "dense" else network.input_shape[:1]):
            per_beat *= s
        self.result_layout = data.StructLayout({
            "cls": range(network.num_classes),
            "scores": data.ArrayLayout(mvu.Unrolled.accumulator_shape(last), network.num_classes),
        })
        super().__init__({
            "i": In(stream.Signature(per_beat * network.pixel_bits)),
            "o": Out(stream.Signature(self.result_layout)),
        })

    @property
    def latency(self) -> int:
        """Cycles from accepting an image's last input beat to its result, with an always-ready sink
        (exact when every pooled map divides evenly; an upper bound otherwise)."""
        return sum(stage.latency for stage in self.stages) + 1  # + the result register

    @property
    def initiation_interval(self) -> int:
        """Cycles between images at full throughput: the slowest stage's cycles per image."""
        return max(getattr(stage, "cycles_per_image", 1) for stage in self.stages)

    def elaborate(self, platform):
        m = Module()
        upstream = wiring.flipped(self.i)  # seen from inside, the input port is a source
        for index, stage in enumerate(self.stages):
            m.submodules[f"stage{index}"] = stage
            wiring.connect(m, upstream, stage.i)
            upstream = stage.o
        m.submodules.argmax = pick = argmax.Unit(self.network.num_classes, width=self.score_width)
        m.d.comb += pick.i.eq(upstream.payload)

        # Output register: the result leaves from flip-flops (one cycle of latency), and it
        # advances, like every stage, only while its slot is free or being taken.
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), upstream.ready.eq(advance)]
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(upstream.valid),
                         self.o.payload.scores.eq(upstream.payload),
                         self.o.payload.cls.eq(pick.o)]
        return m
