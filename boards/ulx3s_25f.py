"""Radiona ULX3S with the Lattice ECP5 LFE5U-25F (CABGA381, speed 6), 25 MHz clock, FTDI UART.

`-nowidelut`: by default synth_ecp5 builds wide functions from PFU muxes, which doubles the LUT4
count of adder trees (4371 against 2044 for a 1024-input popcount, docs/synthesis.md); the LUT4 figures
hbnn compares across bit mixes are the plain-LUT4 ones.
"""

from .board import Board, Capacity

BOARD = Board(
    name="ulx3s-25f",
    title="ULX3S (Lattice ECP5 LFE5U-25F-6BG381C)",
    family="ecp5",
    platform="amaranth_boards.ulx3s:ULX3S_25F_Platform",
    clock_mhz=25,
    capacity=Capacity(logic=24288, flip_flops=24288, bram=56, dsp=28, io=197),
    synth_options=("-nowidelut",),
)
