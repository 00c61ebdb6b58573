"""Running generated hardware in simulators: against the golden model, and for its switching activity.

- `runner` builds the generated Verilog with cocotb (Icarus Verilog or Verilator) and runs the
  bench `cocotb_stream`, which streams beats with random stalls and compares every output with
  the golden model; `simulate_layout` is `hbnn simulate`.
- `network_check` and `amaranth_stream` do the same for the Amaranth design in Amaranth's own
  simulator (the fast, pure-Python tier).
- `activity` measures the switching activity of generated Verilog on real inputs (Icarus and a
  VCD reader), the measured input of the energy estimate (`hbnn.boards.energy`).
"""
