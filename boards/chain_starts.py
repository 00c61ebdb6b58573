"""Free the carry-in of ECP5 carry chains that start with a Pass half, before nextpnr.

nextpnr-ecp5 starts every carry chain whose first CCU2C has a connected CIN with an extra feed-in
CCU2C (`split_carry_chain` in nextpnr's ecp5/pack.cc), because in the fabric the first slice's
carry input is wired to its neighbour's carry output, whatever the netlist drives it with. A
mapped popcount's chains (`hw.carry_chain`) start with a Pass half, whose carry-out G ignores CIN,
and leave CIN unconnected, but yosys's abc9 step ties unconnected CIN to constant 0, which costs one
CCU2C per chain. This pass disconnects CIN ("x" in yosys's JSON netlist: a port without a net)
of every CCU2C whose first half ignores it (P = 0 for the D = 1 half of INIT0, INJECT1_0 = "NO").
Likewise abc9 gives the last CCU2C of a chain a COUT wire that nothing reads, for which nextpnr
adds a feed-out CCU2C; that COUT is disconnected too (nextpnr's packer needs the port to exist).
"""

from __future__ import annotations

import json
from pathlib import Path


def _bits(value) -> int:
    """An INIT parameter as yosys writes it in JSON: a string of binary digits (MSB first)."""
    return int(value, 2) if isinstance(value, str) else int(value)


def ignores_carry_in(cell: dict) -> bool:
    """A CCU2C whose first half has P = 0 with D0 = 1 (so S0 = CIN is its only use of CIN)."""
    parameters, connections = cell["parameters"], cell["connections"]
    return (cell["type"] == "CCU2C" and connections.get("D0") == ["1"]
            and _bits(parameters.get("INIT0", "0")) >> 8 == 0
            and parameters.get("INJECT1_0", "NO").strip() == "NO")


def _read_bits(module: dict) -> set:
    """Net bits that some cell input or module output reads."""
    read = set()
    for cell in module.get("cells", {}).values():
        directions = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            if directions.get(port, "input") != "output":
                read.update(bits)
    for port in module.get("ports", {}).values():
        if port["direction"] != "input":
            read.update(port["bits"])
    return read


def free_chain_starts(netlist: str | Path) -> int:
    """Rewrite `netlist` (yosys JSON) in place; returns how many CIN connections were removed."""
    path = Path(netlist)
    design = json.loads(path.read_text())
    freed = 0
    for module in design["modules"].values():
        read = _read_bits(module)
        for cell in module.get("cells", {}).values():
            if cell["type"] != "CCU2C":
                continue
            connections = cell["connections"]
            if connections.get("COUT", ["x"])[0] not in read:
                connections["COUT"] = ["x"]           # the end of a chain: no feed-out needed
            if connections.get("CIN", ["x"]) in (["0"], ["x"]) and ignores_carry_in(cell):
                connections["CIN"] = ["x"]            # "x": the port without a net
                freed += 1
    if freed:
        path.write_text(json.dumps(design))
    return freed
