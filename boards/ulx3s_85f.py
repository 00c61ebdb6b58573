"""Radiona ULX3S with the Lattice ECP5 LFE5U-85F (CABGA381, speed 6), 25 MHz clock, FTDI UART.

The default board of `hbnn compare`: the only target that holds the digits MLP at every bit mix
from 1 to 3 bits unrolled. `-nowidelut` as for the 25F (see boards/ulx3s_25f.py).
"""

from .board import Board, Capacity

BOARD = Board(
    name="ulx3s-85f",
    title="ULX3S (Lattice ECP5 LFE5U-85F-6BG381C)",
    family="ecp5",
    platform="amaranth_boards.ulx3s:ULX3S_85F_Platform",
    clock_mhz=25,
    capacity=Capacity(logic=83640, flip_flops=83640, bram=208, dsp=156, io=365),
    synth_options=("-nowidelut",),
)
