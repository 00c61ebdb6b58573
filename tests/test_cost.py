"""The cost model (`hw.cost`): hand-checked adds, and its estimate against what yosys builds."""

import numpy as np
import pytest

from hbnn.boards.unit_cells import synthesize_unit
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
    against the CCU2Cs (2 sites each) yosys synth_ecp5 builds for the same adder graph."""
    rng = np.random.default_rng(5)
    layer = _weight_layer(rng, "dense", (48,), 12, InputCode("pixels", 4, (1, 2, 4, 8)), last=True)
    unit = mvu_shared.Unrolled(layer)
    built = 2 * synthesize_unit(unit, tmp_path).carry
    estimate = cost.graph_lut4(unit.graph)
    assert unit.graph.adders > 100
    assert abs(estimate - built) <= 0.02 * built, (estimate, built)


def test_the_estimate_is_within_five_percent_on_a_trained_net(tmp_path):
    """Both layers of a trained digits MLP (Middle-Out 1.4 bits; pixel and residual inputs), each
    unit's LUT4 sites as `hbnn synth` maps a cse design (abc): the model within 5 %
    (benchmarks/arithmetic.py measures every bundled net)."""
    from hbnn.model import data
    from hbnn.model.config import net_config, train_config_for
    from hbnn.model.export import export
    from hbnn.model.training import train

    config = net_config("digits", "mlp", weights="1.4")
    network = export(train(config, data.load("digits"), train_config_for(config, epochs=5), progress=False).net)
    for index, layer in enumerate(network.weight_layers()):
        unit = mvu_shared.Unrolled(layer)
        folder = tmp_path / str(index)
        folder.mkdir()
        built = synthesize_unit(unit, folder, lut_mapper="abc").lut4_equivalent
        estimate = cost.graph_lut4(unit.graph)
        assert abs(estimate - built) <= 0.05 * built, (index, estimate, built)
