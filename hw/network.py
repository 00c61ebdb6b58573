"""`network.Top`: a whole layout as one streaming component, pixels in, class and scores out.

Input stream: one image per beat, its pixel codes packed element by element in the layout's
order (C, H, W), pixel_bits each. Output stream: `{"cls": class index, "scores": signed scores}`.
The layers are chained stream components and the result leaves from an output register; every
stage advances while its output slot is free or being taken, so backpressure holds data in place
and images flow back to back, one per cycle (initiation interval 1), with `latency` cycles from an
accepted image to its result when the sink is always ready.

This version builds networks of dense layers; a layout with convolution or max-pool layers is
refused by `check_buildable` (naming the layer) before anything is elaborated.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from model.layout import MaxPool, Network

from . import argmax, dense, mvu


class UnsupportedLayout(ValueError):
    """The generator cannot build this layout; the message names the layer and the reason."""


def check_buildable(network: Network) -> None:
    for index, layer in enumerate(network.layers):
        if isinstance(layer, MaxPool) or layer.kind != "dense":
            raise UnsupportedLayout(
                f"layer {index} ({layer.kind}): this generator builds dense layers only so far; "
                "convolution and max-pool need the sliding-window generator")


class Top(wiring.Component):
    def __init__(self, network: Network, *, pipeline: int = 0):
        check_buildable(network)
        self.network = network
        self.layers = [dense.Layer(layer, pipeline=pipeline) for layer in network.weight_layers()]
        last = network.weight_layers()[-1]
        self.score_width = last.accumulator_width()
        pixels = 1
        for s in network.input_shape:
            pixels *= s
        self.result_layout = data.StructLayout({
            "cls": range(network.num_classes),
            "scores": data.ArrayLayout(mvu.Unrolled.accumulator_shape(last), network.num_classes),
        })
        super().__init__({
            "i": In(stream.Signature(pixels * network.pixel_bits)),
            "o": Out(stream.Signature(self.result_layout)),
        })

    @property
    def latency(self) -> int:
        """Cycles from an accepted image to its valid result, with an always-ready sink."""
        return sum(layer.latency for layer in self.layers) + 1  # + the output register

    @property
    def initiation_interval(self) -> int:
        """Cycles between accepted images at full throughput."""
        return 1

    def elaborate(self, platform):
        m = Module()
        upstream = wiring.flipped(self.i)  # seen from inside, the input port is a source
        for index, layer in enumerate(self.layers):
            m.submodules[f"layer{index}"] = layer
            wiring.connect(m, upstream, layer.i)
            upstream = layer.o
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
