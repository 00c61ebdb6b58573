"""Cost model: the LUT4 a layer's arithmetic takes, from its weights alone, before synthesis.

Shared arithmetic (`--popcount cse`, `mvu_shared`): yosys maps every add or subtraction of the adder
graph to one carry chain of ECP5 CCU2C cells, two result bits per cell and one LUT4 site per bit,
so an add costs

    LUT4(add) = 2 ceil((W - s) / 2)

W is the add's result width (`adder_graph.signed_bits` of its exact range) and s the low result
bits that are wires: in a ± (b << s) the low s bits are a's own (when a itself is not negated).
On the digits MLP's first layer (Middle-Out 1.4 bits, 982 adds) this predicts 3,745 CCU2C where
yosys builds 3,721 (`tests/test_cost.py` checks a random layer against yosys).
"""

from __future__ import annotations

import math

from .adder_graph import Add, Graph, signed_bits


def add_lut4(graph: Graph, index: int) -> int:
    """LUT4 sites of node `index` (an add) as a carry chain (module docstring)."""
    node = graph.nodes[index]
    if not isinstance(node.op, Add):
        raise ValueError(f"node {index} is not an add")
    wires = 0
    for term, other in ((node.op.a, node.op.b), (node.op.b, node.op.a)):
        shift = graph.nodes[other.node].exponent + other.shift - node.exponent
        if graph.nodes[term.node].exponent + term.shift == node.exponent and not term.negative:
            wires = max(wires, shift)
    return 2 * math.ceil((signed_bits(node.low, node.high) - wires) / 2)


def graph_lut4(graph: Graph) -> int:
    """LUT4 sites of every add of `graph`."""
    return sum(add_lut4(graph, index) for index, node in enumerate(graph.nodes) if isinstance(node.op, Add))


def shared_arithmetic(network) -> dict:
    """Adder bits and LUT4 of each weight layer's cse adder graph (the form `mvu_shared` builds),
    and their totals: {"layers": [{"adder_bits", "lut4"}, ...], "adder_bits", "lut4"}."""
    from . import mvu_shared

    layers = []
    for layer in network.weight_layers():
        graph, _ = mvu_shared.solve(layer)
        layers.append({"adder_bits": graph.adder_bits(), "lut4": graph_lut4(graph)})
    return {"layers": layers, "adder_bits": sum(row["adder_bits"] for row in layers),
            "lut4": sum(row["lut4"] for row in layers)}
