"""The three kinds of sweep step, each a plain function a worker process runs.

Every step takes JSON data (and a layout's bytes) and a work folder, and returns
(result: JSON data, file: bytes or None); it never touches the result store, so the same call
gives the same result in a local process pool and on a Dask worker of another machine.

- `train(config, seed)`: train one net (`model.recipes.train_checkpoint`), export its layout and
  measure its test accuracy with the golden model (= the hardware's). File: the layout (.npz),
  also left in the work folder under the checkpoint's name.
- `check(layout, ...)`: generate the Verilog at the hardware setting and run test images through
  it in the simulator under cocotb; raises `NotBitExact` on the first mismatch (a bug in hbnn,
  never a result).
- `build(layout, ...)`: synthesize, place and route for a board (`boards.flow`), and estimate the
  energy per image (`hbnn.boards.energy`) from the switching activity on the first test images.
  A design the board cannot hold is a result (`does_not_fit`), not a failure.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ACTIVITY_IMAGES = 20      # test images whose switching activity the energy estimate uses
LAYOUT_FILE = "layout.npz"


class NotBitExact(RuntimeError):
    """The generated Verilog differs from the golden model (a bug in hbnn, reported with the first
    mismatch and where the simulation logs are)."""


def timed(kind: str, call, **kwargs) -> tuple[dict, bytes | None, float, dict]:
    """`call(**kwargs)` on the worker: (result, file, seconds it ran, the worker's versions of
    what a `kind` step's key holds: the sweep refuses a result computed with other versions than
    its key says). A failure carries its seconds as `error.seconds`, so the store's times are
    work, not time spent queued."""
    from hbnn.step_keys import versions

    start = time.perf_counter()
    try:
        Path(kwargs["work"]).mkdir(parents=True, exist_ok=True)
    except OSError:                      # a worker without the sweep's folder: build products are scratch
        kwargs["work"] = tempfile.mkdtemp(prefix=f"hbnn-{kind}-")
    try:
        result, blob = call(**kwargs)
    except Exception as error:
        error.seconds = time.perf_counter() - start
        raise
    return result, blob, time.perf_counter() - start, versions(kind)


def train(config: dict, seed: int, work: str) -> tuple[dict, bytes]:
    """Train `config` (`NetConfig.to_dict()`) with `seed`, export it: (accuracies, layout bytes)."""
    from hbnn.model.config import NetConfig, checkpoint_name
    from hbnn.model.recipes import export_checkpoint, train_checkpoint

    net_config = NetConfig.from_dict(config)
    work = Path(work)
    trained, checkpoint_path = train_checkpoint(net_config, seed=seed, progress=False,
                                                output=work / checkpoint_name(net_config, seed))
    layout_path, network, agreement = export_checkpoint(checkpoint_path, work / f"{checkpoint_path.stem}.npz")
    return ({"accuracy": float(agreement.golden_accuracy), "float_accuracy": float(trained.test_accuracy),
             "average_bits": average_bits(network), "lanes": lanes(network), "name": checkpoint_path.stem},
            layout_path.read_bytes())


def check(layout: bytes, *, dataset: str, simulator: str, images: int | None, popcount: str, family: str,
          pipeline, fold: str, seed: int, work: str) -> tuple[dict, None]:
    """Generate the layout's Verilog (popcount strategy for `family`, `pipeline`, `fold` text) and
    prove it bit-exact on the first `images` test images (None: all) in `simulator`."""
    from hbnn.hw.generate import generate
    from hbnn.hw.popcount_strategy import strategy_for
    from hbnn.model import data
    from hbnn.model.export import pixel_codes
    from hbnn.sim.runner import simulate

    work = Path(work)
    network = _network(layout, work)
    generated = generate(network, work / "design.v", popcount=strategy_for(popcount, family), pipeline=pipeline,
                         fold=resolved_fold(fold, network, pipeline))
    pixels = pixel_codes(network, data.load(dataset).test_x[:images])
    report = simulate(network, generated.verilog, generated.description, pixels, simulator=simulator,
                      build_dir=work / "sim", seed=seed)
    if not report.bit_exact:
        first = report.mismatches[0]
        raise NotBitExact(f"the generated Verilog differs from the golden model (image {first['image']}, "
                          f"{first['what']}: expected {first['expected']}, got {first['actual']}); see {work / 'sim'}")
    return {"bit_exact": True, "images": len(pixels), "cycles": report.cycles}, None


def build(layout: bytes, *, dataset: str, board: dict, popcount: str, pipeline, fold: str, placement_seeds: int,
          core_mhz: float | None, energy: bool, work: str) -> tuple[dict, None]:
    """Synthesize, place and route on `board` (a `Board` as data: a board of one's own works too);
    with `energy`, estimate nJ per image."""
    from hbnn.boards.board import Board, Capacity
    from hbnn.boards.flow import DesignTooBig, synthesize
    from hbnn.hw.generate import generate
    from hbnn.model import data
    from hbnn.model.export import pixel_codes

    work = Path(work)
    network = _network(layout, work)
    target = Board(**{**board, "capacity": Capacity(**board["capacity"]),
                      "synth_options": tuple(board["synth_options"])})
    try:
        report = synthesize(network, target, work / "synth", popcount=popcount, pipeline=pipeline,
                            placement_seeds=placement_seeds, core_mhz=core_mhz, progress=False,
                            fold=resolved_fold(fold, network, pipeline), say=lambda _: None)
    except DesignTooBig as error:
        return {"synthesis": None, "does_not_fit": str(error),
                "needed_lut4": None if error.cells is None else error.cells.lut4_equivalent, "energy": None}, None
    estimate = None
    if energy:
        generated = generate(network, work / "generic.v")
        pixels = pixel_codes(network, data.load(dataset).test_x[:ACTIVITY_IMAGES])
        measured, transistors = activity_and_transistors(network, generated, pixels, build_dir=work / "energy")
        estimate = energy_estimate(network, report, measured, transistors)
    return {"synthesis": report.to_json(), "does_not_fit": None, "needed_lut4": None, "energy": estimate}, None


def resolved_fold(text: str, network, pipeline):
    """The folding `text` names (`hw.fold_schedule.parse_fold`; "" for none) for this layout, an
    auto target resolved and checked against its plane ratios; None when nothing is folded."""
    from hbnn.hw.fold_schedule import check_fold, parse_fold, resolve_fold

    if not text:
        return None
    return check_fold(network, resolve_fold(parse_fold(text), network), pipeline)


def average_bits(network) -> float:
    """Weight bits per weight over every weight layer of a layout."""
    bits = [layer.bits for layer in network.weight_layers()]
    return float(sum(int(b.sum()) for b in bits) / sum(b.size for b in bits))


def lanes(network) -> int:
    """Weight bits times input bit planes over all weight layers: what a design's size, and its
    synthesis and place-and-route time, follow."""
    return sum(int(layer.bits.sum()) * layer.input.bits for layer in network.weight_layers())


def activity_and_transistors(network, generated, pixels, *, build_dir: Path):
    """Switching activity of the generated Verilog on the test images (Icarus) and its CMOS
    transistor count (yosys): the measured inputs of the energy estimate."""
    import json

    from hbnn.boards.energy import asic_proxy
    from hbnn.sim import activity
    from hbnn.sim.network_check import input_beats

    description = json.loads(Path(generated.description).read_text())
    measured = activity.measure(generated.verilog, description, input_beats(network, pixels), len(pixels),
                                build_dir=build_dir / "activity")
    return measured, asic_proxy.transistors(generated.verilog, description["top"], build_dir=build_dir / "asic")


def energy_estimate(network, synthesis, measured, transistors: int) -> dict:
    """The energy estimate (hbnn.boards.energy; docs/energy.md) as data, with the activity it used."""
    from hbnn.boards.energy import asic_proxy
    from hbnn.boards.energy import estimate as energy

    cells = synthesis.cells
    result = energy.estimate(family=synthesis.family, lut4=cells.lut4, ff=cells.flip_flops, carry=cells.carry,
                             activity=measured, cycles_per_image=synthesis.initiation_interval,
                             transistors=transistors, operations=asic_proxy.operation_counts(network),
                             clock_hz=synthesis.fmax_mhz * 1e6)
    return {**asdict(result), "activity_factor": measured.activity_factor,
            "toggles_per_image": measured.toggles_per_image, "transistors": transistors}


def _network(layout: bytes, work: Path):
    """The layout `layout` (bytes of an .npz), written into `work` and loaded."""
    from hbnn.model import layout as layouts

    from hbnn.files import write_atomic

    # whole or not at all: two sweeps sharing a build folder may run the same step at once
    return layouts.load(write_atomic(work / LAYOUT_FILE, layout))
