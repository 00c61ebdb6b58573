"""cocotb test module: a generated stream design against expected beats (runs inside the simulator).

One bench for every top hbnn generates: a whole network (`hbnn_top`, one result per image) or one
layer's chain of stages (one output beat per vector or map position). It reads a plan (JSON, path
in HBNN_PLAN) written by `sim.runner`: port names, input beats, the expected output beats from the
golden model, how to decode them for the report, and the stall probabilities. Each clock cycle it

1. records the handshakes that happened at this rising edge (valid and ready before the edge),
2. checks each output beat against the scoreboard, in order, decoding a mismatch into fields,
3. drives the next source beat (idle with probability `idle`) and the sink's ready (low with
   probability `backpressure`, and held low for the whole of `plan["stall"]` = [first cycle,
   cycles] when given: a long stretch of backpressure mid-stream).

Every tenth output beat it writes the count to HBNN_PROGRESS (if set), for the caller's progress
bar. It ends when every expected beat has arrived, writes a report (cycles, mismatches) to HBNN_REPORT
and fails if any beat differed. The scoreboard is drained by construction: the test cannot end
while a beat is outstanding, and a cycle limit fails it.

Decoders (`plan["decode"]`): "result" = the class and signed scores at the design JSON's field
offsets (whole networks); "levels" = `count` unsigned fields (hidden layers, pooling, windows);
"scores" = `count` signed fields (the last layer). A mismatch names the layer, image, position within the image, field, expected, actual.
"""

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge


def _field(value: int, offset: int, bits: int, signed: bool) -> int:
    raw = (value >> offset) & ((1 << bits) - 1)
    return raw - (1 << bits) if signed and raw >> (bits - 1) else raw


def decode(value: int, spec: dict) -> dict:
    """Named fields of one output beat."""
    if spec["kind"] == "result":     # the design JSON's output fields (hw.network.result_layout)
        cls, scores = spec["fields"]["cls"], spec["fields"]["scores"]
        fields = {"class": _field(value, cls["offset"], cls["bits"], False)}
        for c in range(scores["count"]):
            fields[f"score {c}"] = _field(value, scores["offset"] + c * scores["bits"], scores["bits"],
                                          scores["signed"])
        return fields
    signed = spec["kind"] == "scores"
    label = "score" if signed else "channel"
    return {f"{label} {c}": _field(value, c * spec["bits"], spec["bits"], signed) for c in range(spec["count"])}


@cocotb.test()
async def stream_matches_golden(dut):
    plan = json.loads(Path(os.environ["HBNN_PLAN"]).read_text())
    ports = plan["ports"]
    beats = [int(b, 16) for b in plan["beats"]]
    expected = [int(b, 16) for b in plan["expected"]]
    per_image = plan["outputs_per_image"]
    rng = random.Random(plan["seed"])
    idle, backpressure = plan["idle"], plan["backpressure"]
    stall_from, stall_cycles = plan.get("stall") or (0, 0)
    i_payload, i_valid, i_ready = (getattr(dut, ports[k]) for k in ("i_payload", "i_valid", "i_ready"))
    o_payload, o_valid, o_ready = (getattr(dut, ports[k]) for k in ("o_payload", "o_valid", "o_ready"))

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    i_valid.value = 0
    o_ready.value = 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0

    progress = Path(os.environ["HBNN_PROGRESS"]) if os.environ.get("HBNN_PROGRESS") else None
    sent, received, mismatches, cycles = 0, 0, [], 0
    while received < len(expected):
        await RisingEdge(dut.clk)
        cycles += 1
        if cycles > plan["max_cycles"]:
            raise AssertionError(f"timeout: {received} of {len(expected)} beats after {cycles} cycles")
        # 1. handshakes at this edge (values from before it)
        if int(i_valid.value) and int(i_ready.value):
            sent += 1
        if int(o_valid.value) and int(o_ready.value):
            actual = o_payload.value.to_unsigned()
            if actual != expected[received]:
                want, got = decode(expected[received], plan["decode"]), decode(actual, plan["decode"])
                for name in want:
                    if want[name] != got[name]:
                        mismatches.append({"layer": plan["layer"], "image": received // per_image,
                                           "position": received % per_image, "what": name,
                                           "expected": want[name], "actual": got[name]})
            received += 1
            if progress and received % 10 == 0:
                progress.write_text(str(received))
        # 2. drive the next cycle
        if sent < len(beats) and (not int(i_valid.value) or int(i_ready.value)):
            if rng.random() < idle:
                i_valid.value = 0
            else:
                i_payload.value = beats[sent]
                i_valid.value = 1
        elif sent >= len(beats):
            i_valid.value = 0
        stalled = stall_from <= cycles < stall_from + stall_cycles
        o_ready.value = int(rng.random() >= backpressure and not stalled)

    Path(os.environ["HBNN_REPORT"]).write_text(json.dumps({
        "cycles": cycles, "beats": len(expected), "mismatches": mismatches}))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[0]}"
