"""Amaranth gateware: layout files into streaming hardware (imports amaranth and numpy, never torch).

`network.Top` elaborates a whole layout into one streaming design and `generate` writes its
Verilog and JSON description; the stages (`dense`, `window`, `pool`, `flatten`, `argmax`), the
arithmetic (`mvu`, `popcount*`, `adders`, `carry_chain`, `primitives`) and the board-side
gateware that carries a network over a UART (`uart`, `bridge`) live here too.
docs/hardware.md is the map of the modules.
"""
