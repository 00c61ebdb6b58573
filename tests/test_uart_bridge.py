# amaranth: UnusedElaboratable=no
"""`hbnn.hw.uart` and `hbnn.hw.bridge` in the Amaranth simulator, against a reference UART encoder
and decoder written here (8N1, LSB first) and a Python model of a small fake core; and the bridge
rendered for the iCEBreaker."""

import random
import re

import pytest
from amaranth.hdl import ClockDomain, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hbnn.hw import bridge, uart

# Reference UART, one bit at a time ----------------------------------------------------------------

async def send_byte(ctx, line, value: int, divisor: int, *, stop: int = 1, bit_cycles=None):
    """Drive one 8N1 frame onto `line`; `bit_cycles(rng)` may vary each bit's length."""
    for bit in [0, *((value >> n) & 1 for n in range(8)), stop]:
        ctx.set(line, bit)
        await ctx.tick().repeat(divisor if bit_cycles is None else bit_cycles())


async def receive_byte(ctx, line, divisor: int, *, timeout: int) -> tuple[int, int] | None:
    """Wait up to `timeout` cycles for a start bit on `line`, then sample each bit in its middle;
    return (the byte, the cycle count at which its start bit was seen), or None on timeout."""
    for waited in range(timeout):
        if not ctx.get(line):
            break
        await ctx.tick()
    else:
        return None
    await ctx.tick().repeat(divisor // 2)
    assert ctx.get(line) == 0, "start bit did not last half a bit"
    value = 0
    for n in range(8):
        await ctx.tick().repeat(divisor)
        value |= ctx.get(line) << n
    await ctx.tick().repeat(divisor)
    assert ctx.get(line) == 1, "stop bit is 0"
    return value, waited


def simulate(dut, *testbenches, background=(), core_period=None):
    """Run `dut` with a 1 us `sync` clock and, given `core_period` (s), a `core` domain of that
    clock period, unrelated in phase (the core side of a bridge with `core_domain="core"`)."""
    if core_period is not None:
        top = Module()
        top.submodules.dut = dut
        top.domains.core = ClockDomain("core")
        dut = top
    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    if core_period is not None:
        simulator.add_clock(core_period, domain="core", phase=core_period / 3)
    for testbench in testbenches:
        simulator.add_testbench(testbench)
    for testbench in background:
        simulator.add_testbench(testbench, background=True)
    simulator.run()


# uart.Transmitter and uart.Receiver ---------------------------------------------------------------

@pytest.mark.parametrize("divisor", [4, 5, 16])
def test_loopback_random_bytes_with_gaps_and_backpressure(divisor):
    rng = random.Random(divisor)
    sent = [rng.randrange(256) for _ in range(40)]
    received = []
    m = Module()
    m.submodules.transmitter = transmitter = uart.Transmitter(divisor=divisor)
    m.submodules.receiver = receiver = uart.Receiver(divisor=divisor)
    m.d.comb += receiver.rx.eq(transmitter.tx)

    async def source(ctx):
        for value in sent:
            if rng.random() < 0.5:
                await ctx.tick().repeat(rng.randrange(1, 30 * divisor))
            ctx.set(transmitter.i.payload, value)
            ctx.set(transmitter.i.valid, 1)
            await ctx.tick().until(transmitter.i.ready)
            ctx.set(transmitter.i.valid, 0)

    async def sink(ctx):
        for _ in range(len(sent) * 50 * divisor):
            ready = rng.random() < 0.5
            ctx.set(receiver.o.ready, ready)
            _, _, valid, payload, error, overrun = await ctx.tick().sample(
                receiver.o.valid, receiver.o.payload, receiver.error, receiver.overrun)
            assert not error and not overrun
            if valid and ready:
                received.append(payload)
        ctx.set(receiver.o.ready, 0)

    simulate(m, source, sink)
    assert received == sent


@pytest.mark.parametrize("divisor", [4, 5, 16])
def test_transmitter_frames_back_to_back_lsb_first(divisor):
    rng = random.Random(divisor)
    sent = [rng.randrange(256) for _ in range(12)]
    dut = uart.Transmitter(divisor=divisor)
    frames = []

    async def source(ctx):
        ctx.set(dut.i.valid, 1)
        for value in sent:
            ctx.set(dut.i.payload, value)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def decoder(ctx):
        now = 0
        while (frame := await receive_byte(ctx, dut.tx, divisor, timeout=3 * divisor)) is not None:
            value, waited = frame
            frames.append((value, now + waited))
            now += waited + divisor // 2 + 9 * divisor  # receive_byte returns mid stop bit

    simulate(dut, source, decoder)
    assert [value for value, _ in frames] == sent
    # Back to back: each start bit follows the previous stop bit at once (10 * divisor per byte).
    starts = [start for _, start in frames]
    assert [b - a for a, b in zip(starts, starts[1:])] == [10 * divisor] * (len(sent) - 1)


@pytest.mark.parametrize("bit_error", [-1, +1])
def test_receiver_tolerates_a_few_percent_of_rate_error(bit_error):
    # Bits of 16 or 16 + bit_error cycles, at random: about 3 % fast or slow.
    divisor, rng = 16, random.Random(bit_error)
    sent = [rng.randrange(256) for _ in range(16)]
    dut = uart.Receiver(divisor=divisor)
    received = []

    async def host(ctx):
        for value in sent:
            await send_byte(ctx, dut.rx, value, divisor,
                            bit_cycles=lambda: divisor + bit_error * rng.randrange(2))
        await ctx.tick().repeat(2 * divisor)

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        while True:
            _, _, valid, payload, error = await ctx.tick().sample(dut.o.valid, dut.o.payload, dut.error)
            assert not error
            if valid:
                received.append(payload)

    simulate(dut, host, background=[sink])
    assert received == sent


@pytest.mark.parametrize("divisor", [4, 7])
def test_receiver_drops_a_byte_with_a_framing_error(divisor):
    dut = uart.Receiver(divisor=divisor)
    received, errors = [], []

    async def host(ctx):
        await ctx.tick().repeat(3)
        await send_byte(ctx, dut.rx, 0xA5, divisor)
        await send_byte(ctx, dut.rx, 0x3C, divisor, stop=0)   # framing error
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(2 * divisor)
        await send_byte(ctx, dut.rx, 0x81, divisor)
        ctx.set(dut.rx, 0)                                     # a break: one error, no bytes
        await ctx.tick().repeat(40 * divisor)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(2 * divisor)
        await send_byte(ctx, dut.rx, 0x00, divisor)
        await ctx.tick().repeat(2 * divisor)

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        while True:
            _, _, valid, payload, error = await ctx.tick().sample(dut.o.valid, dut.o.payload, dut.error)
            if valid:
                received.append(payload)
            if error:
                errors.append(len(received))

    simulate(dut, host, background=[sink])
    assert received == [0xA5, 0x81, 0x00]
    assert errors == [1, 2]  # after the first byte, and at the break after the second


def test_receiver_keeps_the_untaken_byte_and_drops_the_next_on_overrun():
    divisor = 5
    dut = uart.Receiver(divisor=divisor)

    async def host(ctx):
        ctx.set(dut.o.ready, 0)
        await send_byte(ctx, dut.rx, 0x12, divisor)
        await ctx.tick().repeat(divisor)
        assert ctx.get(dut.o.valid) and ctx.get(dut.o.payload) == 0x12
        overruns = 0
        for _ in range(12 * divisor):      # the second frame, sent from a parallel process
            overruns += (await ctx.tick().sample(dut.overrun))[2]
        assert overruns == 1
        assert ctx.get(dut.o.valid) and ctx.get(dut.o.payload) == 0x12
        ctx.set(dut.o.ready, 1)
        await ctx.tick()
        ctx.set(dut.o.ready, 0)
        await ctx.tick()
        assert not ctx.get(dut.o.valid)

    async def second(ctx):
        await ctx.tick().repeat(11 * divisor)
        await send_byte(ctx, dut.rx, 0x34, divisor)

    simulate(dut, host, second)


# uart bridge around a fake core -------------------------------------------------------------------

class FakeCore(wiring.Component):
    """Takes `beats` input beats per result and answers
    `cls = sum((k + 1) * beat_k for k in range(beats)) % num_classes` (order- and bit-sensitive),
    with a `tag` field of ones above `cls` in the result. The testbench drives `stall` (input not
    ready) and `hold` (a pending result not yet valid) for random backpressure and latency."""

    def __init__(self, *, in_width: int, beats: int, num_classes: int):
        self.beats, self.num_classes = beats, num_classes
        layout = data.StructLayout({"cls": range(num_classes), "tag": 3})
        super().__init__({"i": In(stream.Signature(in_width)), "o": Out(stream.Signature(layout))})
        self.stall = Signal()
        self.hold = Signal()

    def elaborate(self, platform):
        m = Module()
        acc = Signal(len(self.i.payload) + 3)
        k = Signal(range(self.beats))
        pending = Signal()
        result = Signal(range(self.num_classes))
        last = k == self.beats - 1
        m.d.comb += self.i.ready.eq(~self.stall & ~(pending & last))
        with m.If(self.i.valid & self.i.ready):
            total = acc + self.i.payload * (k + 1)
            with m.If(last):
                m.d.sync += [result.eq(total % self.num_classes), pending.eq(1), acc.eq(0), k.eq(0)]
            with m.Else():
                m.d.sync += [acc.eq(total), k.eq(k + 1)]
        with m.If(pending & ~self.o.valid & ~self.hold):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.cls.eq(result), self.o.payload.tag.eq(-1)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [self.o.valid.eq(0), pending.eq(0)]
        return m


def reference_classes(beats: list[int], *, per_result: int, num_classes: int) -> list[int]:
    return [sum((k + 1) * beats[start + k] for k in range(per_result)) % num_classes
            for start in range(0, len(beats) - per_result + 1, per_result)]


def beat_bytes(beat: int, *, in_width: int, rng: random.Random) -> list[int]:
    """The host's bytes for one beat, LSB first, with random junk above `in_width`."""
    count = (in_width + 7) // 8
    junk = rng.getrandbits(8 * count - in_width) << in_width
    return list((beat | junk).to_bytes(count, "little"))


@pytest.mark.parametrize("in_width,num_classes,divisor,results,edge_stages,core_period", [
    (8, 10, 4, 10, 0, None), (12, 251, 5, 8, 0, None), (256, 100, 4, 3, 0, None),
    (8, 10, 4, 10, 2, None), (256, 100, 4, 3, 1, None),
    # the core on a clock of its own: faster (a PLL-made core clock), and slower
    (8, 10, 4, 10, 0, 0.13e-6), (12, 251, 5, 8, 0, 0.37e-6), (256, 100, 4, 3, 0, 0.21e-6),
    (8, 10, 4, 10, 0, 1.7e-6)])
@pytest.mark.parametrize("per_result", [1, 3])
def test_bridge_sends_the_reference_classes(in_width, num_classes, divisor, results, per_result, edge_stages,
                                            core_period):
    """Also with register stages between the bridge and the core (`edge_stages`, used with
    fully pipelined cores) and with the core in a clock domain of its own (`core_domain`, the
    PLL-made core clock): the same bytes, none lost, `busy` low only when all is sent."""
    rng = random.Random(in_width * 10 + per_result)
    core = FakeCore(in_width=in_width, beats=per_result, num_classes=num_classes)
    dut = bridge.UartBridge(core, divisor=divisor, edge_stages=edge_stages,
                            core_domain="sync" if core_period is None else "core")
    assert (dut.in_width, dut.beat_bytes, dut.cls_width) == (
        in_width, (in_width + 7) // 8, (num_classes - 1).bit_length())
    beats = [rng.getrandbits(in_width) for _ in range(results * per_result)]
    expected = reference_classes(beats, per_result=per_result, num_classes=num_classes)
    byte_cycles = 10 * divisor
    received = []

    async def host(ctx):
        for beat in beats:
            for value in beat_bytes(beat, in_width=in_width, rng=rng):
                if rng.random() < 0.3:
                    await ctx.tick().repeat(rng.randrange(1, 3 * divisor))
                await send_byte(ctx, dut.rx, value, divisor)

    async def decoder(ctx):
        timeout = (dut.beat_bytes * per_result + 4) * 2 * byte_cycles
        while len(received) < len(expected):
            frame = await receive_byte(ctx, dut.tx, divisor, timeout=timeout)
            assert frame is not None, f"only {len(received)} of {len(expected)} class bytes"
            received.append(frame[0])
        # No byte more than the results.
        assert await receive_byte(ctx, dut.tx, divisor, timeout=4 * byte_cycles) is None
        assert ctx.get(dut.cls) == expected[-1]
        assert not ctx.get(dut.busy)
        assert not ctx.get(dut.framing_error) and not ctx.get(dut.overrun)

    async def core_input_stalls(ctx):
        # Mostly short stalls; now and then one of up to half a beat's transfer time, which
        # the bridge must absorb without losing a byte.
        while True:
            long = rng.random() < 0.1
            length = rng.randrange(dut.beat_bytes * byte_cycles // 2) if long else rng.randrange(4)
            ctx.set(core.stall, 1)
            for _ in range(length + 1):  # (not tick().repeat: the run may end in the middle)
                await ctx.tick()
            ctx.set(core.stall, 0)
            for _ in range(rng.randrange(1, 8)):
                await ctx.tick()

    async def core_output_latency(ctx):
        while True:
            ctx.set(core.hold, rng.random() < 0.5)
            await ctx.tick()

    simulate(dut, host, decoder, background=[core_input_stalls, core_output_latency], core_period=core_period)
    assert received == expected


def test_bridge_reports_overrun_when_the_core_never_takes_a_beat():
    # Two-byte beats: beat 1 waits for the core, beat 2's first byte is gathered and its last
    # byte waits in the receiver; only a fifth byte is lost.
    divisor = 4
    core = FakeCore(in_width=16, beats=1, num_classes=10)
    dut = bridge.UartBridge(core, divisor=divisor)

    async def host(ctx):
        ctx.set(core.stall, 1)
        for n in range(4):
            await send_byte(ctx, dut.rx, n, divisor)
        await ctx.tick().repeat(3 * divisor)
        assert not ctx.get(dut.overrun) and ctx.get(dut.busy)
        await send_byte(ctx, dut.rx, 4, divisor)
        await ctx.tick().repeat(3 * divisor)
        assert ctx.get(dut.overrun)

    simulate(dut, host)


# Constructor errors -------------------------------------------------------------------------------

def raises(exception, message):
    return pytest.raises(exception, match=f"^{re.escape(message)}$")


@pytest.mark.parametrize("component", [uart.Receiver, uart.Transmitter])
def test_uart_divisor_errors(component):
    with raises(ValueError, "UART divisor must be an integer of at least 4, not 2"):
        component(divisor=2)
    with raises(TypeError, "UART divisor must be an integer of at least 4, not 4.0"):
        component(divisor=4.0)
    with pytest.raises(TypeError):
        component(4)  # keyword-only


def test_bridge_constructor_errors():
    core = FakeCore(in_width=8, beats=1, num_classes=10)
    with raises(ValueError, "UART divisor must be an integer of at least 4, not 3"):
        bridge.UartBridge(core, divisor=3)
    with raises(TypeError, "Network core must be a wiring.Component, not 3"):
        bridge.UartBridge(3, divisor=4)
    with raises(ValueError, "Network core class index must fit in one UART byte (8 bits), not 9 bits"):
        bridge.UartBridge(FakeCore(in_width=8, beats=1, num_classes=257), divisor=4)

    class Plain(wiring.Component):
        i: In(stream.Signature(8))
        o: Out(stream.Signature(8))

        def elaborate(self, platform):
            return Module()
    with raises(ValueError, "Network core results must be a StructLayout with a field 'cls', "
                            "not unsigned(8)"):
        bridge.UartBridge(Plain(), divisor=4)

    class NoClass(wiring.Component):
        i: In(stream.Signature(8))
        o: Out(stream.Signature(data.StructLayout({"x": 4})))

        def elaborate(self, platform):
            return Module()
    with raises(ValueError, "Network core results must be a StructLayout with a field 'cls', "
                            "not StructLayout({'x': 4})"):
        bridge.UartBridge(NoClass(), divisor=4)

    class NoStream(wiring.Component):
        i: In(8)

        def elaborate(self, platform):
            return Module()
    with raises(TypeError, "Network core must have ports i: In(stream.Signature(...)) and "
                           "o: Out(stream.Signature(...)), not Signature({'i': In(8)})"):
        bridge.UartBridge(NoStream(), divisor=4)


# On a board ---------------------------------------------------------------------------------------

def test_board_top_renders_for_the_icebreaker():
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    platform = ICEBreakerPlatform()
    core = FakeCore(in_width=12, beats=3, num_classes=10)
    top = bridge.board_top(core, platform, baud=115200)
    assert top.bridge.divisor == round(12e6 / 115200)
    plan = platform.prepare(top, name="top")
    pcf = plan.files["top.pcf"]
    if isinstance(pcf, bytes):
        pcf = pcf.decode()
    pins = dict(re.findall(r"^set_io\s+(?:-\S+\s+)*(\S+)\s+(\S+)", pcf, re.MULTILINE))
    assert pins["uart_0__rx__io"] == "6" and pins["uart_0__tx__io"] == "9"
    # cls has 4 bits; the iCEBreaker has "led" 0 and 1, and the missing 2 and 3 are skipped.
    assert pins["led_0__io"] == "11" and pins["led_1__io"] == "37"
    assert not any(name.startswith(("led_2", "led_3")) for name in pins)


def test_board_top_baud_errors():
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    core = FakeCore(in_width=8, beats=1, num_classes=10)
    with raises(ValueError, "Baud rate 6000000 is too fast for a 12 MHz clock: "
                            "UART divisor must be an integer of at least 4, not 2"):
        bridge.board_top(core, ICEBreakerPlatform(), baud=6_000_000)
    with raises(ValueError, "Baud rate 2700000 is 11.1% off with divisor 4 at 12 MHz; "
                            "it must be within 2%"):
        bridge.board_top(core, ICEBreakerPlatform(), baud=2_700_000)
    with raises(ValueError, "Baud rate must be a positive integer, not 0"):
        bridge.board_top(core, ICEBreakerPlatform(), baud=0)
