"""`bridge.UartBridge`: a network core on a board's UART; `bridge.board_top`: that bridge on a board.

Protocol (8N1 at the board's baud rate, see `hbnn.hw.uart`):

- host -> board: each input beat of the core as `ceil(W_in / 8)` bytes, least significant byte
  first; the bits of the last byte above `W_in` are ignored. No header, no framing: the bridge
  counts bytes from reset.
- board -> host: one byte per result the core produces, its class index `cls`.
- A core that needs several beats per image (a convolutional net takes one beat per pixel
  position) simply receives several beats before it answers; the bridge never pairs beats with
  results, it forwards each in its own direction.
"""

from amaranth.build import ResourceError
from amaranth.hdl import Cat, DomainRenamer, Elaboratable, Module, Signal, Value
from amaranth.lib import data, io, stream, wiring
from amaranth.lib.wiring import In, Out

from . import clock_crossing, core_clock, stream_register, uart

__all__ = ["BoardTop", "UartBridge", "board_top"]

#: `edge_stages` for a fully pipelined core (`--pipeline full`): two register hops each way
EDGE_STAGES_FULL = 2


def _stream_port(core, name: str, flow) -> bool:
    member = core.signature.members[name] if name in core.signature.members else None
    return (member is not None and member.is_signature and member.flow == flow
            and isinstance(member.signature, stream.Signature))


