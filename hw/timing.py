"""Exact latency and initiation interval of a network's streaming design, measured on its skeleton.

Stages interact: a window generator walking its trailing padding holds back the stage before it,
and a stage that is ready only on some cycles stalls an always-valid source, so summing each
stage's own latency and taking the slowest stage's interval can be off by cycles (a conv-conv-dense
net of 3x3 pixels: 21 cycles summed, 23 real). So hbnn measures both in the Amaranth simulator.

What is measured is the design's control, which depends only on the layout's structure (shapes,
kernels, strides, padding, pools, pipeline depth), never on channels, bit widths or weights. So
`skeleton(network)` keeps the structure with one channel, 1-bit levels and one-bit weights, and
`network.Top` builds it from the very same stages as the real design; simulating it takes well
under a second however large the network. tests/test_timing.py checks the skeleton's numbers
against the full designs of random convolutional stacks.

Definitions (both exact, in clock cycles):

- `latency`: from the edge that accepts an image's last input beat to the edge at which its result
  is taken, for an image that enters an empty design, the sink always ready;
- `initiation_interval`: between consecutive results in the steady state, the source always valid
  and the sink always ready (one image per `initiation_interval` cycles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Value
from amaranth.sim import Simulator

from hbnn.model.layout import InputCode, MaxPool, Network, WeightLayer, validate


class Unsettled(RuntimeError):
    """The intervals between results did not settle to one value in the images simulated."""


@dataclass(frozen=True)
class Timing:
    latency: int                    # cycles, last input beat to result, empty design
    initiation_interval: int        # cycles between results, streaming
    beats_per_image: int            # input beats per image


def beats_per_image(network: Network) -> int:
    """Input beats of one image: 1 for a net that starts with a dense layer (the whole image is
    one beat), else one per pixel position."""
    if network.layers[0].kind == "dense":
        return 1
    return int(np.prod(network.input_shape[1:]))


def skeleton(network: Network) -> Network:
    """`network`'s structure with one channel (the last layer keeps its classes: a pipelined
    argmax is as deep as the real one), 1-bit levels and one 1-bit weight per fan-in entry: the
    same stages and the same timing, a tiny design."""
    pixels = InputCode("pixels", 1, (1,))
    hidden = InputCode("residual", 1, (1,))
    input_shape = (1,) if network.layers[0].kind == "dense" else (1,) + tuple(network.input_shape[1:])
    layers, code, shape = [], pixels, input_shape
    for index, layer in enumerate(network.layers):
        if isinstance(layer, MaxPool):
            layers.append(MaxPool((1,) + tuple(shape[1:]), layer.size))
            shape = layers[-1].out_shape
            continue
        last = index == len(network.layers) - 1
        in_shape = (int(np.prod(shape)),) if layer.kind == "dense" else shape
        outputs = network.num_classes if last else 1     # the argmax tournament keeps its depth
        kernel, stride, padding = (1, 1, 0) if layer.kind == "dense" else (layer.kernel, layer.stride, layer.padding)
        fan_in = in_shape[0] * (kernel ** (len(in_shape) - 1) if layer.kind != "dense" else 1)
        layers.append(WeightLayer(
            kind=layer.kind, in_shape=in_shape, out_channels=outputs, kernel=kernel, stride=stride,
            padding=padding, input=code, bits=np.ones((outputs, fan_in), np.uint8),
            planes=np.zeros((1, outputs, fan_in), np.uint8), plane_weights=np.ones((outputs, 1), np.int64),
            frac_bits=0, thresholds=None if last else np.zeros((outputs, 1), np.int64),
            output_code=None if last else hidden))
        shape, code = layers[-1].out_shape, hidden
    return validate(Network(input_shape, 1, network.num_classes, tuple(layers), {"net": "skeleton"}))


def measure(dut, *, beats_per_image: int, images: int = 8, max_cycles: int = 1_000_000) -> Timing:
    """Latency and initiation interval of a stream component `dut` (ports `i`, `o`) in the
    Amaranth simulator: one image alone, then `images - 1` back to back (module docstring)."""
    accepted: list[int] = []     # edge of every accepted input beat
    results: list[int] = []      # edge of every taken result
    total = beats_per_image * images

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(Value.cast(dut.i.payload), 0)
        edge = 0
        while len(results) < images:
            # the first image alone; the others as soon as its result is out, back to back
            sending = len(accepted) < total and (len(accepted) < beats_per_image or bool(results))
            ctx.set(dut.i.valid, sending)
            *_, ready, valid = await ctx.tick().sample(dut.i.ready, dut.o.valid)
            edge += 1
            if sending and ready:
                accepted.append(edge)
            if valid:
                results.append(edge)
            if edge > max_cycles:
                raise RuntimeError(f"{len(results)} of {images} results after {max_cycles} cycles")

    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    simulator.add_testbench(bench)
    simulator.run()
    intervals = np.diff(results[1:])
    steady = intervals[len(intervals) // 2:]
    if len(set(steady.tolist())) != 1:
        raise Unsettled(f"no steady initiation interval after {images} images: results at edges {results}")
    return Timing(results[0] - accepted[beats_per_image - 1], int(steady[0]), beats_per_image)


def timing(network: Network, *, pipeline=0, layer_latencies=None, fold=None) -> Timing:
    """The exact latency and initiation interval of `network.Top(network, pipeline=pipeline)`,
    measured on its skeleton. With a fully pipelined design a weight layer's latency depends on its
    weights (the depth of its combining tree), so the real design's `layer_latencies` are passed
    and the skeleton's weight layers are padded to them. A folded layer (`fold`, as `network.Top`
    takes it) is a stand-in in the skeleton: its real unit's control, cycle for cycle
    (`folded.Layer(ports_of=...)`)."""
    from .network import Top

    frame = skeleton(network)
    # a deep stack can take more images than the default to settle: double until it does
    for images in (8, 16, 32, 64):
        dut = Top(frame, pipeline=pipeline, min_latencies=layer_latencies, fold=fold, folded_from=network)
        if layer_latencies is not None and dut.layer_latencies != list(layer_latencies):
            raise ValueError(f"the skeleton's weight layers take {dut.layer_latencies} cycles, "
                             f"more than the design's {list(layer_latencies)}")
        try:
            return measure(dut, beats_per_image=beats_per_image(frame), images=images)
        except Unsettled:
            continue
    raise Unsettled("the intervals between results did not settle within 64 images")
