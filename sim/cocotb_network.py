"""cocotb test module: a whole generated network against the golden model (runs inside the simulator).

It reads a plan (JSON, path in HBNN_PLAN) written by `sim.runner`: the design description that
`hbnn generate` wrote (port names, payload fields), the input beats of every image, the golden
classes and scores, and the stall probabilities. Each clock cycle it

1. records the handshakes that happened at this rising edge (valid and ready before the edge),
2. checks each result against the scoreboard (class and every score, in order),
3. drives the next source beat (idling with probability `idle`) and the sink's ready (low with
   probability `backpressure`).

It ends when every expected result has arrived, writes a report (cycles, mismatches) to
HBNN_REPORT and fails if any result differed. The scoreboard is drained by construction: the test
cannot end while a result is outstanding, and a timeout fails it.
"""

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge


def _fields(value: int, fields: dict) -> tuple[int, list[int]]:
    cls = value & ((1 << fields["cls"]["bits"]) - 1)
    scores, bits = [], fields["scores"]["bits"]
    for c in range(fields["scores"]["count"]):
        raw = (value >> (fields["scores"]["offset"] + c * bits)) & ((1 << bits) - 1)
        scores.append(raw - (1 << bits) if raw >> (bits - 1) else raw)
    return cls, scores


@cocotb.test()
async def network_matches_golden(dut):
    plan = json.loads(Path(os.environ["HBNN_PLAN"]).read_text())
    design = plan["design"]
    fields = design["output"]["fields"]
    beats = [int(b, 16) for b in plan["beats"]]
    expected = plan["expected"]            # [{"cls": c, "scores": [...]}, ...] per image
    rng = random.Random(plan["seed"])
    idle, backpressure = plan["idle"], plan["backpressure"]

    i_payload, i_valid, i_ready = (getattr(dut, design["input"][k]) for k in ("payload", "valid", "ready"))
    o_payload, o_valid, o_ready = (getattr(dut, design["output"][k]) for k in ("payload", "valid", "ready"))

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    i_valid.value = 0
    o_ready.value = 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0

    sent, results, mismatches, cycles = 0, 0, [], 0
    limit = plan["max_cycles"]
    while results < len(expected):
        await RisingEdge(dut.clk)
        cycles += 1
        if cycles > limit:
            raise AssertionError(f"timeout: {results} of {len(expected)} results after {limit} cycles")
        # 1. handshakes at this edge (values from before it)
        if int(i_valid.value) and int(i_ready.value):
            sent += 1
        if int(o_valid.value) and int(o_ready.value):
            cls, scores = _fields(o_payload.value.to_unsigned(), fields)
            want = expected[results]
            if cls != want["cls"]:
                mismatches.append({"image": results, "what": "class", "expected": want["cls"], "actual": cls})
            for c, (w, a) in enumerate(zip(want["scores"], scores)):
                if w != a:
                    mismatches.append({"image": results, "what": f"score {c}", "expected": w, "actual": a})
            results += 1
        # 2. drive the next cycle
        if sent < len(beats) and (not int(i_valid.value) or int(i_ready.value)):
            if rng.random() < idle:
                i_valid.value = 0
            else:
                i_payload.value = beats[sent]
                i_valid.value = 1
        elif sent >= len(beats):
            i_valid.value = 0
        o_ready.value = int(rng.random() >= backpressure)

    Path(os.environ["HBNN_REPORT"]).write_text(json.dumps({
        "cycles": cycles, "images": len(expected), "mismatches": mismatches}))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[0]}"
