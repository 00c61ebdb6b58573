"""Amaranth hardware generation from layout files (imports amaranth and numpy, never torch).

`network.Top` elaborates a whole layout into one streaming design; `generate` writes its Verilog
and JSON description. docs/hardware.md is the map of the modules.
"""
