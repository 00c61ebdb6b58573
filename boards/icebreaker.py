"""1BitSquared iCEBreaker: Lattice iCE40 UltraPlus UP5K (SG48), 12 MHz clock, FTDI UART."""

from .board import Board, Capacity

BOARD = Board(
    name="icebreaker",
    title="iCEBreaker (Lattice iCE40UP5K-SG48)",
    family="ice40",
    platform="amaranth_boards.icebreaker:ICEBreakerPlatform",
    clock_mhz=12,
    capacity=Capacity(logic=5280, flip_flops=5280, bram=30, dsp=8, io=39),
    # the 12 MHz clock arrives on pin 35, the UP5K PLL's pad: a PLL that reads the clock network
    # cannot be placed (nextpnr: "no suitable BEL"), so it takes the pin itself
    clock_on_pll_pad=True,
)
