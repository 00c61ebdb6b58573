"""`uart.Receiver` and `uart.Transmitter`: 8N1 serial ports as Amaranth stream components.

Frame (8N1, the line idles high)::

    ‾‾‾‾|_start_|_d0_|_d1_|_d2_|_d3_|_d4_|_d5_|_d6_|_d7_|‾stop‾|‾‾‾ idle ‾‾‾
         one start bit (0), eight data bits least significant first, one stop bit (1)

Every bit lasts `divisor` clock cycles (`divisor = round(f_clk / baud)`), so a byte takes
`10 * divisor` cycles on the line. `divisor` must be at least 4 so the receiver has a middle
of the bit to sample after its two-flip-flop synchronizer.
"""

from amaranth.hdl import C, Cat, Module, Signal
from amaranth.lib import cdc, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Receiver", "Transmitter", "check_divisor"]


def check_divisor(divisor) -> int:
    """Return `divisor` if it is a valid number of clock cycles per bit (an integer of at least 4).

    Raises `TypeError` for a non-integer and `ValueError` for an integer below 4."""
    if not isinstance(divisor, int) or isinstance(divisor, bool):
        raise TypeError(f"UART divisor must be an integer of at least 4, not {divisor!r}")
    if divisor < 4:
        raise ValueError(f"UART divisor must be an integer of at least 4, not {divisor!r}")
    return divisor


class Receiver(wiring.Component):
    """8N1 receiver: `rx` (idle high) in, one byte per frame on the stream `o`.

    Timing: `rx` passes a two-flip-flop synchronizer; the first synchronized low level starts a
    frame, the start bit is checked again near its middle (a shorter pulse is ignored as a glitch),
    and then each data bit and the stop bit are sampled one `divisor` apart, near their middles.
    The byte is offered on `o` on the cycle after the middle of the stop bit, that is about
    `9.5 * divisor + 3` cycles after the start bit began, and the receiver is ready for the next
    start bit at once, so frames may follow back to back (10 * divisor cycles per byte).

    Errors:

    - framing: a stop bit that reads 0 drops the byte and pulses `error` for one cycle; the
      receiver then waits for the line to return high, so a held-low line (a break) reads as one
      error, not as a stream of zero bytes.
    - overrun: `o` holds one byte. If the next byte's stop bit arrives while the previous byte is
      still valid and not taken, the new byte is dropped (the old one stays on `o`) and `overrun`
      pulses for one cycle. A sink that takes each byte within `10 * divisor` cycles never loses one.
    """

    rx: In(1, init=1)
    o: Out(stream.Signature(8))
    error: Out(1)
    overrun: Out(1)

    def __init__(self, *, divisor: int):
        self.divisor = check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        divisor = self.divisor

        # Two flip-flops before any logic: `rx` is asynchronous to the clock.
        line = Signal(init=1)
        m.submodules.synchronizer = cdc.FFSynchronizer(self.rx, line, init=1)

        timer = Signal(range(divisor))  # cycles until the next sample
        bit = Signal(range(8))          # data bit being sampled
        shift = Signal(8)               # data bits so far, shifted in from the top (LSB first)

        # The stream's slot empties when taken; a new byte written below overrides this.
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        # The first synchronized low cycle may lag the real edge by up to one cycle, so the middle
        # of the start bit is about (divisor - 1) / 2 cycles later; the timer then runs
        # (divisor - 3) // 2 + 1 cycles to reach it.
        with m.FSM():
            with m.State("idle"), m.If(~line):
                m.d.sync += timer.eq((divisor - 3) // 2)
                m.next = "start"
            with m.State("start"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(line):
                    m.next = "idle"  # a glitch, not a start bit
                with m.Else():
                    m.d.sync += [timer.eq(divisor - 1), bit.eq(0)]
                    m.next = "data"
            with m.State("data"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shift.eq(Cat(shift[1:], line)), timer.eq(divisor - 1),
                                 bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "stop"
            with m.State("stop"):
                slot_full = self.o.valid & ~self.o.ready
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(~line):
                    m.d.comb += self.error.eq(1)
                    m.next = "break"
                with m.Elif(slot_full):
                    m.d.comb += self.overrun.eq(1)
                    m.next = "idle"
                with m.Else():
                    m.d.sync += [self.o.payload.eq(shift), self.o.valid.eq(1)]
                    m.next = "idle"
            with m.State("break"), m.If(line):
                m.next = "idle"
        return m


class Transmitter(wiring.Component):
    """8N1 transmitter: bytes from the stream `i`, frames on `tx` (idle high).

    Timing: a byte taken from `i` on cycle t drives its start bit from cycle t + 1, each bit for
    `divisor` cycles, LSB first, then the stop bit. `i.ready` is high while idle and on the last
    cycle of a stop bit, so back-to-back bytes take exactly `10 * divisor` cycles each.
    `busy` is high while a frame is on the line.
    """

    i: In(stream.Signature(8))
    tx: Out(1, init=1)
    busy: Out(1)

    def __init__(self, *, divisor: int):
        self.divisor = check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        divisor = self.divisor

        # `tx` comes straight from a flip-flop (bit 0 of the frame), so it never glitches.
        frame = Signal(10, init=(1 << 10) - 1)  # start, 8 data bits, stop; shifted out LSB first
        remaining = Signal(range(11))           # bits still to show, the current one included
        timer = Signal(range(divisor))          # cycles left in the current bit
        last_cycle = (remaining == 1) & (timer == 0)
        m.d.comb += [self.tx.eq(frame[0]),
                     self.busy.eq(remaining != 0),
                     self.i.ready.eq((remaining == 0) | last_cycle)]

        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [frame.eq(Cat(C(0, 1), self.i.payload, C(1, 1))),
                         remaining.eq(10), timer.eq(divisor - 1)]
        with m.Elif(remaining != 0):
            with m.If(timer != 0):
                m.d.sync += timer.eq(timer - 1)
            with m.Else():
                m.d.sync += [frame.eq(Cat(frame[1:], C(1, 1))), remaining.eq(remaining - 1),
                             timer.eq(divisor - 1)]
        return m
