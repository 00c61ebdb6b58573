"""FPGA targets and the open yosys/nextpnr flow with parsed reports (DESIGN.md §6)."""
