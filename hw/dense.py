"""`dense.Layer`: a weight layer applied to one fan-in vector per beat (MVU, then thresholds or scores).

For a dense layer a beat is the whole input vector; for a convolution it is one window from
`window.Generator`, and the layer emits one output position per beat.

Input stream payload: the layer's fan-in levels, element j at bits [j b, (j+1) b) (b = input bits).
Output stream payload: the `out_channels` output levels likewise (hidden layers), or an array of
signed scores (the last layer). One vector per beat, a new one every cycle (initiation interval 1).

Protocol: ready/valid; a beat moves when valid and ready are both high. The pipeline advances while
its output slot is empty or being taken (en = ~o.valid | o.ready), so backpressure stalls every
stage in place and no data is lost. The output is registered; `latency` = MVU pipeline registers
+ `output_registers` cycles from an accepted input to its output when the sink is always ready.

A fully pipelined hidden layer registers its output twice (`OUTPUT_REGISTERS_FULL`): the first register
sits beside the threshold compares, the second drives the route to the next layer's fan-out tree.
With one register, the placer pulled it toward the next layer, and the compare's route to it was
the critical path (digits MLP at 1.4 bits, ECP5-85F, core clock: 1.97 ns of routing in 5.16 ns,
from a compare's carry chain to the LUT yosys leaves behind it, 193.8 MHz; with two, a median of
210.6 MHz over 5 placements). The last layer's scores go to the argmax beside it and keep one
register.
"""

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hbnn.model.layout import WeightLayer

from . import mvu, mvu_shared, popcount_library, threshold

OUTPUT_REGISTERS_FULL = 2      # output registers of a fully pipelined hidden layer (module docstring)


def output_shape(layer: WeightLayer):
    """The payload shape a weight layer emits: packed levels, or signed scores on the last layer."""
    if layer.is_last:
        return data.ArrayLayout(mvu.Unrolled.accumulator_shape(layer), layer.out_channels)
    return layer.out_channels * layer.output_code.bits


class Layer(wiring.Component):
    def __init__(self, layer: WeightLayer, *, pipeline=0, library=None, progress=None, min_latency: int = 0):
        if not isinstance(layer, WeightLayer):
            raise TypeError(f"dense.Layer needs a model.layout.WeightLayer, not {type(layer).__name__}")
        self.layer = layer
        library = popcount_library.Inline() if library is None else library
        if library.strategy.name == "cse":      # one shared adder graph instead of popcounts
            self.mvu = mvu_shared.Unrolled(layer, pipeline=pipeline, exact=layer.is_last, progress=progress)
        else:
            self.mvu = mvu.Unrolled(layer, pipeline=pipeline, library=library, progress=progress)
        # Set by `network.Top` when nothing after this stage can ever hold its output back (a fully
        # pipelined, elastic datapath of dense layers): then the stage never stalls, and its
        # registers have no clock enable. Kept hierarchy stops yosys from finding that out itself:
        # an always-high `o.ready` arrives through a port (nextpnr's critical path was exactly this
        # enable, 9.3 ns of routing to the flip-flops of layer 0, on the 1.4-bit digits MLP).
        self._free_running = False
        self.output_registers = OUTPUT_REGISTERS_FULL if self.mvu.full and not layer.is_last else 1
        # extra output registers up to `min_latency` (a timing skeleton matching the real layer)
        self.padding = max(0, min_latency - (self.mvu.latency + self.output_registers))
        super().__init__({
            "i": In(stream.Signature(layer.fan_in * layer.input.bits)),
            "o": Out(stream.Signature(output_shape(layer))),
        })

    @property
    def free_running(self) -> bool:
        return self._free_running

    @free_running.setter
    def free_running(self, value: bool):
        self._free_running = self.mvu.free_running = value

    @property
    def latency(self) -> int:
        """The MVU's pipeline registers, any padding and the output registers."""
        return self.mvu.latency + self.padding + self.output_registers

    def elaborate(self, platform):
        m = Module()
        m.submodules.mvu = unit = self.mvu
        layer = self.layer

        # Stall control: advance when the output slot is free or being taken.
        advance = Signal()
        m.d.comb += [advance.eq(1 if self.free_running else ~self.o.valid | self.o.ready), unit.en.eq(advance),
                     self.i.ready.eq(advance), unit.i.eq(self.i.payload)]
        valid = self.i.valid
        for stage in range(self.latency):
            registered = Signal(name=f"valid{stage + 1}")
            with m.If(advance):
                m.d.sync += registered.eq(valid)
            valid = registered
        m.d.comb += self.o.valid.eq(valid)

        # Accumulators to levels (hidden layers) or straight out as scores (last layer), into the
        # output register, so no combinational path runs from one layer's MVU into the next.
        result = unit.o
        if not layer.is_last:
            m.submodules.threshold = levels = threshold.Unit(
                layer.thresholds, acc_width=unit.acc_width, level_bits=layer.output_code.bits,
                maps=unit.maps)
            m.d.comb += levels.i.eq(unit.o)
            result = levels.o
        # (fully pipelined: data without reset, hw.adders; otherwise as the energy tables measured)
        registers = self.padding + self.output_registers
        for stage in range(registers):
            held = Signal(len(Value.cast(result)), name=f"padding{stage}" if stage < registers - 1 else "out",
                          reset_less=self.mvu.full)
            with m.If(advance):
                m.d.sync += held.eq(Value.cast(result))
            result = held
        m.d.comb += self.o.payload.eq(result)
        return m