class UartBridge(wiring.Component):
    """A network core behind a UART: input beats arrive as bytes on `rx`, class indices leave on `tx`.

    The core is a `wiring.Component` with an input stream `i` (a payload of `W_in` bits, filled
    as raw bits) and an output stream `o` whose payload is a `data.StructLayout` with a field `cls`
    of at most 8 bits.

    Protocol: the host sends each beat as `beat_bytes = ceil(W_in / 8)` bytes, least significant
    byte first (bits above `W_in` in the last byte are ignored); the bridge sends one byte, `cls`
    zero-extended, for every result on `core.o`. Beats and results are independent, so a core may
    take any number of beats per result.

    Buffering: bytes are gathered in a shift register while the previous beat waits for the core
    in a second register. Only the last byte of a beat waits (in the receiver) for that register
    to free; if the next byte then arrives, it is dropped and `overrun` is set, after which host
    and bridge disagree on byte alignment until reset. No byte is lost as long as the core takes
    each beat within `beat_bytes * 10 * divisor` cycles of it being offered, and, when results
    are as frequent as input bytes (one-byte beats, one beat per result), as long as the host
    sends no faster than the bridge transmits (its clock may not run faster than the board's).

    Ports:

    - `rx` (in), `tx` (out): the UART lines, idle high.
    - `cls` (out): the class index of the last result sent, e.g. for LEDs; 0 after reset.
    - `busy` (out): a beat is being gathered or waits for the core, or a result byte is being sent.
    - `framing_error`, `overrun` (out): sticky until reset; a byte was dropped because its stop bit
      was 0, or because it arrived while the previous byte waited (see above).

    `edge_stages`: stream registers (`stream_register.Stage`) between the bridge and each port of
    the core. The bridge sits by the UART pins and a large core spans the device, so without them
    a ready or valid crosses the chip inside one cycle (the critical path of the first fully
    pipelined digits MLP on the ECP5-85F); each stage adds a cycle and halves the bridge's
    internal rate, which the UART never comes near.

    `core_domain`: the clock domain of the core. By default the bridge's own (`sync`); another
    (`core_clock.CoreClock` makes `core`) puts a `clock_crossing.Handshake` on each side, so the
    core runs at its own clock while the UART's divisor stays that of the board clock. Edge
    stages are then not needed (and refused): the crossing's payload waits in a register on the
    bridge's side, a path the core clock does not time. `busy` then sees the bridge's side and
    the crossings, not what is inside the core's domain.
    """

    def __init__(self, core, *, divisor: int, edge_stages: int = 0, core_domain: str = "sync"):
        if not isinstance(core, wiring.Component):
            raise TypeError(f"Network core must be a wiring.Component, not {core!r}")
        if not _stream_port(core, "i", In) or not _stream_port(core, "o", Out):
            raise TypeError(f"Network core must have ports i: In(stream.Signature(...)) and "
                            f"o: Out(stream.Signature(...)), not {core.signature!r}")
        result_layout = core.o.payload.shape()
        if not isinstance(result_layout, data.StructLayout) or "cls" not in result_layout.members:
            raise ValueError(f"Network core results must be a StructLayout with a field 'cls', "
                             f"not {result_layout!r}")
        cls_width = result_layout["cls"].width
        if cls_width > 8:
            raise ValueError(f"Network core class index must fit in one UART byte (8 bits), "
                             f"not {cls_width} bits")
        in_width = len(Value.cast(core.i.payload))
        if in_width == 0:
            raise ValueError("Network core input beats must be at least 1 bit wide, not 0")
        if not isinstance(core_domain, str) or not core_domain:
            raise TypeError(f"Core clock domain must be a non-empty string, not {core_domain!r}")
        if core_domain != "sync" and edge_stages:
            raise ValueError(f"A core in a clock domain of its own ({core_domain!r}) is reached "
                             f"through a clock crossing, not {edge_stages} edge stage(s)")
        self.core = core
        self.edge_stages = edge_stages
        self.core_domain = core_domain
        self.divisor = uart.check_divisor(divisor)
        self.in_width = in_width
        self.cls_width = cls_width
        super().__init__({
            "rx": In(1, init=1),
            "tx": Out(1, init=1),
            "cls": Out(cls_width),
            "busy": Out(1),
            "framing_error": Out(1),
            "overrun": Out(1),
        })

    def _core_ports(self, m: Module):
        """Put the core (and its edge stages, and the clock crossing) into `m`; return the
        streams the bridge drives and reads, and a signal (in the bridge's domain) that is high
        while a beat or a result is somewhere between them."""
        result_layout = self.core.o.payload.shape()
        # the core's ends: its own ports, or the far ends of register chains
        core_side = Module()
        core_side.submodules.core = core = self.core
        inlet, outlet = core.i, core.o
        in_flight = []          # each stage's valid: an item inside the edge stages
        if self.edge_stages:
            inlet, to_core = stream_register.chain(core_side, core.i.payload.shape(), self.edge_stages, name="to_core")
            from_core, outlet = stream_register.chain(core_side, result_layout, self.edge_stages, name="from_core")
            wiring.connect(core_side, to_core, core.i)
            wiring.connect(core_side, core.o, from_core)
            in_flight = [core_side.submodules[f"{side}{index}"].o.valid
                         for side in ("to_core", "from_core") for index in range(self.edge_stages)]
        if self.core_domain == "sync":
            m.submodules.core_side = core_side
            return inlet, outlet, Cat(in_flight).any()

        # a clock crossing each way; the core's side renamed into its own domain
        m.submodules.core_side = DomainRenamer(self.core_domain)(core_side)
        m.submodules.to_core_crossing = to_core = clock_crossing.Handshake(
            self.core.i.payload.shape(), i_domain="sync", o_domain=self.core_domain)
        m.submodules.from_core_crossing = from_core = clock_crossing.Handshake(
            result_layout, i_domain=self.core_domain, o_domain="sync")
        wiring.connect(m, to_core.o, inlet)
        wiring.connect(m, outlet, from_core.i)
        return to_core.i, from_core.o, ~to_core.i.ready | from_core.o.valid

    @property
    def beat_bytes(self) -> int:
        """Bytes the host sends per input beat: `ceil(W_in / 8)`."""
        return (self.in_width + 7) // 8

    def elaborate(self, platform):
        m = Module()
        m.submodules.receiver = receiver = uart.Receiver(divisor=self.divisor)
        m.submodules.transmitter = transmitter = uart.Transmitter(divisor=self.divisor)
        m.d.comb += [receiver.rx.eq(self.rx), self.tx.eq(transmitter.tx)]
        inlet, outlet, pending = self._core_ports(m)

        # Input: bytes enter `gather` from the top, so after `beat_bytes` of them the first is the
        # least significant; the complete beat moves to the core's input register if that is free.
        gather = Signal(8 * self.beat_bytes)
        count = Signal(range(self.beat_bytes))  # bytes gathered for the current beat
        beat = Signal(self.in_width)
        beat_valid = Signal()
        m.d.comb += [Value.cast(inlet.payload).eq(beat), inlet.valid.eq(beat_valid)]

        beat_taken = beat_valid & inlet.ready
        beat_free = ~beat_valid | inlet.ready
        last_byte = count == self.beat_bytes - 1
        byte_taken = receiver.o.valid & receiver.o.ready
        gathered = Cat(gather[8:], receiver.o.payload)
        m.d.comb += receiver.o.ready.eq(~last_byte | beat_free)
        with m.If(beat_taken):
            m.d.sync += beat_valid.eq(0)
        with m.If(byte_taken):
            m.d.sync += gather.eq(gathered)
            with m.If(last_byte):
                m.d.sync += [beat.eq(gathered), beat_valid.eq(1), count.eq(0)]
            with m.Else():
                m.d.sync += count.eq(count + 1)

        # Output: one byte per result; the transmitter holds the core while a byte is on the line.
        result_cls = outlet.payload["cls"]
        m.d.comb += [transmitter.i.payload.eq(result_cls),
                     transmitter.i.valid.eq(outlet.valid),
                     outlet.ready.eq(transmitter.i.ready)]
        with m.If(outlet.valid & outlet.ready):
            m.d.sync += self.cls.eq(result_cls)

        # Status
        m.d.comb += self.busy.eq((count != 0) | beat_valid | transmitter.busy | pending)
        with m.If(receiver.error):
            m.d.sync += self.framing_error.eq(1)
        with m.If(receiver.overrun):
            m.d.sync += self.overrun.eq(1)
        return m


