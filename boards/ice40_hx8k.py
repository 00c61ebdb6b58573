"""Lattice iCE40-HX8K breakout board: iCE40HX8K (CT256), 12 MHz clock, FTDI UART."""

from .board import Board, Capacity

BOARD = Board(
    name="ice40-hx8k",
    title="iCE40-HX8K breakout (Lattice iCE40HX8K-CT256)",
    family="ice40",
    platform="amaranth_boards.ice40_hx8k_b_evn:ICE40HX8KBEVNPlatform",
    clock_mhz=12,
    capacity=Capacity(logic=7680, flip_flops=7680, bram=32, dsp=0, io=206),
)
