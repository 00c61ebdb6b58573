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

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hbnn.model.layout import MaxPool, Network

from . import argmax, dense, elastic, flatten, folded, mvu, pool, timing, window
from .buildable import check_buildable
from .fold_schedule import check_fold
from .pipeline_setting import FULL, check_pipeline


def layer_stages(network: Network, index: int, *, pipeline=0, library=None, progress=None,
                 min_latency: int = 0, folding=None, folded_from=None) -> list:
    """The stream stages that implement layout layer `index`, in order (`progress`, if given, is
    called with 1 as each output of a weight layer is built; `min_latency` pads the weight layer's
    stage to at least that many cycles, for a timing skeleton). With a `folding`
    (`fold_schedule.Folding`) the weight layer is a `folded.Layer`; with `folded_from` too (the
    real layer a skeleton's layer stands for), a timing stand-in of that layer's folded unit."""
    layer = network.layers[index]

    def weight_stage():
        if folding is None:
            return dense.Layer(layer, pipeline=pipeline, library=library, progress=progress, min_latency=min_latency)
        if folded_from is not None:
            return folded.Layer(folded_from, folding=folding, ports_of=layer)
        return folded.Layer(layer, folding=folding)

    previous_shape = tuple(network.input_shape) if index == 0 else network.layers[index - 1].out_shape
    if isinstance(layer, MaxPool):
        code = next(l.output_code for l in reversed(network.layers[:index]) if not isinstance(l, MaxPool))
        return [pool.Unit(in_shape=tuple(layer.in_shape), size=layer.size, level_bits=code.bits)]
    if layer.kind != "dense":
        return [window.Generator(in_shape=tuple(layer.in_shape), kernel=layer.kernel, stride=layer.stride,
                                 padding=layer.padding, level_bits=layer.input.bits,
                                 pad_level=layer.input.pad_level),
                weight_stage()]
    if index > 0 and len(previous_shape) > 1:   # a feature map arrives one position per beat
        return [flatten.Collector(in_shape=previous_shape, level_bits=layer.input.bits), weight_stage()]
    return [weight_stage()]


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
    stream; `o`, a stream of `result_layout(network)`.

    `pipeline=FULL` (`pipeline_setting`) registers every adder level (popcounts, combining, argmax
    tournament) and makes the datapath elastic (`elastic.admit`): it never stalls, `ready` at the
    input comes from a credit register, and an output FIFO absorbs the sink's backpressure. `min_latencies` (one
    per weight layer) pads weight-layer stages, so a timing skeleton keeps the real latencies."""

    def __init__(self, network: Network, *, pipeline=0, library=None, progress=None, min_latencies=None,
                 fold=None, folded_from: Network | None = None):
        check_buildable(network)
        check_pipeline(pipeline)
        self.network = network
        self.pipeline = pipeline
        self.full = pipeline == FULL
        self.fold = check_fold(network, fold, pipeline)
        weight_indices = [n for n, layer in enumerate(network.layers) if not isinstance(layer, MaxPool)]
        floors = dict(zip(weight_indices, min_latencies or [0] * len(weight_indices)))
        foldings = {weight_indices[position]: folding for position, folding in self.fold.items()}
        real = {} if folded_from is None else dict(zip(weight_indices, folded_from.weight_layers()))
        self.layer_stages = [layer_stages(network, index, pipeline=pipeline, library=library, progress=progress,
                                          min_latency=floors.get(index, 0), folding=foldings.get(index),
                                          folded_from=real.get(index) if index in foldings else None)
                             for index in range(len(network.layers))]
        self.layers = Chain([stage for stages in self.layer_stages for stage in stages])
        if self.full:     # the dense layers after the last stage that can stall never stall
            for stage in reversed(self.layers.stages):
                if not isinstance(stage, dense.Layer):
                    break
                stage.free_running = True
        self.score_width = network.weight_layers()[-1].accumulator_width()
        self.result_layout = result_layout(network)
        super().__init__({"i": In(self.layers.i.signature.flip()),
                          "o": Out(stream.Signature(self.result_layout))})

    STAGE_PATH = "layers.stage{index}"   # where stage `index` sits in the hierarchy (synthesis keeps it)

    @cached_property
    def timing(self):
        """The exact `hw.timing.Timing` of this design, measured in simulation on its skeleton."""
        return timing.timing(self.network, pipeline=self.pipeline, layer_latencies=self.layer_latencies,
                             fold=self.fold)

    @property
    def layer_latencies(self) -> list[int]:
        """The latency of each weight layer's `dense.Layer` stage, in layer order."""
        return [stages[-1].latency for stages, layer in zip(self.layer_stages, self.network.layers)
                if not isinstance(layer, MaxPool)]

    @property
    def argmax_levels(self) -> tuple[int, ...]:
        return tuple(range(1, argmax.Unit.levels(self.network.num_classes) + 1)) if self.full else ()

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
        m.submodules.argmax = pick = argmax.Unit(self.network.num_classes, width=self.score_width,
                                                 registered_levels=self.argmax_levels, compare_registers=self.full)
        # The result stream: Top's own output, or in FULL mode the elastic FIFO's input.
        result = stream.Signature(self.result_layout).create(path=("result",)) if self.full else self.o
        if self.full:
            beats = timing.beats_per_image(self.network)
            # FIFO depth for full rate from the stages' own latencies (pool and flatten stages have
            # none: a CNN's bound is low, which costs rate only in nets whose interval is the
            # image's pixel positions anyway; the credits keep every image whatever the depth)
            bound = sum(stage.latency for stages in self.layer_stages for stage in stages
                        if hasattr(stage, "latency")) + pick.latency + 1
            elastic.admit(m, source=self.i, sink=self.o, inner_i=layers.i, inner_o=result,
                          depth=elastic.depth_for(bound, beats), beats_per_item=beats)
        else:
            wiring.connect(m, wiring.flipped(self.i), layers.i)

        # Output register: the result leaves from flip-flops (one cycle of latency), and it
        # advances, like every stage, only while its slot is free or being taken. The scores and
        # valid wait for a pipelined argmax in registers of their own.
        advance = Signal()
        m.d.comb += [advance.eq(1 if self.full else ~result.valid | result.ready), layers.o.ready.eq(advance),
                     pick.en.eq(advance), pick.i.eq(layers.o.payload)]
        valid, scores = layers.o.valid, Value.cast(layers.o.payload)
        for stage in range(pick.latency):
            held_valid = Signal(name=f"argmax_valid{stage}")
            held_scores = Signal(len(scores), name=f"argmax_scores{stage}", reset_less=True)
            with m.If(advance):
                m.d.sync += [held_valid.eq(valid), held_scores.eq(scores)]
            valid, scores = held_valid, held_scores
        with m.If(advance):
            m.d.sync += [result.valid.eq(valid),
                         result.payload.scores.eq(scores),
                         result.payload.cls.eq(pick.o)]
        return m