class BoardTop(Elaboratable):
    """`UartBridge` on a board: UART 0 to the bridge, the last class on up to 8 LEDs ("led" n,
    bit n of `cls`; LEDs the board lacks are skipped). The `sync` domain is the board's default
    clock, which Amaranth creates on its own. With `core_clock` (a `core_clock.CoreClock`), the
    core runs in that clock's domain."""

    def __init__(self, core, *, divisor: int, edge_stages: int = 0, core_clock=None):
        self.core_clock = core_clock
        domain = "sync" if core_clock is None else core_clock.domain.name
        self.bridge = UartBridge(core, divisor=divisor, edge_stages=edge_stages, core_domain=domain)

    def elaborate(self, platform):
        m = Module()
        m.submodules.bridge = bridge = self.bridge
        if self.core_clock is not None:
            m.submodules.core_clock = self.core_clock

        # UART: the resource's `rx`/`tx` pins through plain buffers (io.Buffer applies any
        # inversion the board declares).
        pins = platform.request("uart", 0, dir="-")
        m.submodules.rx_buffer = rx_buffer = io.Buffer("i", pins.rx)
        m.submodules.tx_buffer = tx_buffer = io.Buffer("o", pins.tx)
        m.d.comb += [bridge.rx.eq(rx_buffer.i), tx_buffer.o.eq(bridge.tx)]

        # LEDs
        for n in range(min(8, bridge.cls_width)):
            try:
                led = platform.request("led", n, dir="-")
            except ResourceError:
                continue
            m.submodules[f"led{n}_buffer"] = led_buffer = io.Buffer("o", led)
            m.d.comb += led_buffer.o.eq(bridge.cls[n])
        return m


def board_top(core, platform, *, baud: int = 115200, edge_stages: int = 0,
              core_mhz: float | None = None, family: str | None = None, pll_on_pad: bool = False) -> BoardTop:
    """`core` behind UART 0 of `platform` (an amaranth-boards platform) at `baud` bits per second.

    The bit time is `divisor = round(platform.default_clk_frequency / baud)` cycles; a rate that
    needs a divisor below 4 or comes out more than 2 % off `baud` is refused (a UART receiver
    tolerates a few percent of mismatch between the two ends in total).

    `core_mhz`: run the core on a clock of its own, made by the PLL of the device (`family`) from
    the board clock at the reachable frequency nearest `core_mhz` (`core_clock.pll_setting`);
    `pll_on_pad` when the board clock's pin is the PLL's pad (`core_clock.CoreClock`).
    """
    if not isinstance(baud, int) or isinstance(baud, bool):
        raise TypeError(f"Baud rate must be a positive integer, not {baud!r}")
    if baud <= 0:
        raise ValueError(f"Baud rate must be a positive integer, not {baud!r}")
    frequency = platform.default_clk_frequency
    divisor = round(frequency / baud)
    if divisor < 4:
        raise ValueError(f"Baud rate {baud} is too fast for a {frequency / 1e6:g} MHz clock: "
                         f"UART divisor must be an integer of at least 4, not {divisor}")
    mismatch = abs(frequency / divisor - baud) / baud
    if mismatch > 0.02:
        raise ValueError(f"Baud rate {baud} is {mismatch:.1%} off with divisor {divisor} at "
                         f"{frequency / 1e6:g} MHz; it must be within 2%")
    clock = None
    if core_mhz is not None:
        setting = core_clock.pll_setting(family, input_mhz=frequency / 1e6, target_mhz=core_mhz)
        clock = core_clock.CoreClock(setting, from_pad=pll_on_pad)
    return BoardTop(core, divisor=divisor, edge_stages=edge_stages, core_clock=clock)
