"""Driving an Amaranth stream component in the Amaranth simulator with random idle and backpressure.

(The cocotb benches drive the generated Verilog the same way; this is the fast, pure-Python tier.)

`run_stream(dut, beats)` feeds integer payloads into `dut.i` (the source idles before a beat with
probability `idle`) and collects integer payloads from `dut.o` (the sink withholds ready with
probability `backpressure`) until `results_expected` results (default: one per input beat) arrived; it also checks that the
sink's payload never changes while it is valid and not taken (the stream rule).
"""

import random

from amaranth.hdl import Value
from amaranth.sim import Simulator


def run_stream(dut, beats: list[int], *, results_expected: int | None = None, idle: float = 0.3,
               backpressure: float = 0.4, seed: int = 0, max_cycles: int = 200_000) -> list[int]:
    rng = random.Random(seed)
    results: list[int] = []
    wanted = len(beats) if results_expected is None else results_expected
    source_payload, sink_payload = Value.cast(dut.i.payload), Value.cast(dut.o.payload)

    async def source(ctx):
        for beat in beats:
            while rng.random() < idle:
                await ctx.tick()
            ctx.set(source_payload, beat)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        held = None
        for _ in range(max_cycles):
            if len(results) == wanted:
                return
            ready = rng.random() >= backpressure
            ctx.set(dut.o.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, sink_payload)
            if held is not None:
                assert valid, "valid dropped before the payload was taken"
                assert payload == held, "payload changed while valid and not taken"
            if valid and ready:
                results.append(payload)
                held = None
            elif valid:
                held = payload
        raise AssertionError(f"only {len(results)} of {wanted} results after {max_cycles} cycles")

    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    simulator.add_testbench(source)
    simulator.add_testbench(sink)
    simulator.run()
    return results
