"""`network.Top`: a whole layout as one streaming component, pixels in, class and scores out.

Input stream: for a net that starts with a dense layer, one image per beat, its pixel codes packed
in the layout's order (C, H, W); for a net that starts with a convolution, one pixel position per
beat in raster order, its C channels packed (`hw.packing`). Output stream:
`{"cls": class index, "scores": signed scores}`, one beat per image.

Stages: a convolution is `window.Generator` then `dense.Layer` (one window per beat); max-pool is
`pool.Unit`; a dense layer after a feature map first gathers it with `flatten.Collector`.
Every stage advances while its output slot is free or being taken, so backpressure holds data in
place and images flow back to back: an MLP takes one image per cycle; a CNN one every
`initiation_interval` cycles (at least the padded positions of its largest map, plus any stall
between stages). `latency` and `initiation_interval` are exact, measured in simulation on the
design's skeleton (`hw.timing`).

A layout the generator cannot build is refused by `buildable.check_buildable`, naming the layer
and the reason, before anything is elaborated.
"""

from functools import cached_property

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hbnn.model.layout import MaxPool, Network

from . import argmax, dense, flatten, mvu, pool, window
from .buildable import check_buildable


def layer_stages(network: Network, index: int, *, pipeline: int = 0, library=None, progress=None) -> list:
    """The stream stages that implement layout layer `index`, in order (`progress`, if given, is
    called with 1 as each output of a weight layer is built)."""
    layer = network.layers[index]
    previous_shape = tuple(network.input_shape) if index == 0 else network.layers[index - 1].out_shape
    if isinstance(layer, MaxPool):
        code = next(l.output_code for l in reversed(network.layers[:index]) if not isinstance(l, MaxPool))
        return [pool.Unit(in_shape=tuple(layer.in_shape), size=layer.size, level_bits=code.bits)]
    if layer.kind != "dense":
        return [window.Generator(in_shape=tuple(layer.in_shape), kernel=layer.kernel, stride=layer.stride,
                                 padding=layer.padding, level_bits=layer.input.bits,
                                 pad_level=layer.input.pad_level),
                dense.Layer(layer, pipeline=pipeline, library=library, progress=progress)]
    if index > 0 and len(previous_shape) > 1:   # a feature map arrives one position per beat
        return [flatten.Collector(in_shape=previous_shape, level_bits=layer.input.bits),
                dense.Layer(layer, pipeline=pipeline, library=library, progress=progress)]
    return [dense.Layer(layer, pipeline=pipeline, library=library, progress=progress)]


class Chain(wiring.Component):
    """Stream stages connected in order, as one component (the first's input, the last's output)."""

    def __init__(self, stages: list):
        self.stages = list(stages)
        super().__init__({"i": In(self.stages[0].i.signature.flip()),
                          "o": Out(self.stages[-1].o.signature)})

    def elaborate(self, platform):
        m = Module()
        upstream = wiring.flipped(self.i)
        for index, stage in enumerate(self.stages):
            m.submodules[f"stage{index}"] = stage
            wiring.connect(m, upstream, stage.i)
            upstream = stage.o
        wiring.connect(m, upstream, wiring.flipped(self.o))
        return m


def result_layout(network: Network) -> data.StructLayout:
    """The result payload of a whole network, one beat per image: the class index `cls`, then the
    signed `scores`. The one definition of its bit fields: the design JSON (`hw.generate`), the
    benches and the UART bridge all read them from here."""
    last = network.weight_layers()[-1]
    return data.StructLayout({
        "cls": range(network.num_classes),
        "scores": data.ArrayLayout(mvu.Unrolled.accumulator_shape(last), network.num_classes),
    })


class Top(wiring.Component):
    """The whole network: every layer's stages as one `Chain` (submodule `layers`, stage n at
    `layers.stage<n>`), then the argmax and a result register. Ports: `i`, the first stage's input
    stream; `o`, a stream of `result_layout(network)`."""

    def __init__(self, network: Network, *, pipeline: int = 0, library=None, progress=None):
        check_buildable(network)
        self.network = network
        self.pipeline = pipeline
        self.layer_stages = [layer_stages(network, index, pipeline=pipeline, library=library, progress=progress)
                             for index in range(len(network.layers))]
        self.layers = Chain([stage for stages in self.layer_stages for stage in stages])
        self.score_width = network.weight_layers()[-1].accumulator_width()
        self.result_layout = result_layout(network)
        super().__init__({"i": In(self.layers.i.signature.flip()),
                          "o": Out(stream.Signature(self.result_layout))})

    STAGE_PATH = "layers.stage{index}"   # where stage `index` sits in the hierarchy (synthesis keeps it)

    @cached_property
    def timing(self):
        """The exact `hw.timing.Timing` of this design, measured in simulation on its skeleton."""
        from . import timing

        return timing.timing(self.network, pipeline=self.pipeline)

    @property
    def latency(self) -> int:
        """Cycles from the edge that accepts an image's last input beat to the edge that delivers
        its result, for an image entering an empty design, the sink always ready (exact)."""
        return self.timing.latency

    @property
    def initiation_interval(self) -> int:
        """Cycles between results when images stream back to back (exact, steady state)."""
        return self.timing.initiation_interval

    def elaborate(self, platform):
        m = Module()
        m.submodules.layers = layers = self.layers
        wiring.connect(m, wiring.flipped(self.i), layers.i)
        m.submodules.argmax = pick = argmax.Unit(self.network.num_classes, width=self.score_width)
        m.d.comb += pick.i.eq(layers.o.payload)

        # Output register: the result leaves from flip-flops (one cycle of latency), and it
        # advances, like every stage, only while its slot is free or being taken.
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), layers.o.ready.eq(advance)]
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(layers.o.valid),
                         self.o.payload.scores.eq(layers.o.payload),
                         self.o.payload.cls.eq(pick.o)]
        return m
