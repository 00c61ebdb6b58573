"""cocotb verification of generated Verilog against the golden model (DESIGN.md §5)."""
